#include "common/names.h"

#include <cstdint>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mvirt::zfs {
namespace {

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' ||
         c == '-';
}

}  // namespace

// Renders control and non-ASCII bytes visibly, so an error message never
// carries raw terminal escapes back to the caller.
std::string Printable(absl::string_view s) {
  constexpr size_t kShown = 120;
  std::string out;
  for (unsigned char c : s.substr(0, kShown)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += absl::StrFormat("\\x%02x", c);
    }
  }
  if (s.size() > kShown) out += "...";
  return out;
}

absl::Status ValidateName(absl::string_view kind, absl::string_view name) {
  constexpr absl::string_view kAllowed =
      "allowed: 1-100 characters of A-Z a-z 0-9 _ . : -, starting with a "
      "letter or digit, without '..'";
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", kind, " '", Printable(name), "': ", why, " (", kAllowed, ")"));
  };
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(kind, " is empty (", kAllowed, ")"));
  }
  if (name.size() > kMaxNameLength) {
    return invalid(absl::StrCat("too long (", name.size(), " characters)"));
  }
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) {
    return invalid("must start with a letter or digit");
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return invalid(
          absl::StrCat("character '", Printable(absl::string_view(&c, 1)), "' is not allowed"));
    }
  }
  if (absl::StrContains(name, "..")) return invalid("'..' is not allowed");
  return absl::OkStatus();
}

absl::Status ValidateId(absl::string_view id) {
  bool ok = id.size() == 36;
  for (size_t i = 0; ok && i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    ok = dash ? id[i] == '-' : absl::ascii_isxdigit(static_cast<unsigned char>(id[i]));
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid id '", Printable(id),
                     "': must be a UUID such as 123e4567-e89b-42d3-a456-426614174000, or empty to "
                     "have one generated"));
  }
  return absl::OkStatus();
}

std::string NewUuid() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff,
                         lo >> 48, lo & 0xffffffffffffULL);
}

}  // namespace mvirt::zfs
