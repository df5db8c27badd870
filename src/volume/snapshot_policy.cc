#include "volume/snapshot_policy.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/names.h"

namespace mvirt::zfs {

absl::string_view SnapshotClassName(SnapshotClass c) {
  switch (c) {
    case SnapshotClass::kHourly:
      return "hourly";
    case SnapshotClass::kDaily:
      return "daily";
    case SnapshotClass::kWeekly:
      return "weekly";
  }
  return "?";
}

std::optional<SnapshotClass> ParseSnapshotClass(absl::string_view name) {
  for (SnapshotClass c : kSnapshotClasses) {
    if (SnapshotClassName(c) == name) return c;
  }
  return std::nullopt;
}

absl::Status ValidateSnapshotPolicy(const SnapshotPolicyInfo& policy) {
  for (SnapshotClass c : kSnapshotClasses) {
    if (policy.Keep(c) > kMaxPolicyKeep) {
      return absl::InvalidArgumentError(
          absl::StrCat("snapshot policy: keep ", policy.Keep(c), " ", SnapshotClassName(c),
                       " snapshots is too many (at most ", kMaxPolicyKeep, ")"));
    }
  }
  if (!policy.group.empty()) {
    if (absl::Status s = ValidateName("snapshot policy group", policy.group); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string FormatSnapshotPolicy(const SnapshotPolicyInfo& policy) {
  std::vector<std::string> parts;
  for (SnapshotClass c : kSnapshotClasses) {
    if (policy.Keep(c) > 0)
      parts.push_back(absl::StrCat(SnapshotClassName(c), "=", policy.Keep(c)));
  }
  std::string out = absl::StrJoin(parts, ",");
  if (!policy.group.empty()) absl::StrAppend(&out, ";group=", policy.group);
  return out;
}

absl::StatusOr<SnapshotPolicyInfo> ParseSnapshotPolicy(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot policy '", Printable(text), "': ", why,
                                                   " (expected e.g. hourly=24,daily=7;group=vm)"));
  };
  SnapshotPolicyInfo policy;
  std::vector<absl::string_view> sections = absl::StrSplit(text, ';');
  if (sections.size() > 2) return bad("more than one ';'");
  if (sections.size() == 2) {
    if (!absl::ConsumePrefix(&sections[1], "group="))
      return bad("the part after ';' is not group=");
    policy.group = std::string(sections[1]);
  }
  for (absl::string_view part : absl::StrSplit(sections[0], ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(part, '=');
    std::optional<SnapshotClass> c = ParseSnapshotClass(kv.first);
    uint32_t keep = 0;
    if (!c.has_value()) return bad(absl::StrCat("unknown class '", Printable(kv.first), "'"));
    if (!absl::SimpleAtoi(kv.second, &keep) || keep == 0) {
      return bad(absl::StrCat("keep of ", kv.first, " is not a positive number"));
    }
    if (policy.keep[static_cast<size_t>(*c)] != 0) return bad(absl::StrCat(kv.first, " twice"));
    policy.keep[static_cast<size_t>(*c)] = keep;
  }
  if (absl::Status s = ValidateSnapshotPolicy(policy); !s.ok()) return bad(s.message());
  return policy;
}

absl::Time PeriodStart(SnapshotClass c, absl::Time t) {
  const absl::CivilSecond civil = absl::ToCivilSecond(t, absl::UTCTimeZone());
  switch (c) {
    case SnapshotClass::kHourly:
      return absl::FromCivil(absl::CivilHour(civil), absl::UTCTimeZone());
    case SnapshotClass::kDaily:
      return absl::FromCivil(absl::CivilDay(civil), absl::UTCTimeZone());
    case SnapshotClass::kWeekly: {
      absl::CivilDay day(civil);
      while (absl::GetWeekday(day) != absl::Weekday::monday) --day;
      return absl::FromCivil(day, absl::UTCTimeZone());
    }
  }
  return t;
}

std::string PolicySnapshotName(SnapshotClass c, absl::Time period) {
  return absl::StrCat("auto-", SnapshotClassName(c), "-",
                      absl::FormatTime("%Y%m%d-%H%M", period, absl::UTCTimeZone()));
}

}  // namespace mvirt::zfs
