#ifndef MVIRT_ZFS_COMMON_STATUS_UTIL_H_
#define MVIRT_ZFS_COMMON_STATUS_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

// `status` with "<prefix>: " before its message; the code is kept.
inline absl::Status Annotate(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, ": ", status.message()));
}

// The name of status code `code` as gRPC and Abseil spell it ("NOT_FOUND";
// the two number their codes alike), "UNKNOWN" for a number neither knows.
inline std::string StatusCodeName(int code) {
  if (code < 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) return "UNKNOWN";
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_STATUS_UTIL_H_
