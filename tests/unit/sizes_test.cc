#include "common/sizes.h"

#include <gtest/gtest.h>

#include <limits>

namespace mvirt::zfs {
namespace {

TEST(RoundUpToBlock, RoundsUpToTheBlock) {
  EXPECT_EQ(*RoundUpToBlock(1, 16384), 16384u);
  EXPECT_EQ(*RoundUpToBlock(16384, 16384), 16384u);
  EXPECT_EQ(*RoundUpToBlock(16385, 16384), 32768u);
  EXPECT_EQ(*RoundUpToBlock(kGiB + 1, 4096), kGiB + 4096);
}

TEST(RoundUpToBlock, RejectsZeroAndOverflow) {
  EXPECT_EQ(RoundUpToBlock(0, 16384).status().code(), absl::StatusCode::kInvalidArgument);
  auto max = std::numeric_limits<uint64_t>::max();
  absl::StatusOr<uint64_t> r = RoundUpToBlock(max, 16384);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("overflows"), absl::string_view::npos);
  // The largest size that still rounds without overflow.
  EXPECT_EQ(*RoundUpToBlock(max - 16383, 16384), max - 16383);
}

TEST(ValidateVolblocksize, PowersOfTwoFrom4KTo128K) {
  for (uint64_t ok : {4096u, 8192u, 16384u, 32768u, 65536u, 131072u}) {
    EXPECT_TRUE(ValidateVolblocksize(ok).ok()) << ok;
  }
  for (uint64_t bad : {0u, 512u, 2048u, 12288u, 262144u, 16385u}) {
    absl::Status s = ValidateVolblocksize(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("power of two from 4096"), absl::string_view::npos);
  }
}

TEST(ParseSize, UnitsAndForms) {
  EXPECT_EQ(*ParseSize("1073741824"), kGiB);
  EXPECT_EQ(*ParseSize("50G"), 50 * kGiB);
  EXPECT_EQ(*ParseSize("50g"), 50 * kGiB);
  EXPECT_EQ(*ParseSize("10GiB"), 10 * kGiB);
  EXPECT_EQ(*ParseSize("10GB"), 10 * kGiB);
  EXPECT_EQ(*ParseSize("512K"), 512 * kKiB);
  EXPECT_EQ(*ParseSize("1.5T"), kTiB + kTiB / 2);
  EXPECT_EQ(*ParseSize(" 4M "), 4 * kMiB);
  EXPECT_EQ(*ParseSize("100B"), 100u);
  EXPECT_EQ(*ParseSize("1P"), 1024 * kTiB);
}

TEST(ParseSize, RejectsGarbageFractionsAndOverflow) {
  for (const char* bad : {"", "G", "-1G", "1X", "1.2.3G", "abc", "1e3", "0.5"}) {
    EXPECT_EQ(ParseSize(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseSize("0.5").status().message().find("whole number"), absl::string_view::npos);
  EXPECT_NE(ParseSize("99999999999P").status().message().find("too large"),
            absl::string_view::npos);
  EXPECT_NE(ParseSize("18446744073709551616").status().message().find("invalid size"),
            absl::string_view::npos);
}

TEST(FormatSize, BinaryUnits) {
  EXPECT_EQ(FormatSize(512), "512 B");
  EXPECT_EQ(FormatSize(50 * kGiB), "50 GiB");
  EXPECT_EQ(FormatSize(kGiB + kGiB / 2), "1.5 GiB");
  EXPECT_EQ(FormatSize(16 * kKiB), "16 KiB");
}

}  // namespace
}  // namespace mvirt::zfs
