// What FakeZfs does beyond the shared contract (zfs_contract_tests.h): its
// test hooks, its dump, the exact texts LibZfs builds outside
// error_mapping.cc, and the corners real-ZFS tests do not reach.
#include "zfs/fake_zfs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "status_matchers.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kBlock = 16384;
constexpr uint64_t kSize = 1 << 20;

class FakeZfsTest : public ::testing::Test {
 protected:
  void SetUp() override { fake_.AddPool("p"); }
  void MakeVolume(const std::string& name) {
    ASSERT_OK(fake_.CreateVolume(name, kSize, kBlock, {{"mvirt:id", name}}));
  }
  FakeZfs fake_;
};

TEST_F(FakeZfsTest, DumpIsSortedAndCanLeaveOutIdentities) {
  MakeVolume("p/b");
  MakeVolume("p/a");
  ASSERT_OK(fake_.Snapshot({"p/a@s"}, {{"mvirt:x", "1"}}));
  ASSERT_OK(fake_.Hold("p/a@s", "keep"));
  fake_.SetOpen("p/b", true);
  const std::string full = fake_.Dump();
  EXPECT_LT(full.find("p/a volume"), full.find("p/a@s snapshot"));
  EXPECT_LT(full.find("p/a@s snapshot"), full.find("p/b volume"));
  EXPECT_THAT(full, HasSubstr("holds=[keep]"));
  EXPECT_THAT(full,
              HasSubstr("p/b volume volsize=1048576 volblocksize=16384 origin= data=\"\" open"));
  EXPECT_THAT(full, HasSubstr(" txg="));
  EXPECT_THAT(fake_.Dump(FakeZfs::DumpDetail::kWithoutIdentities), Not(HasSubstr(" txg=")));
  EXPECT_THAT(fake_.Dump(FakeZfs::DumpDetail::kWithoutIdentities), Not(HasSubstr(" guid=")));
}

TEST_F(FakeZfsTest, EveryChangeAdvancesTheTransactionGroup) {
  MakeVolume("p/a");
  MakeVolume("p/b");
  ASSERT_OK(fake_.Snapshot({"p/a@s"}, {}));
  absl::StatusOr<VolumeProps> a = fake_.GetVolume("p/a");
  absl::StatusOr<VolumeProps> b = fake_.GetVolume("p/b");
  absl::StatusOr<SnapshotProps> s = fake_.GetSnapshot("p/a@s");
  ASSERT_OK(a);
  ASSERT_OK(b);
  ASSERT_OK(s);
  EXPECT_LT(a->createtxg, b->createtxg);
  EXPECT_LT(b->createtxg, s->createtxg);
  EXPECT_NE(a->guid, b->guid);
}

TEST_F(FakeZfsTest, RefusalsUseTheChannelProgramTexts) {
  MakeVolume("p/v");
  ASSERT_OK(fake_.Snapshot({"p/v@s"}, {}));
  ASSERT_OK(fake_.Clone("p/c", "p/v@s", {}));
  EXPECT_THAT(fake_.DestroyWithSnapshots("p/v"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "destroy 'p/v': snapshot 'p/v@s' has clones"));
  fake_.SetOpen("p/c", true);
  absl::Status busy = fake_.DestroyWithSnapshots("p/c");
  EXPECT_TRUE(IsBusy(busy));
  EXPECT_EQ(busy.message(), "destroy 'p/c': the dataset is in use (its device is open)");
  EXPECT_THAT(fake_.DestroyWithSnapshots("p/x"),
              StatusIs(absl::StatusCode::kNotFound, "destroy 'p/x': 'p/x' does not exist"));
  ASSERT_OK(fake_.Snapshot({"p/v@t"}, {}));
  ASSERT_OK(fake_.Hold("p/v@t", "keep"));
  EXPECT_THAT(fake_.Rollback("p/v", "p/v@s"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "roll back to 'p/v@s' 'p/v': snapshot 'p/v@t' is held or in use (e.g. "
                       "being sent)"));
  EXPECT_THAT(
      fake_.Rollback("p/v", "p/v@x"),
      StatusIs(absl::StatusCode::kNotFound, "open snapshot 'p/v@x': dataset does not exist"));
}

