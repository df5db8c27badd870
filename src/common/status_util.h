#ifndef MVIRT_ZFS_COMMON_STATUS_UTIL_H_
#define MVIRT_ZFS_COMMON_STATUS_UTIL_H_

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

// `status` with "<prefix>: " before its message; the code is kept.
inline absl::Status Annotate(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, ": ", status.message()));
}

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_STATUS_UTIL_H_
