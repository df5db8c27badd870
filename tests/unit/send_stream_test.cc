#include "zfs/send_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "status_matchers.h"
#include "zfs/error_mapping.h"

namespace mvirt::zfs {
namespace {

using ::mvirt::zfs::testing::StatusIs;
using ::testing::HasSubstr;

constexpr uint64_t kCompressed = 1 << 22;

// Overwrites the 8 or 4 bytes at `offset` of a record.
template <typename T>
std::string With(std::string record, size_t offset, T value) {
  std::memcpy(record.data() + offset, &value, sizeof(value));
  return record;
}

TEST(SendStreamBegin, ReadsWhatTheRecordSays) {
  const std::string record = MakeSendStreamBegin(11, 22, "pool/v@b", kCompressed);
  ASSERT_EQ(record.size(), kSendStreamBeginBytes);
  absl::StatusOr<SendStreamBegin> begin = ParseSendStreamBegin(record);
  ASSERT_OK(begin);
  EXPECT_EQ(begin->toguid, 11u);
  EXPECT_EQ(begin->fromguid, 22u);
  EXPECT_TRUE(begin->incremental());
  EXPECT_EQ(begin->toname, "pool/v@b");
  EXPECT_EQ(begin->features, kCompressed);
  EXPECT_FALSE(begin->clone);
  EXPECT_FALSE(begin->resuming);
  EXPECT_EQ(std::string(begin->record.data(), begin->record.size()), record) << "kept as read";

  begin = ParseSendStreamBegin(MakeSendStreamBegin(11, 0, "pool/v@a", kSendFeatureResuming));
  ASSERT_OK(begin);
  EXPECT_FALSE(begin->incremental());
  EXPECT_TRUE(begin->resuming);
  begin = ParseSendStreamBegin(With<uint32_t>(MakeSendStreamBegin(1, 2, "p/v@s", 0), 36, 1));
  ASSERT_OK(begin);
  EXPECT_TRUE(begin->clone) << "DRR_FLAG_CLONE";
}

TEST(SendStreamBegin, RefusesWhatIsNotOneZvolsStream) {
  const std::string good = MakeSendStreamBegin(1, 0, "pool/v@a", 0);
  auto refused = [](const std::string& record, const std::string& why) {
    EXPECT_THAT(ParseSendStreamBegin(record),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(why)))
        << why;
  };
  refused(good.substr(0, 100), "ends after 100 bytes");
  refused(good + "x", "ends after 313 bytes");
  refused(With<uint64_t>(good, 8, 0x1234), "wrong magic");
  refused(With<uint64_t>(good, 8, __builtin_bswap64(0x2F5bacbacULL)), "other byte order");
  refused(With<uint32_t>(good, 0, 1), "not a BEGIN record");
  refused(With<uint64_t>(good, 16, 2), "package of several streams");
  refused(With<uint64_t>(good, 16, 1 | (uint64_t{1} << 21) << 2), "redacted");
  refused(With<uint64_t>(good, 16, 1 | (uint64_t{1} << 29) << 2), "unknown to ZFS 2.1");
  refused(With<uint64_t>(good, 16, 1 | uint64_t{1} << 2), "unknown to ZFS 2.1");  // DEDUP
  refused(With<uint32_t>(good, 32, 2), "not a zvol");
  refused(MakeSendStreamBegin(1, 0, "pool/v", 0), "names no snapshot");
  std::string unterminated = good;
  std::memset(unterminated.data() + 56, 'a', 256);
  refused(unterminated, "not terminated");
}

TEST(SendStreamBegin, SendAndReceiveArgumentsAreCheckedFirst) {
  EXPECT_OK(CheckSendBase("p/v@b", ""));
  EXPECT_OK(CheckSendBase("p/v@b", "p/v@a"));
  EXPECT_THAT(CheckSendBase("p/v", ""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckSendBase("p/v@b", "p/w@a"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("same dataset")));
  EXPECT_THAT(CheckSendBase("p/v@b", "p/v@"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckSendBase("p/v@b", "p/vv@a"), StatusIs(absl::StatusCode::kInvalidArgument));

  SendStreamBegin full, incremental;
  incremental.fromguid = 7;
  EXPECT_OK(CheckReceiveTarget(full, "p/v@a", {{"mvirt:id", "x"}}));
  EXPECT_OK(CheckReceiveTarget(incremental, "p/v@b", {}));
  EXPECT_THAT(
      CheckReceiveTarget(incremental, "p/v@b", {{"mvirt:id", "x"}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("first receive of a full stream")));
  EXPECT_THAT(CheckReceiveTarget(full, "p/v", {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckReceiveTarget(full, "p/v@", {}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SendStreamBegin, FailuresSayWhatWasWrong) {
  SendStreamBegin full, incremental;
  incremental.fromguid = 7;
  EXPECT_THAT(ReceiveFailure(ETXTBSY, incremental, "p/v@b", false),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("'p/v' was written")));
  EXPECT_THAT(ReceiveFailure(ENODEV, incremental, "p/v@b", false),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("guid 7")));
  EXPECT_THAT(ReceiveFailure(kZfsErrStreamTruncated, full, "p/v@a", true),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("resume")));
  EXPECT_THAT(ReceiveFailure(EEXIST, full, "p/v@a", false),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("the dataset")));
  EXPECT_THAT(ReceiveFailure(EEXIST, incremental, "p/v@b", false),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("the snapshot")));
  EXPECT_THAT(ReceiveFailure(ENOENT, full, "p/v@a", false),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("parent")));
  EXPECT_THAT(ReceiveFailure(EBUSY, incremental, "p/v@b", false),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("interrupted receive")));
  EXPECT_THAT(ReceiveFailure(ENOSPC, full, "p/v@a", false),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(ReceiveFailure(ETXTBSY, incremental, "p/v@b", true),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("what arrived is kept")))
      << "refused at the end of the receive";
  EXPECT_THAT(ReceiveFailure(ETXTBSY, incremental, "p/v@b", false),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("nothing was changed")));
  SendStreamBegin resuming;
  resuming.resuming = true;
  EXPECT_THAT(ReceiveFailure(ENOENT, resuming, "p/v@a", false),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no interrupted receive")));
  EXPECT_THAT(SendFailure(EPIPE, "p/v@a", "", false), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(SendFailure(EINTR, "p/v@a", "", false), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(SendFailure(ENOENT, "p/v@b", "p/v@a", false),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'p/v@a' does not exist")));
  EXPECT_THAT(SendFailure(ENOENT, "p/v@b", "p/v@a", true),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'p/v@b' does not exist")));
}

TEST(SendStreamBegin, OnlyTokensOfAResumeTokensShapeAndSizeReachLibzfs) {
  EXPECT_TRUE(LooksLikeResumeToken("1-e604ea4bf-e0-789c63a2"));
  EXPECT_TRUE(LooksLikeResumeToken("1-0-10000-00"));  // a payload of 64 KiB at most
  EXPECT_FALSE(LooksLikeResumeToken("1-0-10001-00")) << "libzfs would allocate what it says";
  EXPECT_FALSE(LooksLikeResumeToken("1-0-ffffffffffff-00"));
  EXPECT_FALSE(LooksLikeResumeToken("1-e604ea4bf-e0-789c63a"));  // odd hex
  EXPECT_FALSE(LooksLikeResumeToken("2-e604ea4bf-e0-789c63a2"));
  EXPECT_FALSE(LooksLikeResumeToken("1-xyz-e0-789c63a2"));
  EXPECT_FALSE(LooksLikeResumeToken("1-bogus"));
  EXPECT_FALSE(LooksLikeResumeToken(""));
  EXPECT_FALSE(LooksLikeResumeToken("1-0-10-" + std::string(2 * kMaxResumeTokenPayload + 2, 'a')));
}

}  // namespace
}  // namespace mvirt::zfs
