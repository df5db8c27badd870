// Validation of the names and ids callers send. Pure logic, unit-tested.
//
// The policy is stricter than ZFS's own: a name is 1..kMaxNameLength bytes of
// [A-Za-z0-9_.:-], starts with a letter or digit, and holds no "..". So a
// name never contains '/', '@', '%', spaces or a leading '.'/'-', and the
// datasets the daemon reserves for itself (leading '.') can never be taken by
// a volume name.
#ifndef MVIRT_ZFS_COMMON_NAMES_H_
#define MVIRT_ZFS_COMMON_NAMES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

// Short enough that "<pool>/<volume>@<snapshot>" stays under ZFS's 255 bytes
// for pool names up to 50 bytes.
inline constexpr size_t kMaxNameLength = 100;
inline constexpr size_t kMaxPoolNameLength = 50;

// OK, or INVALID_ARGUMENT naming `kind` ("volume name", "snapshot name", ...),
// the offending value and what is allowed.
absl::Status ValidateName(absl::string_view kind, absl::string_view name);

// Ids are UUIDs in canonical text form (8-4-4-4-12 hex digits, either case).
// OK, or INVALID_ARGUMENT saying so.
absl::Status ValidateId(absl::string_view id);

// `s` fit to quote in a message to a caller: control and non-ASCII bytes as
// \xNN (no raw terminal escapes), cut after 120 bytes with "...".
std::string Printable(absl::string_view s);

// A fresh random (version 4) UUID, lowercase.
std::string NewUuid();

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_NAMES_H_
