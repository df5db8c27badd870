#include "zfs/error_mapping.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {

int EzfsToErrno(int ezfs) {
  switch (ezfs) {
    case kEzfsNoMem:
      return ENOMEM;
    case kEzfsBadProp:
    case kEzfsPropType:
    case kEzfsPropSpace:
    case kEzfsBadType:
    case kEzfsInvalidName:
    case kEzfsVolTooBig:
    case kEzfsCrossTarget:
      return EINVAL;
    case kEzfsNameTooLong:
      return ENAMETOOLONG;
    case kEzfsPropReadonly:
    case kEzfsDsReadonly:
    case kEzfsPoolReadonly:
      return EROFS;
    case kEzfsBusy:
      return EBUSY;
    case kEzfsExists:
      return EEXIST;
    case kEzfsNoEnt:
      return ENOENT;
    case kEzfsPerm:
      return EPERM;
    case kEzfsNoSpc:
      return ENOSPC;
    case kEzfsIo:
      return EIO;
    case kEzfsPoolUnavail:
      return ENXIO;
    case kEzfsNotSup:
    case kEzfsPoolNotSup:
      return ENOTSUP;
    case kEzfsIntr:
      return EINTR;
    default:
      return -1;
  }
}

absl::StatusCode MapZfsErrno(ZfsOp op, int err) {
  using C = absl::StatusCode;
  if (op == ZfsOp::kSend && (err == EPIPE || err == EINTR)) {
    return C::kCancelled;  // the reader closed its end of the stream
  }
  if (op == ZfsOp::kReceive) {
    switch (err) {
      case ETXTBSY:  // the target changed since the stream's base snapshot
      case ENODEV:   // the target lacks the stream's base snapshot
        return C::kFailedPrecondition;
      case kZfsErrStreamTruncated:  // what arrived is kept for a resume
        return C::kAborted;
      case kZfsErrUnknownSendStreamFeature:
      case kZfsErrStreamLargeBlockMismatch:
        return C::kInvalidArgument;
      default:
        break;
    }
  }
  switch (err) {
    case 0:
      return C::kOk;
    case ENOENT:
    case ESRCH:
      return C::kNotFound;
    case EEXIST:
      switch (op) {
        case ZfsOp::kCreate:
        case ZfsOp::kClone:
        case ZfsOp::kSnapshot:
        case ZfsOp::kRename:
          return C::kAlreadyExists;
        default:
          return C::kFailedPrecondition;
      }
    case EBUSY:
    case ENOTSUP:
    case EROFS:
    case EACCES:
    case ENOTEMPTY:
      return C::kFailedPrecondition;
    case ENOSPC:
    case EDQUOT:
    case ENOMEM:
      return C::kResourceExhausted;
    case EINVAL:
    case EDOM:
    case ERANGE:
    case ENAMETOOLONG:
    case E2BIG:
    case EXDEV:
    case EOVERFLOW:
    case kZfsErrWrongParent:
    case kZfsErrBadProp:
    case kZfsErrIocArgRequired:
    case kZfsErrIocArgBadtype:
      return C::kInvalidArgument;
    case EPERM:
      return C::kPermissionDenied;
    case EAGAIN:
    case EINTR:
    case EIO:
    case ENXIO:
    case ENODEV:
      return C::kUnavailable;
    case EBADE:  // ECKSUM on Linux
      return C::kDataLoss;
    case kZfsErrIocCmdUnavail:
    case kZfsErrIocArgUnavail:
      return C::kUnimplemented;
    default:
      return C::kInternal;
  }
}

std::string DescribeZfsErrno(int err) {
  switch (err) {
    case kZfsErrIocCmdUnavail:
      return "the ZFS kernel module does not support this command "
             "(userland/module version mismatch)";
    case kZfsErrIocArgUnavail:
      return "the ZFS kernel module does not support an argument of this "
             "command (userland/module version mismatch)";
    case kZfsErrIocArgRequired:
      return "a required argument is missing";
    case kZfsErrIocArgBadtype:
      return "an argument has the wrong type";
    case kZfsErrWrongParent:
      return "the parent dataset is not a filesystem";
    case kZfsErrBadProp:
      return "invalid property value";
    case EBADE:
      return "checksum error (data corruption)";
    case kZfsErrUnknownSendStreamFeature:
      return "the send stream uses a feature this ZFS does not know";
    case kZfsErrStreamTruncated:
      return "the send stream ended early";
    case kZfsErrStreamLargeBlockMismatch:
      return "the send stream's large-block setting differs from the earlier streams'";
    case EBUSY:
      return "dataset is busy";
    case EEXIST:
      return "dataset already exists or has dependents";
    default:
      if (err >= 1024) return absl::StrCat("ZFS error ", err);
      return std::strerror(err);
  }
}

absl::Status ZfsErrnoStatus(ZfsOp op, int err, absl::string_view what, absl::string_view object) {
  return absl::Status(MapZfsErrno(op, err),
                      absl::StrCat(what, " '", object, "': ", DescribeZfsErrno(err)));
}

namespace {
constexpr char kBusyPayloadUrl[] = "type.mvirt/zfs.busy";
}  // namespace

absl::Status BusyError(absl::string_view message) {
  absl::Status status = absl::FailedPreconditionError(message);
  status.SetPayload(kBusyPayloadUrl, absl::Cord("busy"));
  return status;
}

bool IsBusy(const absl::Status& status) { return status.GetPayload(kBusyPayloadUrl).has_value(); }

}  // namespace mvirt::zfs
