// The one place where ZFS errors become absl::Status codes.
//
// Pure logic (no libzfs headers), unit-tested. The ZFS adapter converts every
// libzfs_core errno and every libzfs EZFS_* code into a Status through here.
#ifndef MVIRT_ZFS_ZFS_ERROR_MAPPING_H_
#define MVIRT_ZFS_ZFS_ERROR_MAPPING_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

// What was being attempted: the same errno means different things for
// different operations (EEXIST on create = the name is taken; on destroy = the
// dataset has dependents).
enum class ZfsOp {
  kCreate,
  kClone,
  kSnapshot,
  kRename,
  kDestroy,
  kDestroySnapshots,
  kRollback,
  kPromote,
  kSetProperty,
  kRead,
  kSend,     // lzc_send*: writing a send stream into a file descriptor
  kReceive,  // lzc_receive*: a send stream into a dataset
};

// ZFS_ERR_* values of OpenZFS 2.1 (sys/fs/zfs.h, enum zfs_errno); the adapter
// checks them against the real header at compile time.
inline constexpr int kZfsErrIocCmdUnavail = 1029;
inline constexpr int kZfsErrIocArgUnavail = 1030;
inline constexpr int kZfsErrIocArgRequired = 1031;
inline constexpr int kZfsErrIocArgBadtype = 1032;
inline constexpr int kZfsErrWrongParent = 1033;
inline constexpr int kZfsErrUnknownSendStreamFeature = 1037;
inline constexpr int kZfsErrStreamTruncated = 1040;
inline constexpr int kZfsErrStreamLargeBlockMismatch = 1041;
inline constexpr int kZfsErrBadProp = 1044;

// The EZFS_* codes of libzfs 2.1 (libzfs.h, enum zfs_error) that have an
// errno equivalent; the adapter checks them against the real header at
// compile time.
inline constexpr int kEzfsNoMem = 2000;
inline constexpr int kEzfsBadProp = 2001;
inline constexpr int kEzfsPropReadonly = 2002;
inline constexpr int kEzfsPropType = 2003;
inline constexpr int kEzfsPropSpace = 2005;
inline constexpr int kEzfsBadType = 2006;
inline constexpr int kEzfsBusy = 2007;
inline constexpr int kEzfsExists = 2008;
inline constexpr int kEzfsNoEnt = 2009;
inline constexpr int kEzfsDsReadonly = 2011;
inline constexpr int kEzfsVolTooBig = 2012;
inline constexpr int kEzfsInvalidName = 2013;
inline constexpr int kEzfsPoolUnavail = 2022;
inline constexpr int kEzfsCrossTarget = 2025;
inline constexpr int kEzfsPerm = 2031;
inline constexpr int kEzfsNoSpc = 2032;
inline constexpr int kEzfsIo = 2034;
inline constexpr int kEzfsIntr = 2035;
inline constexpr int kEzfsPoolNotSup = 2041;
inline constexpr int kEzfsNameTooLong = 2043;
inline constexpr int kEzfsNotSup = 2056;
inline constexpr int kEzfsPoolReadonly = 2069;

// The errno that best describes a libzfs EZFS_* error, so that libzfs and
// libzfs_core failures share MapZfsErrno; -1 for codes without one.
int EzfsToErrno(int ezfs);

// The gRPC-compatible status code for `err` (an errno, or a ZFS_ERR_* value
// >= 1024) returned by operation `op`. Unknown values map to INTERNAL.
absl::StatusCode MapZfsErrno(ZfsOp op, int err);

// A readable description of `err`: strerror for errno values, a ZFS-specific
// text for ZFS_ERR_* values (which strerror does not know).
std::string DescribeZfsErrno(int err);

// Status for a failed `op`: code from MapZfsErrno, message
// "<what> '<object>': <description>".
absl::Status ZfsErrnoStatus(ZfsOp op, int err, absl::string_view what, absl::string_view object);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_ZFS_ERROR_MAPPING_H_