TEST_F(FakeZfsTest, ErrnoFailuresUseErrorMappingTexts) {
  MakeVolume("p/v");
  EXPECT_THAT(fake_.CreateVolume("p/v", kSize, kBlock, {}),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       "create volume 'p/v': dataset already exists or has dependents"));
  EXPECT_THAT(
      fake_.CreateVolume("p/x/v", kSize, kBlock, {}),
      StatusIs(absl::StatusCode::kNotFound, "create volume 'p/x/v': No such file or directory"));
  EXPECT_THAT(fake_.CreateVolume("p/v/w", kSize, kBlock, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a filesystem")));
  EXPECT_THAT(fake_.CreateVolume("p/odd", kSize + 1, kBlock, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(fake_.CreateVolume("p/odd", kSize, 3000, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(fake_.Rename("p/v", "q/v"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(fake_.GetPool("q"),
              StatusIs(absl::StatusCode::kNotFound, "pool 'q' is not imported"));
}

TEST_F(FakeZfsTest, SetPoolSetsWhatGetPoolReturns) {
  PoolProps props;
  props.name = "p";
  props.health = "DEGRADED";
  props.used = 5;
  props.available = 7;
  fake_.SetPool(props);
  absl::StatusOr<PoolProps> got = fake_.GetPool("p");
  ASSERT_OK(got);
  EXPECT_EQ(got->health, "DEGRADED");
  EXPECT_EQ(got->used + got->available, 12u);
}

// As channel_programs.cc's destroy program reads (not run on real ZFS: no
// caller destroys a filesystem with children): without snapshots the kernel
// refuses (EEXIST); with snapshots nothing checks for children, so the
// snapshots go and then the kernel refuses the dataset. Not all or nothing.
TEST_F(FakeZfsTest, DestroyOfAFilesystemWithChildrenIsRefusedChangingNothing) {
  ASSERT_OK(fake_.EnsureHiddenFilesystem("p/fs", true));
  MakeVolume("p/fs/v");
  EXPECT_THAT(fake_.DestroyWithSnapshots("p/fs"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("child dataset 'p/fs/v'")));
  ASSERT_OK(fake_.Snapshot({"p/fs@s"}, {}));
  EXPECT_THAT(fake_.DestroyWithSnapshots("p/fs"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("child dataset")));
  EXPECT_TRUE(fake_.Exists("p/fs@s"));
  EXPECT_TRUE(fake_.Exists("p/fs/v"));
}

TEST_F(FakeZfsTest, RenameMovesDescendantsAndTheirOpenDevices) {
  ASSERT_OK(fake_.EnsureHiddenFilesystem("p/fs", true));
  MakeVolume("p/fs/v");
  ASSERT_OK(fake_.Snapshot({"p/fs/v@s"}, {}));
  ASSERT_OK(fake_.Clone("p/c", "p/fs/v@s", {}));
  fake_.SetOpen("p/fs/v", true);
  ASSERT_OK(fake_.Rename("p/fs", "p/gs"));
  EXPECT_TRUE(fake_.Exists("p/gs/v@s"));
  EXPECT_FALSE(fake_.Exists("p/fs/v"));
  absl::StatusOr<VolumeProps> clone = fake_.GetVolume("p/c");
  ASSERT_OK(clone);
  EXPECT_EQ(clone->origin, "p/gs/v@s");
  ASSERT_OK(fake_.DestroyWithSnapshots("p/c"));
  EXPECT_TRUE(IsBusy(fake_.DestroyWithSnapshots("p/gs/v")));  // still open under its new name
  EXPECT_THAT(fake_.Rename("p/gs", "p/gs/inner"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(FakeZfsTest, CopyKeepsTheSnapshotGuid) {
  MakeVolume("p/v");
  ASSERT_OK(fake_.Snapshot({"p/v@s"}, {}));
  ASSERT_OK(fake_.CopySnapshot("p/v@s", "p/copy@t"));
  absl::StatusOr<SnapshotProps> s = fake_.GetSnapshot("p/v@s");
  absl::StatusOr<SnapshotProps> t = fake_.GetSnapshot("p/copy@t");
  ASSERT_OK(s);
  ASSERT_OK(t);
  EXPECT_EQ(s->guid, t->guid);
  EXPECT_THAT(s->clones, ::testing::IsEmpty());
}

TEST_F(FakeZfsTest, PropertiesItDoesNotModelAreUnimplemented) {
  MakeVolume("p/v");
  EXPECT_THAT(fake_.SetProperty("p/v", "compression", "zstd"),
              StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT(fake_.SetProperty("p/v", "volmode", "bogus"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be one of")));
  EXPECT_THAT(fake_.SetProperty("p/v", "canmount", "off"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(fake_.Snapshot({"p/v@s"}, {}));
  EXPECT_THAT(fake_.SetProperty("p/v@s", "volmode", "none"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("snapshots")));
}

TEST_F(FakeZfsTest, IsThreadSafe) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string name = "p/t" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_OK(fake_.CreateVolume(name, kSize, kBlock, {}));
        EXPECT_OK(fake_.Snapshot({name + "@s"}, {}));
        EXPECT_OK(fake_.ListVolumes("p").status());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::StatusOr<std::vector<VolumeProps>> all = fake_.ListVolumes("p");
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 200u);
}

}  // namespace
}  // namespace mvirt::zfs::testing
