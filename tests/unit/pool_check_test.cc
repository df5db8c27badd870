#include "daemon/pool_check.h"

#include <gtest/gtest.h>

namespace mvirt::zfs {
namespace {

PoolProps SeedPool() {
  PoolProps p;
  p.name = "vmpool";
  p.health = "ONLINE";
  p.ashift = 12;
  p.autotrim = true;
  p.compression = "lz4";
  p.xattr = "sa";
  p.atime = "off";
  return p;
}

TEST(CheckPoolHealth, OnlineAndDegradedServe) {
  PoolProps p = SeedPool();
  EXPECT_TRUE(CheckPoolHealth(p).ok());
  p.health = "DEGRADED";
  EXPECT_TRUE(CheckPoolHealth(p).ok());
}

TEST(CheckPoolHealth, FaultedAndSuspendedRefuse) {
  for (const char* health : {"FAULTED", "UNAVAIL", "SUSPENDED", ""}) {
    PoolProps p = SeedPool();
    p.health = health;
    absl::Status s = CheckPoolHealth(p);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << health;
    EXPECT_NE(s.message().find("pool 'vmpool'"), absl::string_view::npos);
  }
}

TEST(SeedSettingWarnings, NoneForTheSeedSettings) {
  EXPECT_TRUE(SeedSettingWarnings(SeedPool()).empty());
}

TEST(SeedSettingWarnings, OneWarningPerDifferingSetting) {
  PoolProps p = SeedPool();
  p.ashift = 9;
  p.autotrim = false;
  p.compression = "off";
  p.xattr = "on";
  p.atime = "on";
  std::vector<std::string> w = SeedSettingWarnings(p);
  ASSERT_EQ(w.size(), 5u);
  EXPECT_NE(w[0].find("ashift is 9, recommended 12"), std::string::npos) << w[0];
  EXPECT_NE(w[1].find("zpool set autotrim=on vmpool"), std::string::npos) << w[1];
  EXPECT_NE(w[2].find("compression is off, recommended lz4"), std::string::npos) << w[2];
  EXPECT_NE(w[3].find("xattr is on, recommended sa"), std::string::npos) << w[3];
  EXPECT_NE(w[4].find("zfs set atime=off vmpool"), std::string::npos) << w[4];
}

}  // namespace
}  // namespace mvirt::zfs
