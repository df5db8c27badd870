// VolumeManager: snapshot policies (volume/snapshot_policy.h): setting and
// reading a volume's policy, and the scheduler's run that takes what is due
// and prunes what is beyond `keep`.
#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/names.h"
#include "common/sizes.h"
#include "common/status_util.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {
namespace {

// The class and period of a policy snapshot; nullopt for any other (a
// manual snapshot, or one whose marks were changed by hand).
struct PolicyMark {
  SnapshotClass klass;
  int64_t period;  // Unix seconds
};
std::optional<PolicyMark> PolicyMarkOf(const SnapshotProps& s) {
  auto klass = s.user_props.find(kPolicyClassProperty);
  auto period = s.user_props.find(kPolicyPeriodProperty);
  if (klass == s.user_props.end() || period == s.user_props.end()) return std::nullopt;
  std::optional<SnapshotClass> c = ParseSnapshotClass(klass->second);
  int64_t seconds = 0;
  if (!c.has_value() || !absl::SimpleAtoi(period->second, &seconds)) return std::nullopt;
  return PolicyMark{*c, seconds};
}

}  // namespace

absl::StatusOr<SnapshotPolicyInfo> VolumeManager::SetSnapshotPolicy(
    const std::string& volume, const SnapshotPolicyInfo& policy) {
  if (absl::Status s = ValidateName("volume name", volume); !s.ok()) return s;
  const std::string op = absl::StrCat("set the snapshot policy of '", volume, "'");
  if (absl::Status s = ValidateSnapshotPolicy(policy); !s.ok()) return Annotate(s, op);
  absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(volume);
  if (!lock.ok()) return Annotate(lock.status(), op);
  absl::StatusOr<VolumeProps> props = GetManaged("set the snapshot policy of", volume);
  if (!props.ok()) return props.status();
  absl::Status set = policy.empty() ? zfs_.ClearUserProperty(props->name, kSnapshotPolicyProperty)
                                    : zfs_.SetProperty(props->name, kSnapshotPolicyProperty,
                                                       FormatSnapshotPolicy(policy));
  if (!set.ok()) return Annotate(set, op);
  LogInfo("snapshot policy of ", props->name, ": ",
          policy.empty() ? std::string("none") : FormatSnapshotPolicy(policy));
  return policy;
}

absl::StatusOr<SnapshotPolicyInfo> VolumeManager::GetSnapshotPolicy(const std::string& volume) {
  absl::StatusOr<VolumeProps> props = GetManaged("get the snapshot policy of", volume);
  if (!props.ok()) return props.status();
  auto text = props->user_props.find(kSnapshotPolicyProperty);
  if (text == props->user_props.end()) return SnapshotPolicyInfo();
  absl::StatusOr<SnapshotPolicyInfo> policy = ParseSnapshotPolicy(text->second);
  if (!policy.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "volume '", volume, "': its ", kSnapshotPolicyProperty, " property cannot be read (",
        policy.status().message(), "); set the policy again"));
  }
  return policy;
}

