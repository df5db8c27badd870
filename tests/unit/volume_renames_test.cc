// VolumeManager's renames of volumes and snapshots (volume_renames.cc) on
// FakeZfs and fake devices.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"
#include "volume/volume_manager.h"
#include "volume_test_world.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class VolumeRenamesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(w_.vm().Create(VolumeParams("a", kMiB, kId1)));
    ASSERT_OK(w_.fake.WriteData(World::Dataset("a"), "data of a"));
    ASSERT_OK(w_.vm().CreateSnapshot("a", "s1"));
    ASSERT_OK(w_.vm().CloneVolume("a", "s1", CloneParams("c", kId3)));
    ASSERT_OK(w_.vm().Create(VolumeParams("b", kMiB, kId2)));
    w_.devices.ClearCalls();
  }
  World w_;
};

TEST_F(VolumeRenamesTest, AVolumeKeepsItsIdDataSnapshotsAndClonesAndItsDeviceMoves) {
  auto events = w_.vm().volume_events().Subscribe(16);
  absl::StatusOr<VolumeInfo> renamed = w_.vm().RenameVolume("a", "a2", "");
  ASSERT_OK(renamed);
  EXPECT_EQ(renamed->id, kId1);
  EXPECT_EQ(renamed->name, "a2");
  EXPECT_EQ(renamed->path, World::Device("a2"));
  ASSERT_EQ(renamed->snapshots.size(), 1u);
  EXPECT_EQ(renamed->snapshots[0].full_name, World::Dataset("a2") + "@s1");
  EXPECT_EQ(w_.fake.ReadData(World::Dataset("a2")).value_or(""), "data of a");
  EXPECT_FALSE(w_.fake.Exists(World::Dataset("a")));
  absl::StatusOr<VolumeInfo> clone = w_.vm().Get("c");
  ASSERT_OK(clone);
  EXPECT_THAT(w_.devices.calls(), ::testing::IsSupersetOf({"WaitGone " + World::Device("a"),
                                                           "WaitReady " + World::Device("a2")}));
  std::optional<VolumeEventInfo> event = events->Next();
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->volume_id, kId1);
  ASSERT_TRUE(event->volume.has_value());
  EXPECT_EQ(event->volume->name, "a2");
  // Asked again with its id: done already.
  EXPECT_OK(w_.vm().RenameVolume("a", "a2", kId1));
  EXPECT_THAT(w_.vm().RenameVolume("a", "a2", ""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(InvariantViolations(w_.zfs), IsEmpty());
}

TEST_F(VolumeRenamesTest, RefusedRenamesChangeNothing) {
  const std::string before = w_.fake.Dump();
  EXPECT_THAT(w_.vm().RenameVolume("a", "b", ""),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("'b' exists")));
  EXPECT_THAT(w_.vm().RenameVolume("a", "a", ""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(w_.vm().RenameVolume("a", "bad/name", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(w_.vm().RenameVolume("missing", "x", ""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      w_.vm().RenameVolume("a", "x", kId2),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is id " + std::string(kId1))));
  w_.devices.SetHolders(World::Device("a"), {{4242, "cloud-hyperviso"}});
  EXPECT_THAT(w_.vm().RenameVolume("a", "x", ""),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("in use by pid 4242 (cloud-hyperviso)")));
  w_.devices.SetHolders(World::Device("a"), {});
  EXPECT_THAT(w_.vm().RenameSnapshot("a", "s1", "s1", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(w_.vm().RenameSnapshot("a", "nope", "x", ""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(w_.fake.Dump(), before);
}

TEST_F(VolumeRenamesTest, ASnapshotKeepsItsIdAndClones) {
  absl::StatusOr<std::vector<SnapshotInfo>> snaps = w_.vm().ListSnapshots("a");
  ASSERT_OK(snaps);
  const std::string id = snaps->at(0).id;
  ASSERT_OK(w_.vm().CreateSnapshot("a", "s2"));
  EXPECT_THAT(w_.vm().RenameSnapshot("a", "s1", "s2", ""),
              StatusIs(absl::StatusCode::kAlreadyExists));
  absl::StatusOr<SnapshotInfo> renamed = w_.vm().RenameSnapshot("a", "s1", "golden", id);
  ASSERT_OK(renamed);
  EXPECT_EQ(renamed->id, id);
  EXPECT_EQ(renamed->name, "golden");
  absl::StatusOr<VolumeProps> clone = w_.fake.GetVolume(World::Dataset("c"));
  ASSERT_OK(clone);
  EXPECT_EQ(clone->origin, World::Dataset("a") + "@golden");
  EXPECT_OK(w_.vm().RenameSnapshot("a", "s1", "golden", id)) << "a retry with the id";
  EXPECT_THAT(w_.vm().RenameSnapshot("a", "s1", "golden", ""),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace mvirt::zfs::testing
