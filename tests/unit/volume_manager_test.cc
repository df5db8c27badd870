// VolumeManager's decisions about volumes (volume_manager.cc) on FakeZfs and
// fake devices: validation before ZFS, idempotent create, ids, capacity,
// device readiness, grow-only resize, and what refusals name.
#include "volume/volume_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"
#include "volume_test_world.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class VolumeManagerTest : public ::testing::Test {
 protected:
  absl::StatusOr<VolumeInfo> Create(const std::string& name, uint64_t size = kMiB,
                                    const std::string& id = kId1) {
    return w_.vm().Create(VolumeParams(name, size, id));
  }
  World w_;
};

TEST_F(VolumeManagerTest, CreateValidatesEverythingBeforeTouchingZfs) {
  EXPECT_THAT(Create("-bad"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Create(".mvirt"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Create("a/b"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Create("v", kMiB, "not-a-uuid"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Create("v", 0), StatusIs(absl::StatusCode::kInvalidArgument));
  CreateVolumeParams odd = VolumeParams("v", kMiB, kId1);
  odd.volblocksize = 3000;
  EXPECT_THAT(w_.vm().Create(odd), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(w_.zfs.calls(), IsEmpty());
}

TEST_F(VolumeManagerTest, CreateRefusesASizeBeyondThePoolCapacity) {
  PoolProps pool = *w_.fake.GetPool(kPool);
  pool.used = 3 * kMiB;
  pool.available = 5 * kMiB;
  w_.fake.SetPool(pool);
  const std::string before = w_.fake.Dump();
  EXPECT_THAT(Create("v", 9 * kMiB),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exceeds the capacity")));
  EXPECT_EQ(w_.fake.Dump(), before);
  EXPECT_OK(Create("v", 8 * kMiB));
}

TEST_F(VolumeManagerTest, CreateMakesTheZvolUnderCreatingAndRenamesItIntoPlace) {
  absl::StatusOr<VolumeInfo> v = Create("v", kMiB + 1);
  ASSERT_OK(v);
  EXPECT_EQ(v->id, kId1);
  EXPECT_EQ(v->name, "v");
  EXPECT_EQ(v->path, "/dev/zvol/vmpool/v");
  EXPECT_EQ(v->volsize_bytes, kMiB + kDefaultVolblocksize);  // rounded up
  EXPECT_EQ(v->volblocksize, kDefaultVolblocksize);
  const std::string staging = std::string("vmpool/.mvirt/creating/v-") + kId1;
  EXPECT_THAT(Mutations(w_.zfs.calls()),
              ElementsAre("CreateVolume " + staging, "Rename " + staging));
  absl::StatusOr<VolumeProps> props = w_.fake.GetVolume("vmpool/v");
  ASSERT_OK(props);
  EXPECT_EQ(props->user_props, (UserProps{{kIdProperty, kId1}, {kKindProperty, kKindVolume}}));
  EXPECT_THAT(w_.devices.calls(), ElementsAre("WaitReady /dev/zvol/vmpool/v"));
}

TEST_F(VolumeManagerTest, CreateIsIdempotentForTheSameIdSizeAndBlockSize) {
  auto events = w_.vm().volume_events().Subscribe(16);
  ASSERT_OK(Create("v"));
  w_.zfs.Reset();
  absl::StatusOr<VolumeInfo> again = Create("v");
  ASSERT_OK(again);
  EXPECT_EQ(again->id, kId1);
  EXPECT_THAT(Mutations(w_.zfs.calls()), IsEmpty());
  ASSERT_TRUE(events->Next().has_value());
  ASSERT_TRUE(events->Next().has_value());  // each call publishes the volume
  EXPECT_THAT(Create("v", 2 * kMiB),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("same id, size, volblocksize and provisioning")));
  EXPECT_THAT(Create("v", kMiB, kId2), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(Create("v", kMiB, ""), StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(VolumeManagerTest, AThickVolumeReservesItsSizeAndKeepsItThroughAResize) {
  CreateVolumeParams thick = VolumeParams("t", kMiB, kId1);
  thick.thick = true;
  absl::StatusOr<VolumeInfo> made = w_.vm().Create(thick);
  ASSERT_OK(made);
  EXPECT_TRUE(made->thick);
  EXPECT_EQ(made->refreservation_bytes, kMiB);
  EXPECT_THAT(Create("t", kMiB, kId1),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("thick")))
      << "not a retry";
  EXPECT_OK(w_.vm().Create(thick)) << "a retry";
  absl::StatusOr<VolumeInfo> grown = w_.vm().Resize("t", 4 * kMiB);
  ASSERT_OK(grown);
  EXPECT_EQ(grown->refreservation_bytes, 4 * kMiB);
  absl::StatusOr<VolumeInfo> thin = Create("thin", kMiB, kId2);
  ASSERT_OK(thin);
  EXPECT_FALSE(thin->thick);
  EXPECT_EQ(thin->refreservation_bytes, 0u);
  // A clone too, and a reservation the pool cannot make leaves nothing.
  ASSERT_OK(w_.vm().CreateSnapshot("thin", "s"));
  CloneVolumeParams clone = CloneParams("c", kId3);
  clone.thick = true;
  w_.zfs.Reset();
  w_.zfs.FailCall(ZfsCall::kSetProperty, 1,
                  absl::ResourceExhaustedError("set refreservation: out of space"));
  const std::string before = w_.fake.Dump();
  EXPECT_THAT(w_.vm().CloneVolume("thin", "s", clone),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("cannot reserve")));
  EXPECT_EQ(w_.fake.Dump(), before);
  absl::StatusOr<VolumeInfo> cloned = w_.vm().CloneVolume("thin", "s", clone);
  ASSERT_OK(cloned);
  EXPECT_TRUE(cloned->thick);
}

TEST_F(VolumeManagerTest, CreateRefusesANameThatIsNotItsOwn) {
  ASSERT_OK(w_.fake.CreateVolume("vmpool/foreign", kMiB, kDefaultVolblocksize, {}));
  ASSERT_OK(w_.fake.EnsureHiddenFilesystem("vmpool/fs", false));
  EXPECT_THAT(Create("foreign"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("not managed by mvirt-zfs")));
  EXPECT_THAT(Create("fs"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("not managed by mvirt-zfs")));
}

TEST_F(VolumeManagerTest, CreateRefusesAnIdThatAnotherVolumeCarries) {
  ASSERT_OK(Create("a", kMiB, kId1));
  const std::string before = w_.fake.Dump();
  EXPECT_THAT(Create("b", kMiB, kId1),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr(std::string("id ") + kId1 + " already belongs to volume 'a'")));
  EXPECT_EQ(w_.fake.Dump(), before);
}

TEST_F(VolumeManagerTest, CreateWhoseDeviceDoesNotAppearLeavesTheVolumeForARetry) {
  auto events = w_.vm().volume_events().Subscribe(16);
  w_.devices.SetNeverReady(true);
  EXPECT_THAT(Create("v"), StatusIs(absl::StatusCode::kDeadlineExceeded,
                                    HasSubstr("the volume exists, retry the call")));
  EXPECT_TRUE(w_.fake.Exists("vmpool/v"));
  EXPECT_TRUE(events->Next().has_value());  // published, ready or not
  w_.devices.SetNeverReady(false);
  w_.zfs.Reset();
  EXPECT_OK(Create("v"));
  EXPECT_THAT(Mutations(w_.zfs.calls()), IsEmpty());
}

TEST_F(VolumeManagerTest, CreateWaitsForTheRightDeviceNotAStaleLink) {
  World manual_world;
  FakeZvolDevices stale(FakeZvolDevices::Mode::kManual);
  VolumeManagerOptions options;
  options.pool = kPool;
  options.device_timeout = absl::Milliseconds(5);
  VolumeManager vm(manual_world.zfs, stale, options);
  stale.Appear(World::Device("v"), "vmpool/old");  // a link left pointing at another zvol
  EXPECT_THAT(vm.Create(VolumeParams("v", kMiB, kId1)),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("link points at the zvol of 'vmpool/old' (stale link)")));
  stale.Appear(World::Device("v"), "vmpool/v");
  EXPECT_OK(vm.Create(VolumeParams("v", kMiB, kId1)));
}

TEST_F(VolumeManagerTest, CreateReplacesALeftoverOfTheSameIdAndRecreatesCreating) {
  const std::string leftover = std::string("vmpool/.mvirt/creating/v-") + kId1;
  ASSERT_OK(w_.fake.CreateVolume(leftover, kMiB, kDefaultVolblocksize, {}));
  ASSERT_OK(Create("v"));
  EXPECT_FALSE(w_.fake.Exists(leftover));
  ASSERT_OK(w_.fake.DestroyWithSnapshots("vmpool/.mvirt/creating"));  // removed by hand
  ASSERT_OK(Create("w", kMiB, kId2));
  EXPECT_TRUE(w_.fake.Exists("vmpool/.mvirt/creating"));
  EXPECT_THAT(InvariantViolations(w_.fake), IsEmpty());
}

// A failed look-up says nothing about the name: it is reported as it is,
// not as ALREADY_EXISTS (it was, before the fault tests showed it).
TEST_F(VolumeManagerTest, CreateReportsAFailedLookUpOfTheNameAsItIs) {
  // The name is taken, so it is looked up, and the look-up fails.
  ASSERT_OK(Create("v", kMiB, kId1));
  const std::string before = w_.fake.Dump();
  w_.zfs.Reset();  // count calls from here
  w_.zfs.FailCall(ZfsCall::kGetVolume, 1, absl::UnavailableError("EIO"));
  EXPECT_THAT(Create("v"), StatusIs(absl::StatusCode::kUnavailable, "create volume 'v': EIO"));
  EXPECT_EQ(w_.fake.Dump(), before);
}

TEST_F(VolumeManagerTest, GetAndListSeeOnlyManagedVolumes) {
  ASSERT_OK(Create("b", kMiB, kId2));
  ASSERT_OK(Create("a", kMiB, kId1));
  ASSERT_OK(w_.fake.CreateVolume("vmpool/foreign", kMiB, kDefaultVolblocksize, {}));
  ASSERT_OK(w_.fake.EnsureHiddenFilesystem("vmpool/fs", false));
  absl::StatusOr<std::vector<VolumeInfo>> all = w_.vm().List();
  ASSERT_OK(all);
  std::vector<std::string> names;
  for (const VolumeInfo& v : *all) names.push_back(v.name);
  EXPECT_THAT(names, ElementsAre("a", "b"));
  EXPECT_THAT(w_.vm().Get("foreign"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not managed by mvirt-zfs")));
  EXPECT_THAT(w_.vm().Get("fs"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(w_.vm().Get("missing"), StatusIs(absl::StatusCode::kNotFound));
  absl::StatusOr<PoolStatsInfo> stats = w_.vm().GetPoolStats();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->provisioned_bytes, 2 * kMiB);  // not the foreign zvol
  EXPECT_EQ(stats->volume_count, 2u);
}

TEST_F(VolumeManagerTest, ResizeOnlyGrows) {
  ASSERT_OK(Create("v", 2 * kMiB));
  EXPECT_THAT(w_.vm().Resize("v", 0), StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string before = w_.fake.Dump();
  w_.zfs.Reset();
  EXPECT_THAT(w_.vm().Resize("v", kMiB),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("can only grow")));
  EXPECT_OK(w_.vm().Resize("v", 2 * kMiB - 1));  // rounds up to the same size: no-op
  EXPECT_THAT(Mutations(w_.zfs.calls()), IsEmpty());
  EXPECT_EQ(w_.fake.Dump(), before);
  EXPECT_THAT(w_.vm().Resize("v", 1000 * 1024 * kMiB),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exceeds the capacity")));
  absl::StatusOr<VolumeInfo> grown = w_.vm().Resize("v", 3 * kMiB + 1);
  ASSERT_OK(grown);
  EXPECT_EQ(grown->volsize_bytes, 3 * kMiB + kDefaultVolblocksize);
  EXPECT_THAT(w_.vm().Resize("missing", kMiB), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(VolumeManagerTest, DeleteNamesTheClonesAndHoldsThatDependOnIt) {
  ASSERT_OK(Create("v"));
  ASSERT_OK(w_.vm().CreateSnapshot("v", "s"));
  ASSERT_OK(w_.vm().CloneVolume("v", "s", CloneParams("c", kId2)));
  ASSERT_OK(w_.fake.Hold("vmpool/v@s", "backup"));
  const std::string before = w_.fake.Dump();
  EXPECT_THAT(w_.vm().Delete("v"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("vmpool/c (clone of vmpool/v@s), vmpool/v@s (held: 'backup')")));
  EXPECT_EQ(w_.fake.Dump(), before);
}

TEST_F(VolumeManagerTest, DeleteOfAnOpenVolumeNamesWhoHoldsIt) {
  ASSERT_OK(Create("v"));
  w_.fake.SetOpen("vmpool/v", true);
  w_.devices.SetHolders(World::Device("v"), {{4242, "qemu-system-x86"}, {0, "mounted on /mnt"}});
  const std::string before = w_.fake.Dump();
  absl::Status s = w_.vm().Delete("v");
  EXPECT_TRUE(IsBusy(s)) << s;
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition,
                          HasSubstr("in use by pid 4242 (qemu-system-x86), mounted on /mnt; "
                                    "stop its users first. Nothing was changed")));
  w_.devices.SetHolders(World::Device("v"), {});
  EXPECT_THAT(w_.vm().Delete("v"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no process, mount")));
  EXPECT_EQ(w_.fake.Dump(), before);
  w_.fake.SetOpen("vmpool/v", false);
  w_.devices.ClearCalls();
  EXPECT_OK(w_.vm().Delete("v"));
  EXPECT_FALSE(w_.fake.Exists("vmpool/v"));
  EXPECT_THAT(w_.devices.calls(), ElementsAre("WaitGone /dev/zvol/vmpool/v"));
  EXPECT_THAT(w_.vm().Delete("v"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(VolumeManagerTest, DeleteSucceedsWhenTheDeviceLinkLingers) {
  ASSERT_OK(Create("v"));
  ASSERT_OK(w_.vm().CreateSnapshot("v", "s"));
  w_.devices.SetNeverGone(true);
  EXPECT_OK(w_.vm().Delete("v"));  // logged, not an error: the volume is gone
  EXPECT_FALSE(w_.fake.Exists("vmpool/v@s"));
}

}  // namespace
}  // namespace mvirt::zfs::testing