SnapshotPolicyRun VolumeManager::RunSnapshotPolicies(absl::Time now) {
  SnapshotPolicyRun run;
  // One read in the kernel finds the volumes with a policy (the digest's
  // `id` is the policy's text here); only those are read in full.
  absl::StatusOr<std::vector<VolumeDigest>> all =
      zfs_.ScanVolumes(options_.pool, kSnapshotPolicyProperty);
  if (!all.ok()) {
    LogWarning("snapshot policies: cannot list volumes: ", all.status().message());
    ++run.failed;
    return run;
  }
  struct Scheduled {
    std::string name;  // volume name
    SnapshotPolicyInfo policy;
    uint64_t usedbysnapshots = 0;
    std::vector<SnapshotProps> snapshots;  // as read before taking; stale once one is taken
    bool stale = false;
  };
  std::vector<Scheduled> scheduled;
  for (const VolumeDigest& digest : *all) {
    if (digest.id.empty()) continue;
    absl::StatusOr<VolumeProps> v = zfs_.GetVolume(digest.name);
    if (!v.ok() || !IsManaged(v->user_props)) continue;  // deleted meanwhile, or not ours
    absl::StatusOr<SnapshotPolicyInfo> policy = ParseSnapshotPolicy(digest.id);
    if (!policy.ok()) {
      LogWarning("snapshot policy of ", v->name, " skipped: ", policy.status().message());
      ++run.failed;
      continue;
    }
    scheduled.push_back({names_.VolumeNameOf(v->name), *policy, v->usedbysnapshots, {}, false});
  }

  // What is due: one snapshot per class and period, the volumes of a group
  // together (one transaction).
  std::map<std::tuple<std::string, SnapshotClass, int64_t>, std::vector<std::string>> due;
  for (Scheduled& s : scheduled) {
    absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(names_.Volume(s.name));
    if (!snaps.ok()) {
      ++run.failed;
      s.stale = true;
      continue;
    }
    s.snapshots = std::move(*snaps);
    for (SnapshotClass c : kSnapshotClasses) {
      if (s.policy.Keep(c) == 0) continue;
      const int64_t period = absl::ToUnixSeconds(PeriodStart(c, now));
      const bool taken =
          std::any_of(s.snapshots.begin(), s.snapshots.end(), [&](const SnapshotProps& p) {
            std::optional<PolicyMark> mark = PolicyMarkOf(p);
            return mark.has_value() && mark->klass == c && mark->period >= period;
          });
      if (taken) continue;
      // A volume without a group is a group of its own ('/' is in no name).
      const std::string group = s.policy.group.empty() ? "/" + s.name : s.policy.group;
      due[{group, c, period}].push_back(s.name);
    }
  }
  for (const auto& [key, volumes] : due) {
    const auto& [group, klass, period] = key;
    const std::string snapshot = PolicySnapshotName(klass, absl::FromUnixSeconds(period));
    absl::StatusOr<std::vector<SnapshotInfo>> taken =
        CreateSnapshots(volumes, snapshot,
                        {{kPolicyClassProperty, std::string(SnapshotClassName(klass))},
                         {kPolicyPeriodProperty, absl::StrCat(period)}});
    if (taken.ok()) {
      run.taken += taken->size();
      for (Scheduled& s : scheduled) {
        if (std::find(volumes.begin(), volumes.end(), s.name) != volumes.end()) s.stale = true;
      }
      continue;
    }
    if (absl::IsResourceExhausted(taken.status())) {
      // Say so: the schedule stops while the pool is short of space, and
      // the snapshots pruning keeps may be what fills it.
      uint64_t held = 0;
      for (const Scheduled& s : scheduled) {
        if (std::find(volumes.begin(), volumes.end(), s.name) != volumes.end()) {
          held += s.usedbysnapshots;
        }
      }
      LogWarning("snapshot policy: ", snapshot, " of '", absl::StrJoin(volumes, "', '"),
                 "' not taken: ", taken.status().message(), ". Their snapshots hold ",
                 FormatSize(held),
                 "; pruning keeps what the policies say (lower `keep` or "
                 "delete snapshots to free space)");
      run.refused += volumes.size();
      continue;
    }
    LogWarning("snapshot policy: ", snapshot, " of '", absl::StrJoin(volumes, "', '"),
               "' not taken: ", taken.status().message());
    run.failed += volumes.size();
  }

  // Pruning: beyond `keep` of each class, the oldest first; never a
  // snapshot that clones or holds depend on, nor one the policy did not take.
  // A volume's snapshots are read again only if one was taken meanwhile.
  for (Scheduled& s : scheduled) {
    if (s.stale) {
      absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(names_.Volume(s.name));
      if (!snaps.ok()) continue;
      s.snapshots = std::move(*snaps);
    }
    for (SnapshotClass c : kSnapshotClasses) {
      if (s.policy.Keep(c) == 0) continue;
      std::vector<std::pair<PolicyMark, const SnapshotProps*>> of_class;
      for (const SnapshotProps& p : s.snapshots) {
        std::optional<PolicyMark> mark = PolicyMarkOf(p);
        if (mark.has_value() && mark->klass == c) of_class.push_back({*mark, &p});
      }
      if (of_class.size() <= s.policy.Keep(c)) continue;
      std::sort(of_class.begin(), of_class.end(), [](const auto& a, const auto& b) {
        return std::tie(a.first.period, a.second->createtxg) <
               std::tie(b.first.period, b.second->createtxg);
      });
      const size_t excess = of_class.size() - s.policy.Keep(c);
      for (size_t i = 0; i < excess; ++i) {
        const SnapshotProps& p = *of_class[i].second;
        const std::string name = DatasetNames::SnapshotNameOf(p.name);
        if (!p.clones.empty() || p.userrefs > 0) {
          ++run.kept_protected;
          LogInfo("snapshot policy: ", p.name, " is beyond keep ", s.policy.Keep(c),
                  " but kept: ", !p.clones.empty() ? "clones depend on it" : "it is held");
          continue;
        }
        if (absl::Status d = DeleteSnapshot(s.name, name); d.ok()) {
          ++run.pruned;
        } else if (!absl::IsNotFound(d)) {
          ++run.failed;
          LogWarning("snapshot policy: pruning ", p.name, ": ", d.message());
        }
      }
    }
  }
  return run;
}

}  // namespace mvirt::zfs
