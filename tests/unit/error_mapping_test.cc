#include "zfs/error_mapping.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace mvirt::zfs {
namespace {

using C = absl::StatusCode;

TEST(MapZfsErrno, FollowsTheGuideTable) {
  EXPECT_EQ(MapZfsErrno(ZfsOp::kRead, ENOENT), C::kNotFound);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kRollback, ESRCH), C::kNotFound);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kDestroy, EBUSY), C::kFailedPrecondition);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, ENOSPC), C::kResourceExhausted);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, EDQUOT), C::kResourceExhausted);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, EDOM), C::kInvalidArgument);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, ENAMETOOLONG), C::kInvalidArgument);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kClone, EXDEV), C::kInvalidArgument);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, kZfsErrWrongParent), C::kInvalidArgument);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kSetProperty, kZfsErrBadProp), C::kInvalidArgument);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, EPERM), C::kPermissionDenied);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, EROFS), C::kFailedPrecondition);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, ENOTSUP), C::kFailedPrecondition);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kRead, EIO), C::kUnavailable);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kRead, EAGAIN), C::kUnavailable);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kRead, ENXIO), C::kUnavailable);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kRead, EBADE), C::kDataLoss);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, kZfsErrIocCmdUnavail), C::kUnimplemented);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, kZfsErrIocArgUnavail), C::kUnimplemented);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, 0), C::kOk);
  EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, 99999), C::kInternal);
}

TEST(MapZfsErrno, EexistDependsOnTheOperation) {
  for (ZfsOp op : {ZfsOp::kCreate, ZfsOp::kClone, ZfsOp::kSnapshot, ZfsOp::kRename}) {
    EXPECT_EQ(MapZfsErrno(op, EEXIST), C::kAlreadyExists);
  }
  for (ZfsOp op : {ZfsOp::kDestroy, ZfsOp::kDestroySnapshots, ZfsOp::kRollback, ZfsOp::kPromote}) {
    EXPECT_EQ(MapZfsErrno(op, EEXIST), C::kFailedPrecondition);
  }
}

TEST(ZfsErrnoStatus, NamesOperationObjectAndCause) {
  absl::Status s = ZfsErrnoStatus(ZfsOp::kCreate, EEXIST, "create volume", "vmpool/a");
  EXPECT_EQ(s.code(), C::kAlreadyExists);
  EXPECT_EQ(s.message(), "create volume 'vmpool/a': dataset already exists or has dependents");
  // ZFS_ERR_* codes are not strerror()ed.
  absl::Status wrong = ZfsErrnoStatus(ZfsOp::kCreate, kZfsErrWrongParent, "create volume", "p/v/x");
  EXPECT_EQ(wrong.message(), "create volume 'p/v/x': the parent dataset is not a filesystem");
  absl::Status nospc = ZfsErrnoStatus(ZfsOp::kCreate, ENOSPC, "create volume", "p/v");
  EXPECT_EQ(nospc.message(), "create volume 'p/v': No space left on device");
}

}  // namespace
}  // namespace mvirt::zfs

namespace mvirt::zfs {
namespace {

TEST(EzfsToErrno, LibzfsErrorsShareTheErrnoTable) {
  using C = absl::StatusCode;
  struct Case {
    int ezfs;
    C code;
  };
  const Case cases[] = {
      {kEzfsNoEnt, C::kNotFound},
      {kEzfsExists, C::kAlreadyExists},
      {kEzfsBusy, C::kFailedPrecondition},
      {kEzfsBadProp, C::kInvalidArgument},
      {kEzfsInvalidName, C::kInvalidArgument},
      {kEzfsNameTooLong, C::kInvalidArgument},
      {kEzfsPropReadonly, C::kFailedPrecondition},
      {kEzfsPoolReadonly, C::kFailedPrecondition},
      {kEzfsNoSpc, C::kResourceExhausted},
      {kEzfsNoMem, C::kResourceExhausted},
      {kEzfsPerm, C::kPermissionDenied},
      {kEzfsIo, C::kUnavailable},
      {kEzfsPoolUnavail, C::kUnavailable},
      {kEzfsIntr, C::kUnavailable},
      {kEzfsNotSup, C::kFailedPrecondition},
  };
  for (const Case& c : cases) {
    int err = EzfsToErrno(c.ezfs);
    ASSERT_GE(err, 0) << c.ezfs;
    EXPECT_EQ(MapZfsErrno(ZfsOp::kCreate, err), c.code) << c.ezfs;
  }
  EXPECT_EQ(EzfsToErrno(2099), -1) << "no errno equivalent: the caller reports INTERNAL";
}

}  // namespace
}  // namespace mvirt::zfs
