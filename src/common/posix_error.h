// The one place where an errno of a system call becomes an absl::Status.
#ifndef MVIRT_ZFS_COMMON_POSIX_ERROR_H_
#define MVIRT_ZFS_COMMON_POSIX_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

// "<context>: <strerror(err)>", with the code that says what the caller can
// do: ENOENT NOT_FOUND; EACCES, EPERM PERMISSION_DENIED; EEXIST
// ALREADY_EXISTS; ENOSPC, EDQUOT, EMFILE, ENFILE, ENOMEM RESOURCE_EXHAUSTED;
// EINVAL INVALID_ARGUMENT; EBUSY FAILED_PRECONDITION; ETIMEDOUT
// DEADLINE_EXCEEDED; anything else UNAVAILABLE.
absl::Status PosixError(absl::string_view context, int err);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_POSIX_ERROR_H_
