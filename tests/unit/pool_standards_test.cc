#include "pool/pool_standards.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "seed_pool.h"

namespace mvirt::zfs {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

using testing::SeedPool;

TEST(CheckPoolStandards, NothingForThePoolTheSeedDescribes) {
  EXPECT_TRUE(CheckPoolStandards(SeedPool()).empty());
}

TEST(CheckPoolStandards, EachDifferingSettingWithTheCommandThatFixesIt) {
  PoolProps p = SeedPool();
  p.autotrim = false;
  p.compression = "off";
  p.xattr = "on";
  p.atime = "on";
  std::vector<StandardsFinding> f = CheckPoolStandards(p);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], (StandardsFinding{"autotrim", "", "off", "on", "returns freed blocks to the SSD",
                                    "zpool set autotrim=on vmpool"}));
  EXPECT_EQ(f[1].setting, "compression");
  EXPECT_EQ(f[1].actual, "off");
  EXPECT_EQ(f[1].fix, "zfs set compression=lz4 vmpool");
  EXPECT_EQ(f[2].fix, "zfs set xattr=sa vmpool");
  EXPECT_EQ(f[3].fix, "zfs set atime=off vmpool");
}

TEST(CheckPoolStandards, AshiftIsCheckedOnEveryTopLevelVdev) {
  PoolProps p = SeedPool();
  p.top_level_vdevs = {{"sda", 9, "ONLINE"}, {"sdb", 12, "ONLINE"}, {"mirror-2", 13, "ONLINE"}};
  std::vector<StandardsFinding> f = CheckPoolStandards(p);
  EXPECT_THAT(f, ElementsAre(Field(&StandardsFinding::vdev, "sda"),
                             Field(&StandardsFinding::vdev, "mirror-2")));
  EXPECT_EQ(f[0].actual, "9");
  EXPECT_EQ(f[1].actual, "13");
  EXPECT_THAT(f[0].fix, HasSubstr("zpool create -o ashift=12"));
}

TEST(CheckPoolStandards, UnreadableVdevsAreAFindingNotAPass) {
  PoolProps p = SeedPool();
  p.top_level_vdevs.clear();
  p.ashift = 0;
  std::vector<StandardsFinding> f = CheckPoolStandards(p);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].setting, "ashift");
  EXPECT_EQ(f[0].actual, "unknown");
}

TEST(DescribeFinding, OneLogLineSayingWhatWhyAndHow) {
  PoolProps p = SeedPool();
  p.compression = "off";
  p.top_level_vdevs[0].ashift = 9;
  std::vector<StandardsFinding> f = CheckPoolStandards(p);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(DescribeFinding("vmpool", f[1]),
            "pool 'vmpool': compression is off, recommended lz4 (saves I/O and space); "
            "zfs set compression=lz4 vmpool");
  EXPECT_THAT(DescribeFinding("vmpool", f[0]),
              HasSubstr("pool 'vmpool': ashift of vdev nvme0n1p2 is 9, recommended 12"));
}

}  // namespace
}  // namespace mvirt::zfs
