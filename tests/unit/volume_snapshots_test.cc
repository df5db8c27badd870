// VolumeManager's snapshots, rollback and clones (volume_snapshots.cc) on
// FakeZfs and fake devices.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>

#include "status_matchers.h"
#include "volume/volume_manager.h"
#include "volume_test_world.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class VolumeSnapshotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(w_.vm().Create(VolumeParams("a", kMiB, kId1)));
    ASSERT_OK(w_.vm().Create(VolumeParams("b", kMiB, kId2)));
    w_.zfs.Reset();
    w_.devices.ClearCalls();
  }
  std::vector<std::string> SnapshotNames(const std::string& volume) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<SnapshotInfo>> snaps = w_.vm().ListSnapshots(volume);
    EXPECT_OK(snaps);
    if (snaps.ok()) {
      for (const SnapshotInfo& s : *snaps) out.push_back(s.name);
    }
    return out;
  }
  World w_;
};

TEST_F(VolumeSnapshotsTest, CreateSnapshotsValidatesBeforeTouchingZfs) {
  EXPECT_THAT(w_.vm().CreateSnapshots({}, "s"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(w_.vm().CreateSnapshots({"a", "a"}, "s"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("named twice")));
  EXPECT_THAT(w_.vm().CreateSnapshots({"a"}, "bad@name"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(w_.zfs.calls(), IsEmpty());
}

TEST_F(VolumeSnapshotsTest, CreateSnapshotsIsAllOrNothing) {
  const std::string before = w_.fake.Dump();
  EXPECT_THAT(w_.vm().CreateSnapshots({"a", "missing"}, "s"),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(w_.vm().CreateSnapshot("b", "s"));
  const std::string with_b = w_.fake.Dump();
  EXPECT_THAT(w_.vm().CreateSnapshots({"a", "b"}, "s"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("vmpool/b@s")));
  EXPECT_EQ(w_.fake.Dump(), with_b);
  EXPECT_NE(before, with_b);
}

TEST_F(VolumeSnapshotsTest, SnapshotsOfOneCallShareAGroupAndEachHasItsOwnId) {
  absl::StatusOr<std::vector<SnapshotInfo>> taken = w_.vm().CreateSnapshots({"b", "a"}, "s");
  ASSERT_OK(taken);
  ASSERT_EQ(taken->size(), 2u);
  EXPECT_EQ((*taken)[0].full_name, "vmpool/b@s");
  EXPECT_NE((*taken)[0].id, (*taken)[1].id);
  absl::StatusOr<SnapshotProps> a = w_.fake.GetSnapshot("vmpool/a@s");
  absl::StatusOr<SnapshotProps> b = w_.fake.GetSnapshot("vmpool/b@s");
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->user_props.at(kSnapshotGroupProperty), b->user_props.at(kSnapshotGroupProperty));
  EXPECT_EQ(a->user_props.at(kIdProperty), (*taken)[1].id);
}

TEST_F(VolumeSnapshotsTest, ASingleSnapshotGetsItsIdInTheSameCall) {
  absl::StatusOr<SnapshotInfo> s = w_.vm().CreateSnapshot("a", "s");
  ASSERT_OK(s);
  absl::StatusOr<SnapshotProps> props = w_.fake.GetSnapshot("vmpool/a@s");
  ASSERT_OK(props);
  EXPECT_EQ(props->user_props.at(kIdProperty), s->id);
  for (const ZfsCallRecord& call : w_.zfs.calls()) {
    EXPECT_NE(call.call, ZfsCall::kSetProperty) << "no second step that a crash could cut off";
  }
}

TEST_F(VolumeSnapshotsTest, ASnapshotOfAGroupIsOneZfsCallWithAnIdForEachAndOneForTheGroup) {
  w_.zfs.Reset();
  absl::StatusOr<std::vector<SnapshotInfo>> s = w_.vm().CreateSnapshots({"b", "a"}, "s");
  ASSERT_OK(s);
  EXPECT_THAT(Mutations(w_.zfs.calls()), ElementsAre("TakeSnapshots vmpool/b@s"));
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].full_name, "vmpool/b@s");  // in the order asked
  absl::StatusOr<SnapshotProps> a = w_.fake.GetSnapshot("vmpool/a@s");
  absl::StatusOr<SnapshotProps> b = w_.fake.GetSnapshot("vmpool/b@s");
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(b->user_props.at(kIdProperty), (*s)[0].id);
  EXPECT_EQ(a->user_props.at(kIdProperty), (*s)[1].id);
  EXPECT_NE((*s)[0].id, (*s)[1].id);
  EXPECT_EQ(a->user_props.at(kSnapshotGroupProperty), b->user_props.at(kSnapshotGroupProperty));
}

TEST_F(VolumeSnapshotsTest, ASnapshotMadeByHandUsesItsGuidAsItsId) {
  ASSERT_OK(w_.fake.Snapshot({"vmpool/a@by-hand"}, {}));
  absl::StatusOr<std::vector<SnapshotInfo>> listed = w_.vm().ListSnapshots("a");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, std::to_string(w_.fake.GetSnapshot("vmpool/a@by-hand")->guid));
}

TEST_F(VolumeSnapshotsTest, ASnapshotOfAVolumeThatIsNotOursSaysWhichAndTakesNone) {
  ASSERT_OK(w_.fake.CreateVolume("vmpool/foreign", kMiB, kDefaultVolblocksize, {}));
  const std::string before = w_.fake.Dump();
  EXPECT_THAT(w_.vm().CreateSnapshots({"a", "foreign"}, "s"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("zvol 'vmpool/foreign' exists but is not managed")));
  EXPECT_THAT(w_.vm().CreateSnapshots({"a", "nope"}, "s"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no volume 'nope'")));
  EXPECT_EQ(w_.fake.Dump(), before);
}

TEST_F(VolumeSnapshotsTest, DeleteSnapshotNamesWhatDependsOnIt) {
  ASSERT_OK(w_.vm().CreateSnapshot("a", "s1"));
  ASSERT_OK(w_.vm().CreateSnapshot("a", "s2"));
  ASSERT_OK(w_.vm().CloneVolume("a", "s1", CloneParams("c", kId3)));
  ASSERT_OK(w_.fake.Hold("vmpool/a@s2", "backup"));
  EXPECT_THAT(w_.vm().DeleteSnapshot("a", "s1"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("vmpool/c (clone of")));
  EXPECT_THAT(w_.vm().DeleteSnapshot("a", "s2"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("(held: 'backup')")));
  EXPECT_THAT(w_.vm().DeleteSnapshot("a", "nope"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(w_.fake.Release("vmpool/a@s2", "backup"));
  EXPECT_OK(w_.vm().DeleteSnapshot("a", "s2"));
  EXPECT_THAT(SnapshotNames("a"), ElementsAre("s1"));
}

TEST_F(VolumeSnapshotsTest, RollbackRestoresDataAndVolsizeAndDropsTheCache) {
  ASSERT_OK(w_.fake.WriteData("vmpool/a", "old"));
  ASSERT_OK(w_.vm().CreateSnapshot("a", "s1"));
  ASSERT_OK(w_.vm().Resize("a", 2 * kMiB));
  ASSERT_OK(w_.fake.WriteData("vmpool/a", "new"));
  ASSERT_OK(w_.vm().CreateSnapshot("a", "s2"));
  w_.devices.ClearCalls();
  absl::StatusOr<VolumeInfo> v = w_.vm().Rollback("a", "s1");
  ASSERT_OK(v);
  EXPECT_EQ(v->volsize_bytes, kMiB);
  EXPECT_EQ(*w_.fake.ReadData("vmpool/a"), "old");
  EXPECT_THAT(SnapshotNames("a"), ElementsAre("s1"));
  EXPECT_THAT(w_.devices.calls(),
              ElementsAre("WaitReady /dev/zvol/vmpool/a", "InvalidateCache /dev/zvol/vmpool/a"));
}

TEST_F(VolumeSnapshotsTest, RollbackRefusalsNameTheCauseAndChangeNothing) {
  ASSERT_OK(w_.vm().CreateSnapshot("a", "s1"));
  ASSERT_OK(w_.vm().CreateSnapshot("a", "s2"));
  ASSERT_OK(w_.vm().CloneVolume("a", "s2", CloneParams("c", kId3)));
  std::string before = w_.fake.Dump();
  EXPECT_THAT(w_.vm().Rollback("a", "s1"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("depended on by vmpool/c (clone of vmpool/a@s2)")));
  EXPECT_EQ(w_.fake.Dump(), before);

  ASSERT_OK(w_.vm().Delete("c"));
  w_.fake.SetOpen("vmpool/a", true);
  w_.devices.SetHolders(World::Device("a"), {{7, "qemu"}});
  before = w_.fake.Dump();
  absl::Status busy = w_.vm().Rollback("a", "s1").status();
  EXPECT_TRUE(IsBusy(busy));
  EXPECT_THAT(busy, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("pid 7 (qemu)")));
  EXPECT_EQ(w_.fake.Dump(), before);

  w_.fake.SetOpen("vmpool/a", false);
  ASSERT_OK(w_.fake.Bookmark("vmpool/a@s2", "vmpool/a#mark"));
  before = w_.fake.Dump();
  EXPECT_THAT(w_.vm().Rollback("a", "s1"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("vmpool/a#mark")));
  EXPECT_THAT(w_.vm().Rollback("a", "nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(w_.fake.Dump(), before);
}

TEST_F(VolumeSnapshotsTest, RollbackWhoseDeviceDoesNotReturnIsDoneButSaysSo) {
  ASSERT_OK(w_.vm().CreateSnapshot("a", "s1"));
  ASSERT_OK(w_.vm().CreateSnapshot("a", "s2"));
  w_.devices.SetNeverReady(true);
  EXPECT_THAT(w_.vm().Rollback("a", "s1"), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(SnapshotNames("a"), ElementsAre("s1"));
  EXPECT_THAT(w_.devices.calls(), Not(::testing::Contains(HasSubstr("InvalidateCache"))));
}

TEST_F(VolumeSnapshotsTest, CloneStartsAtTheSnapshotSizeAndMayOnlyGrow) {
  ASSERT_OK(w_.vm().CreateSnapshot("a", "s"));
  EXPECT_THAT(w_.vm().CloneVolume("a", "s", CloneParams("c", kId3, kMiB / 2)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("may only grow")));
  EXPECT_THAT(w_.vm().CloneVolume("a", "nope", CloneParams("c", kId3)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(w_.vm().CloneVolume("missing", "s", CloneParams("c", kId3)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      w_.vm().CloneVolume("a", "s", CloneParams("c", kId2)),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already belongs to volume 'b'")));
  w_.zfs.Reset();
  absl::StatusOr<VolumeInfo> c = w_.vm().CloneVolume("a", "s", CloneParams("c", kId3, 2 * kMiB));
  ASSERT_OK(c);
  EXPECT_EQ(c->volsize_bytes, 2 * kMiB);
  const std::string staging = std::string("vmpool/.mvirt/creating/c-") + kId3;
  EXPECT_THAT(Mutations(w_.zfs.calls()),
              ElementsAre("Clone " + staging, "SetVolsize " + staging, "Rename " + staging));
  absl::StatusOr<VolumeProps> props = w_.fake.GetVolume("vmpool/c");
  ASSERT_OK(props);
  EXPECT_EQ(props->origin, "vmpool/a@s");
}

TEST_F(VolumeSnapshotsTest, ACloneWhoseDeviceDoesNotAppearIsLeftForARetry) {
  ASSERT_OK(w_.vm().CreateSnapshot("a", "s"));
  w_.devices.SetNeverReady(true);
  EXPECT_THAT(w_.vm().CloneVolume("a", "s", CloneParams("c", kId3)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("retry the call")));
  absl::StatusOr<VolumeProps> props = w_.fake.GetVolume("vmpool/c");
  ASSERT_OK(props);
  EXPECT_EQ(props->user_props.at(kIdProperty), kId3);
  w_.devices.SetNeverReady(false);
  w_.zfs.Reset();
  EXPECT_OK(w_.vm().CloneVolume("a", "s", CloneParams("c", kId3)));
  EXPECT_THAT(Mutations(w_.zfs.calls()), IsEmpty());
}

TEST_F(VolumeSnapshotsTest, CloneIsIdempotentForTheSameIdOriginAndSize) {
  ASSERT_OK(w_.vm().CreateSnapshot("a", "s"));
  ASSERT_OK(w_.vm().CloneVolume("a", "s", CloneParams("c", kId3)));
  w_.zfs.Reset();
  EXPECT_OK(w_.vm().CloneVolume("a", "s", CloneParams("c", kId3)));
  EXPECT_THAT(Mutations(w_.zfs.calls()), IsEmpty());
  EXPECT_THAT(w_.vm().CloneVolume("a", "s", CloneParams("c", kId3, 2 * kMiB)),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(w_.vm().CloneVolume("a", "s", CloneParams("c", "")),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(w_.vm().CloneVolume("a", "s", CloneParams("a", kId1)),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

}  // namespace
}  // namespace mvirt::zfs::testing

namespace mvirt::zfs::testing {
namespace {

// The daemon's way: a snapshot's event is published after the call returned.
class SnapshotEventsAfterReturnTest : public ::testing::Test {
 protected:
  SnapshotEventsAfterReturnTest() {
    VolumeManagerOptions options;
    options.pool = kPool;
    options.device_timeout = absl::Milliseconds(20);
    options.publish_snapshot_events_after_return = true;
    vm_ = std::make_unique<VolumeManager>(w_.zfs, w_.devices, options);
    events_ = vm_->volume_events().Subscribe(1000);
  }
  // The next event, waiting up to 30 s for it.
  std::optional<VolumeEventInfo> NextEvent() {
    for (int i = 0; i < 30000; ++i) {
      if (std::optional<VolumeEventInfo> e = events_->Next()) return e;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return std::nullopt;
  }

  World w_;
  std::unique_ptr<VolumeManager> vm_;
  std::shared_ptr<Broadcaster<VolumeEventInfo>::Subscription> events_;
};

TEST_F(SnapshotEventsAfterReturnTest, TheEventComesWithoutAnotherCall) {
  ASSERT_OK(vm_->Create(VolumeParams("v", kMiB, kId1)));
  ASSERT_TRUE(NextEvent().has_value());
  ASSERT_OK(vm_->CreateSnapshot("v", "s"));
  std::optional<VolumeEventInfo> e = NextEvent();
  ASSERT_TRUE(e.has_value() && e->volume.has_value());
  ASSERT_EQ(e->volume->snapshots.size(), 1u);
  EXPECT_EQ(e->volume->snapshots[0].name, "s");
}

TEST_F(SnapshotEventsAfterReturnTest, EachCallsEventKeepsItsPlaceWhoeverPublishesIt) {
  // The next call on the volume may come before the publisher: it then
  // publishes the owed event first. Either way: one event per call, in
  // order, each with the state that call left.
  for (int round = 0; round < 20; ++round) {
    ASSERT_OK(vm_->Create(VolumeParams("v", kMiB, kId1)));
    ASSERT_OK(vm_->CreateSnapshot("v", "s1"));
    ASSERT_OK(vm_->CreateSnapshot("v", "s2"));
    ASSERT_OK(vm_->Delete("v"));
  }
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(round);
    for (size_t snapshots = 0; snapshots < 3; ++snapshots) {
      std::optional<VolumeEventInfo> e = NextEvent();
      ASSERT_TRUE(e.has_value() && e->volume.has_value());
      EXPECT_EQ(e->volume->snapshots.size(), snapshots);
    }
    std::optional<VolumeEventInfo> deleted = NextEvent();
    ASSERT_TRUE(deleted.has_value());
    EXPECT_FALSE(deleted->volume.has_value());
    EXPECT_EQ(deleted->volume_id, kId1);
  }
  EXPECT_EQ(events_->Next(), std::nullopt) << "no event twice";
}

}  // namespace
}  // namespace mvirt::zfs::testing
