#include "import/free_space.h"

#include <gtest/gtest.h>
#include <sys/statvfs.h>

#include "common/sizes.h"

namespace mvirt::zfs {
namespace {

TEST(FreeSpace, TheMarginIsFivePercentAtMostOneGiB) {
  EXPECT_EQ(FreeSpaceMargin(0), 0u);
  EXPECT_EQ(FreeSpaceMargin(kGiB), kGiB / 20);
  EXPECT_EQ(FreeSpaceMargin(20 * kGiB), kGiB);
  EXPECT_EQ(FreeSpaceMargin(kTiB), kGiB);
}

TEST(FreeSpace, ACopyMustFitWithTheMargin) {
  const uint64_t total = 100 * kGiB;  // margin 1 GiB
  EXPECT_TRUE(CheckRoomForCopy("/s/tmp", 9 * kGiB, 10 * kGiB, total).ok());
  EXPECT_TRUE(CheckRoomForCopy("/s/tmp", 0, kGiB, total).ok());
  absl::Status s = CheckRoomForCopy("/s/tmp", 9 * kGiB + 1, 10 * kGiB, total);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  // The figures, so an operator can act.
  EXPECT_NE(s.message().find("/s/tmp"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("needs 9663676417 bytes"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("has 10737418240 bytes"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("keeps 1073741824 bytes"), absl::string_view::npos) << s;
  // Less free than the margin: nothing fits.
  EXPECT_EQ(CheckRoomForCopy("/s/tmp", 1, kGiB / 2, total).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(FreeSpace, AsksTheFilesystem) {
  struct statvfs fs;
  ASSERT_EQ(::statvfs("/tmp", &fs), 0);
  const uint64_t total = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
  EXPECT_EQ(CheckFreeSpaceFor("/tmp", total + 1).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CheckFreeSpaceFor("/nonexistent-dir", 1).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace mvirt::zfs
