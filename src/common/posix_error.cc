#include "common/posix_error.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace mvirt::zfs {

absl::Status PosixError(absl::string_view context, int err) {
  absl::StatusCode code;
  switch (err) {
    case ENOENT:
      code = absl::StatusCode::kNotFound;
      break;
    case EACCES:
    case EPERM:
      code = absl::StatusCode::kPermissionDenied;
      break;
    case EEXIST:
      code = absl::StatusCode::kAlreadyExists;
      break;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      code = absl::StatusCode::kResourceExhausted;
      break;
    case EINVAL:
      code = absl::StatusCode::kInvalidArgument;
      break;
    case EBUSY:
      code = absl::StatusCode::kFailedPrecondition;
      break;
    case ETIMEDOUT:
      code = absl::StatusCode::kDeadlineExceeded;
      break;
    default:
      code = absl::StatusCode::kUnavailable;
  }
  return absl::Status(code, absl::StrCat(context, ": ", std::strerror(err)));
}

}  // namespace mvirt::zfs
