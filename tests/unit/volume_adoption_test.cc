// VolumeManager's AdoptVolume and ReleaseVolume (volume_adoption.cc) on
// FakeZfs and fake devices: what is refused (changing nothing), what an
// adoption and a release change, and their retries.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"
#include "volume/volume_manager.h"
#include "volume_test_world.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

AdoptVolumeParams Adopt(const std::string& dataset, const std::string& new_name = "",
                        const std::string& id = "") {
  AdoptVolumeParams p;
  p.dataset = dataset;
  p.new_name = new_name;
  p.id = id;
  return p;
}

class VolumeAdoptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Made by hand: `zfs create -V`, a snapshot, nested, and a clone of it.
    ASSERT_OK(w_.fake.CreateVolume("vmpool/byhand", kMiB, kDefaultVolblocksize, {}));
    ASSERT_OK(w_.fake.WriteData("vmpool/byhand", "data by hand"));
    ASSERT_OK(w_.fake.Snapshot({"vmpool/byhand@before"}, {}));
    ASSERT_OK(w_.fake.EnsureHiddenFilesystem("vmpool/legacy", false));
    ASSERT_OK(w_.fake.CreateVolume("vmpool/legacy/disk0", kMiB, kDefaultVolblocksize, {}));
    ASSERT_OK(w_.fake.Clone("vmpool/byhand-clone", "vmpool/byhand@before", {}));
    ASSERT_OK(w_.vm().Create(VolumeParams("managed", kMiB, kId1)));
    w_.devices.ClearCalls();
  }
  // `call` refused with `code` and a message with `text`; ZFS unchanged.
  template <typename Call>
  void ExpectRefused(Call call, absl::StatusCode code, const std::string& text) {
    const std::string before = w_.fake.Dump();
    EXPECT_THAT(call(), StatusIs(code, HasSubstr(text)));
    EXPECT_EQ(w_.fake.Dump(), before);
  }
  World w_;
};

TEST_F(VolumeAdoptionTest, AZvolInPlaceGetsItsMarksAndKeepsDataAndSnapshots) {
  auto events = w_.vm().volume_events().Subscribe(16);
  absl::StatusOr<VolumeInfo> adopted = w_.vm().AdoptVolume(Adopt("vmpool/byhand", "", kId2));
  ASSERT_OK(adopted);
  EXPECT_EQ(adopted->id, kId2);
  EXPECT_EQ(adopted->name, "byhand");
  EXPECT_EQ(adopted->path, World::Device("byhand"));
  ASSERT_EQ(adopted->snapshots.size(), 1u);
  EXPECT_EQ(adopted->snapshots[0].name, "before");
  absl::StatusOr<VolumeProps> props = w_.fake.GetVolume("vmpool/byhand");
  ASSERT_OK(props);
  EXPECT_EQ(props->user_props, (UserProps{{"mvirt:id", kId2}, {"mvirt:kind", "volume"}}));
  EXPECT_EQ(w_.fake.ReadData("vmpool/byhand").value_or(""), "data by hand");
  std::optional<VolumeEventInfo> event = events->Next();
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->volume_id, kId2);
  // Now it is a volume like any other, and a retry is OK.
  EXPECT_OK(w_.vm().Get("byhand"));
  EXPECT_THAT(w_.vm().AdoptVolume(Adopt("vmpool/byhand", "", kId2)), IsOkAndHolds(::testing::_));
  EXPECT_THAT(
      w_.vm().AdoptVolume(Adopt("vmpool/byhand", "", kId3)),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("managed by mvirt-zfs already")));
}

TEST_F(VolumeAdoptionTest, ANestedZvolIsRenamedIntoTheVolumeNamespace) {
  // A retry whose rename fails leaves the marks it found.
  const std::string marked = w_.fake.Dump();
  w_.zfs.Reset();
  w_.zfs.FailCall(ZfsCall::kRename, 1, absl::InternalError("injected"));
  EXPECT_THAT(w_.vm().AdoptVolume(Adopt("vmpool/legacy/disk0", "vm1-root", kId2)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("injected")));
  EXPECT_EQ(w_.fake.Dump(), marked);
  w_.zfs.Reset();
  absl::StatusOr<VolumeInfo> adopted =
      w_.vm().AdoptVolume(Adopt("vmpool/legacy/disk0", "vm1-root", kId2));
  ASSERT_OK(adopted);
  EXPECT_EQ(adopted->name, "vm1-root");
  EXPECT_FALSE(w_.fake.Exists("vmpool/legacy/disk0"));
  EXPECT_TRUE(w_.fake.Exists("vmpool/vm1-root"));
  EXPECT_THAT(w_.devices.calls(),
              ::testing::IsSupersetOf({"WaitGone " + ZvolDevicePath("vmpool/legacy/disk0"),
                                       "WaitReady " + World::Device("vm1-root")}));
  // A retry naming the id after it completed.
  absl::StatusOr<VolumeInfo> again =
      w_.vm().AdoptVolume(Adopt("vmpool/legacy/disk0", "vm1-root", kId2));
  ASSERT_OK(again);
  EXPECT_EQ(again->id, kId2);
  EXPECT_THAT(w_.vm().AdoptVolume(Adopt("vmpool/legacy/disk0", "vm1-root", kId3)),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(VolumeAdoptionTest, RefusalsChangeNothing) {
  using absl::StatusCode;
  auto adopt = [&](AdoptVolumeParams p) { return [this, p] { return w_.vm().AdoptVolume(p); }; };
  ExpectRefused(adopt(Adopt("otherpool/byhand")), StatusCode::kInvalidArgument, "in pool 'vmpool'");
  ExpectRefused(adopt(Adopt("vmpool")), StatusCode::kInvalidArgument, "dataset name");
  ExpectRefused(adopt(Adopt("vmpool/byhand@before")), StatusCode::kInvalidArgument, "dataset name");
  ExpectRefused(adopt(Adopt("vmpool/.mvirt/creating/x", "x")), StatusCode::kInvalidArgument,
                "own namespace");
  ExpectRefused(adopt(Adopt("vmpool/legacy/disk0")), StatusCode::kInvalidArgument, "give new_name");
  ExpectRefused(adopt(Adopt("vmpool/byhand", "bad/name")), StatusCode::kInvalidArgument, "name");
  ExpectRefused(adopt(Adopt("vmpool/byhand", "", "not-a-uuid")), StatusCode::kInvalidArgument,
                "id");
  ExpectRefused(adopt(Adopt("vmpool/nothing")), StatusCode::kNotFound, "no such zvol");
  ExpectRefused(adopt(Adopt("vmpool/legacy", "x")), StatusCode::kInvalidArgument, "not a zvol");
  ExpectRefused(adopt(Adopt("vmpool/byhand", "managed")), StatusCode::kAlreadyExists,
                "'managed' exists");
  ExpectRefused(adopt(Adopt("vmpool/byhand", "", kId1)), StatusCode::kAlreadyExists,
                "already belongs to volume 'managed'");
  ExpectRefused(adopt(Adopt("vmpool/managed", "other")), StatusCode::kAlreadyExists,
                "managed by mvirt-zfs already");
  // A clone of an unmanaged snapshot, unless told.
  ExpectRefused(adopt(Adopt("vmpool/byhand-clone")), StatusCode::kFailedPrecondition,
                "clone of 'vmpool/byhand@before', which mvirt-zfs does not manage");
  // An open device, unless told (and never with a rename).
  w_.devices.SetHolders(World::Device("byhand"), {{4242, "qemu-system-x86"}});
  ExpectRefused(adopt(Adopt("vmpool/byhand")), StatusCode::kFailedPrecondition,
                "in use by pid 4242 (qemu-system-x86)");
  AdoptVolumeParams open_renamed = Adopt("vmpool/byhand", "renamed");
  open_renamed.allow_open = true;
  ExpectRefused(adopt(open_renamed), StatusCode::kInvalidArgument, "allow_open cannot be combined");
  AdoptVolumeParams open = Adopt("vmpool/byhand");
  open.allow_open = true;
  EXPECT_OK(w_.vm().AdoptVolume(open));
  // Its origin managed now, the clone is adopted without being told.
  EXPECT_OK(w_.vm().AdoptVolume(Adopt("vmpool/byhand-clone")));
}

TEST_F(VolumeAdoptionTest, AFailedMarkOrRenameIsUndone) {
  const std::string before = w_.fake.Dump();
  w_.zfs.Reset();
  w_.zfs.FailCall(ZfsCall::kSetProperty, 2, absl::InternalError("injected"));
  EXPECT_THAT(w_.vm().AdoptVolume(Adopt("vmpool/legacy/disk0", "vm1-root")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("injected")));
  EXPECT_EQ(w_.fake.Dump(), before);
  w_.zfs.Reset();
  w_.zfs.FailCall(ZfsCall::kRename, 1, absl::InternalError("injected"));
  EXPECT_THAT(w_.vm().AdoptVolume(Adopt("vmpool/legacy/disk0", "vm1-root")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("injected")));
  absl::StatusOr<VolumeProps> props = w_.fake.GetVolume("vmpool/legacy/disk0");
  ASSERT_OK(props);
  EXPECT_THAT(props->user_props, IsEmpty()) << "its marks removed again";
}

TEST_F(VolumeAdoptionTest, ARetryAfterACrashBetweenMarksAndRenameRenamesIt) {
  // What a crash at "adopt/marked" leaves: the zvol marked where it was.
  ASSERT_OK(w_.fake.SetProperty("vmpool/legacy/disk0", "mvirt:kind", "volume"));
  ASSERT_OK(w_.fake.SetProperty("vmpool/legacy/disk0", "mvirt:id", kId2));
  EXPECT_THAT(w_.vm().AdoptVolume(Adopt("vmpool/legacy/disk0", "vm1-root", kId3)),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(kId2)));
  absl::StatusOr<VolumeInfo> adopted =
      w_.vm().AdoptVolume(Adopt("vmpool/legacy/disk0", "vm1-root", kId2));
  ASSERT_OK(adopted);
  EXPECT_EQ(adopted->name, "vm1-root");
  EXPECT_EQ(adopted->id, kId2);
  EXPECT_FALSE(w_.fake.Exists("vmpool/legacy/disk0"));
}

TEST_F(VolumeAdoptionTest, ReleaseDropsEveryMarkAndOurHoldsAndKeepsTheRest) {
  ASSERT_OK(w_.vm().CreateSnapshot("managed", "s1"));
  ASSERT_OK(w_.fake.WriteData(World::Dataset("managed"), "kept"));
  ASSERT_OK(w_.fake.Hold(World::Dataset("managed") + "@s1", kReplicationBaseHold));
  ASSERT_OK(w_.fake.Hold(World::Dataset("managed") + "@s1", "backup-tool"));
  ExpectRefused([&] { return w_.vm().ReleaseVolume("managed", kId2).status(); },
                absl::StatusCode::kFailedPrecondition, "is id " + std::string(kId1));
  ExpectRefused([&] { return w_.vm().ReleaseVolume("byhand", "").status(); },
                absl::StatusCode::kNotFound, "not managed");
  auto events = w_.vm().volume_events().Subscribe(16);
  EXPECT_THAT(w_.vm().ReleaseVolume("managed", kId1), IsOkAndHolds(World::Dataset("managed")));
  absl::StatusOr<VolumeProps> props = w_.fake.GetVolume(World::Dataset("managed"));
  ASSERT_OK(props);
  EXPECT_THAT(props->user_props, IsEmpty());
  absl::StatusOr<SnapshotProps> snap = w_.fake.GetSnapshot(World::Dataset("managed") + "@s1");
  ASSERT_OK(snap);
  EXPECT_THAT(snap->user_props, IsEmpty());
  EXPECT_THAT(w_.fake.Holds(snap->name), IsOkAndHolds(::testing::ElementsAre("backup-tool")));
  EXPECT_EQ(w_.fake.ReadData(World::Dataset("managed")).value_or(""), "kept");
  std::optional<VolumeEventInfo> event = events->Next();
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->volume_id, kId1);
  EXPECT_FALSE(event->volume.has_value()) << "gone from the daemon's view";
  EXPECT_THAT(w_.vm().Get("managed"), StatusIs(absl::StatusCode::kNotFound));
  // Adopted back with its id, it is the same volume again.
  EXPECT_OK(w_.vm().AdoptVolume(Adopt(World::Dataset("managed"), "", kId1)));
}

TEST_F(VolumeAdoptionTest, AReleaseCutShortIsFinishedByItsRetry) {
  ASSERT_OK(w_.vm().CreateSnapshot("managed", "s1"));
  // The id goes, then clearing a snapshot's marks fails.
  w_.zfs.Reset();
  w_.zfs.FailCall(ZfsCall::kClearUserProperty, 2, absl::InternalError("injected"));
  EXPECT_THAT(w_.vm().ReleaseVolume("managed", ""),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("no longer managed")));
  EXPECT_THAT(w_.vm().Get("managed"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_OK(w_.vm().ReleaseVolume("managed", ""));
  absl::StatusOr<VolumeProps> props = w_.fake.GetVolume(World::Dataset("managed"));
  ASSERT_OK(props);
  EXPECT_THAT(props->user_props, IsEmpty());
  EXPECT_THAT(w_.vm().ReleaseVolume("managed", ""), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace mvirt::zfs::testing
