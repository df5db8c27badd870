// The contract tests of Zfs (see zfs_contract.h): creation and reads,
// snapshots, the all-or-nothing destroys and rollbacks, rename, clone,
// deferred destruction, properties, copies. Include in one file per binary.
#ifndef MVIRT_ZFS_TESTS_UNIT_ZFS_CONTRACT_TESTS_H_
#define MVIRT_ZFS_TESTS_UNIT_ZFS_CONTRACT_TESTS_H_

#include "zfs_contract.h"

namespace mvirt::zfs::testing {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// --- Creation and reads ---

TEST_P(ZfsContractTest, CreatedVolumeReadsBackSparseWithItsLocalProperties) {
  const std::string v = Ds("v");
  MakeVolume(v, kSize, {{"mvirt:id", "id-1"}, {"mvirt:kind", "volume"}});
  absl::StatusOr<VolumeProps> props = zfs().GetVolume(v);
  ASSERT_OK(props);
  EXPECT_EQ(props->name, v);
  EXPECT_EQ(props->volsize, kSize);
  EXPECT_EQ(props->volblocksize, kBlock);
  EXPECT_EQ(props->refreservation, 0u);
  EXPECT_EQ(props->origin, "");
  EXPECT_GT(props->createtxg, 0u);
  EXPECT_NE(props->guid, 0u);
  EXPECT_EQ(props->user_props, (UserProps{{"mvirt:id", "id-1"}, {"mvirt:kind", "volume"}}));
  EXPECT_TRUE(zfs().Exists(v));
  EXPECT_FALSE(zfs().Exists(Ds("missing")));
  EXPECT_EQ(env().ReadData(v), "");  // a new zvol reads as zeros
}

TEST_P(ZfsContractTest, ListVolumesListsDirectChildZvolsInNameOrder) {
  MakeVolume(Ds("b"));
  MakeVolume(Ds("a"));
  MakeVolume(Ds("c"));
  ASSERT_OK(zfs().EnsureHiddenFilesystem(Ds("fs"), /*zvol_devices=*/true));
  MakeVolume(Ds("fs/nested"));
  absl::StatusOr<std::vector<VolumeProps>> top = zfs().ListVolumes(env().root());
  ASSERT_OK(top);
  std::vector<std::string> names;
  for (const VolumeProps& v : *top) names.push_back(v.name);
  EXPECT_THAT(names, ElementsAre(Ds("a"), Ds("b"), Ds("c")));
  absl::StatusOr<std::vector<VolumeProps>> nested = zfs().ListVolumes(Ds("fs"));
  ASSERT_OK(nested);
  ASSERT_EQ(nested->size(), 1u);
  EXPECT_EQ(nested->front().name, Ds("fs/nested"));
  EXPECT_THAT(zfs().ListVolumes(Ds("missing")), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(ZfsContractTest, ScanVolumesReadsEachDirectChildZvolsLocalIdAndVolsize) {
  MakeVolume(Ds("b"), 2 * kSize, {{"mvirt:id", "id-b"}});
  MakeVolume(Ds("a"), kSize, {{"other:prop", "x"}});
  ASSERT_OK(zfs().EnsureHiddenFilesystem(Ds("fs"), /*zvol_devices=*/true));
  MakeVolume(Ds("fs/own"), kSize, {{"mvirt:id", "id-own"}});
  MakeVolume(Ds("fs/inherits"), kSize, {});
  Snap(Ds("b@s"));
  ASSERT_OK(zfs().SetVolsize(Ds("a"), 3 * kSize));
  // Set on the parent after the children exist: fs/inherits now inherits an
  // id, which is not its own.
  ASSERT_OK(zfs().SetProperty(Ds("fs"), "mvirt:id", "id-fs"));

  absl::StatusOr<std::vector<VolumeDigest>> top = zfs().ScanVolumes(env().root(), "mvirt:id");
  ASSERT_OK(top);
  EXPECT_THAT(*top, ElementsAre(VolumeDigest{Ds("a"), "", 3 * kSize},
                                VolumeDigest{Ds("b"), "id-b", 2 * kSize}));
  absl::StatusOr<std::vector<VolumeDigest>> nested = zfs().ScanVolumes(Ds("fs"), "mvirt:id");
  ASSERT_OK(nested);
  EXPECT_THAT(*nested, ElementsAre(VolumeDigest{Ds("fs/inherits"), "", kSize},
                                   VolumeDigest{Ds("fs/own"), "id-own", kSize}));
  absl::StatusOr<std::vector<VolumeDigest>> other = zfs().ScanVolumes(Ds("fs"), "other:prop");
  ASSERT_OK(other);
  EXPECT_EQ(other->front().id, "");
  EXPECT_THAT(zfs().ScanVolumes(Ds("missing"), "mvirt:id"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(Ds("missing"))));
}

TEST_P(ZfsContractTest, ScanVolumesNamedReadsOnlyTheNamedZvolsDirectlyUnderTheParent) {
  MakeVolume(Ds("b"), 2 * kSize, {{"mvirt:id", "id-b"}});
  MakeVolume(Ds("a"), kSize, {});
  MakeVolume(Ds("c"), kSize, {{"mvirt:id", "id-c"}});
  ASSERT_OK(zfs().EnsureHiddenFilesystem(Ds("fs"), /*zvol_devices=*/true));
  MakeVolume(Ds("fs/deep"), kSize, {{"mvirt:id", "id-deep"}});
  Snap(Ds("b@s"));
  absl::StatusOr<std::vector<VolumeDigest>> named = zfs().ScanVolumesNamed(
      env().root(), {Ds("b"), Ds("a"), Ds("fs"), Ds("fs/deep"), Ds("b@s"), Ds("missing")},
      "mvirt:id");
  ASSERT_OK(named);
  EXPECT_THAT(*named, ElementsAre(VolumeDigest{Ds("a"), "", kSize},
                                  VolumeDigest{Ds("b"), "id-b", 2 * kSize}));
  EXPECT_THAT(zfs().ScanVolumesNamed(env().root(), {}, "mvirt:id"), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(zfs().ScanVolumesNamed(Ds("missing"), {Ds("missing/x")}, "mvirt:id"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(Ds("missing"))));
}

TEST_P(ZfsContractTest, GetVolumeTellsMissingFromNotAVolume) {
  ASSERT_OK(zfs().EnsureHiddenFilesystem(Ds("fs"), /*zvol_devices=*/true));
  MakeVolume(Ds("v"));
  Snap(Ds("v@s"));
  EXPECT_THAT(zfs().GetVolume(Ds("missing")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(Ds("missing"))));
  EXPECT_THAT(zfs().GetVolume(Ds("fs")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a volume")));
  EXPECT_THAT(zfs().GetVolume(Ds("v@s")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(zfs().GetSnapshot(Ds("v@missing")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(Ds("v@missing"))));
  EXPECT_THAT(zfs().ListSnapshots(Ds("missing")), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(ZfsContractTest, CreateRefusesATakenNameAndAMissingParent) {
  const std::string v = Ds("v");
  MakeVolume(v);
  ASSERT_OK(zfs().EnsureHiddenFilesystem(Ds("fs"), /*zvol_devices=*/true));
  EXPECT_THAT(zfs().CreateVolume(v, 2 * kSize, kBlock, {}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(v)));
  EXPECT_THAT(zfs().CreateVolume(Ds("fs"), kSize, kBlock, {}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(zfs().CreateVolume(Ds("missing/v"), kSize, kBlock, {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(Ds("missing/v"))));
  absl::StatusOr<VolumeProps> props = zfs().GetVolume(v);
  ASSERT_OK(props);
  EXPECT_EQ(props->volsize, kSize);
}

// --- Snapshots ---

TEST_P(ZfsContractTest, SnapshotsAreListedByCreatetxgWithTheirVolsize) {
  const std::string v = Ds("v");
  MakeVolume(v);
  Snap(v + "@z");
  Snap(v + "@m");
  ASSERT_OK(zfs().SetVolsize(v, 2 * kSize));
  Snap(v + "@a");
  absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs().ListSnapshots(v);
  ASSERT_OK(snaps);
  EXPECT_THAT(SnapshotNames(v), ElementsAre("z", "m", "a"));
  ASSERT_EQ(snaps->size(), 3u);
  EXPECT_LT((*snaps)[0].createtxg, (*snaps)[1].createtxg);
  EXPECT_LT((*snaps)[1].createtxg, (*snaps)[2].createtxg);
  EXPECT_EQ((*snaps)[1].volsize, kSize);
  EXPECT_EQ((*snaps)[2].volsize, 2 * kSize);
  absl::StatusOr<SnapshotProps> m = zfs().GetSnapshot(v + "@m");
  ASSERT_OK(m);
  EXPECT_EQ(m->createtxg, (*snaps)[1].createtxg);
  EXPECT_EQ(m->userrefs, 0u);
  EXPECT_THAT(m->clones, IsEmpty());
  EXPECT_THAT(zfs().Snapshot({v + "@m"}, {}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(v + "@m")));
}

TEST_P(ZfsContractTest, SnapshotOfSeveralIsAllOrNothing) {
  const std::string v1 = Ds("v1"), v2 = Ds("v2");
  MakeVolume(v1);
  MakeVolume(v2);
  Snap(v2 + "@s");
  EXPECT_THAT(zfs().Snapshot({v1 + "@s", v2 + "@s"}, {}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(v2 + "@s")));
  EXPECT_FALSE(zfs().Exists(v1 + "@s"));
  EXPECT_THAT(zfs().Snapshot({v1 + "@x", Ds("missing@x")}, {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(Ds("missing@x"))));
  EXPECT_FALSE(zfs().Exists(v1 + "@x"));
  EXPECT_THAT(zfs().Snapshot({v1 + "@u", v1 + "@w"}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(zfs().Exists(v1 + "@u"));

  ASSERT_OK(zfs().Snapshot({v1 + "@t", v2 + "@t"}, {{"mvirt:group", "g"}}));
  absl::StatusOr<SnapshotProps> t1 = zfs().GetSnapshot(v1 + "@t");
  absl::StatusOr<SnapshotProps> t2 = zfs().GetSnapshot(v2 + "@t");
  ASSERT_OK(t1);
  ASSERT_OK(t2);
  EXPECT_EQ(t1->createtxg, t2->createtxg);  // one transaction group
  EXPECT_EQ(t1->user_props, (UserProps{{"mvirt:group", "g"}}));
  EXPECT_EQ(t2->user_props, (UserProps{{"mvirt:group", "g"}}));
}

TEST_P(ZfsContractTest, TakeSnapshotsChecksEveryVolumeFirstThenTakesAllWithTheirOwnProperties) {
  const std::string v1 = Ds("v1"), v2 = Ds("v2"), bare = Ds("bare"), fs = Ds("fs");
  const std::string mark = "mvirt:id";
  MakeVolume(v1, kSize, {{mark, "id-1"}});
  MakeVolume(v2, 2 * kSize, {{mark, "id-2"}});
  MakeVolume(bare);  // not marked
  ASSERT_OK(zfs().EnsureHiddenFilesystem(fs, /*zvol_devices=*/true));
  ASSERT_OK(zfs().SetProperty(fs, mark, "inherited"));
  MakeVolume(fs + "/v");  // marked only by inheritance
  Snap(v2 + "@s");
  auto one = [&](const std::string& name) { return NewSnapshot{name, {{"p:x", "y"}}}; };
  // Each refusal names the culprit and takes nothing, whatever its position.
  EXPECT_THAT(zfs().TakeSnapshots({one(v1 + "@a"), one(bare + "@a")}, mark),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(bare)));
  EXPECT_THAT(zfs().TakeSnapshots({one(v1 + "@a"), one(fs + "/v@a")}, mark),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(fs + "/v")));
  EXPECT_THAT(zfs().TakeSnapshots({one(v1 + "@a"), one(Ds("missing@a"))}, mark),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(Ds("missing"))));
  EXPECT_THAT(zfs().TakeSnapshots({one(fs + "@a")}, mark),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(fs)));  // not a zvol
  EXPECT_FALSE(zfs().Exists(v1 + "@a"));
  EXPECT_THAT(zfs().TakeSnapshots({one(v1 + "@s"), one(v2 + "@s")}, mark),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(v2 + "@s")));
  EXPECT_FALSE(zfs().Exists(v1 + "@s"));
  EXPECT_THAT(zfs().TakeSnapshots({one(v1 + "@u"), one(v1 + "@w")}, mark),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(zfs().Exists(v1 + "@u"));

  absl::StatusOr<std::vector<SnapshotProps>> taken =
      zfs().TakeSnapshots({{v2 + "@t", {{mark, "snap-2"}, {"mvirt:group", "g"}}},
                           {v1 + "@t", {{mark, "snap-1"}, {"mvirt:group", "g"}}}},
                          mark);
  ASSERT_OK(taken);
  ASSERT_EQ(taken->size(), 2u);
  EXPECT_EQ((*taken)[0].name, v2 + "@t");  // in the order given
  EXPECT_EQ((*taken)[1].name, v1 + "@t");
  EXPECT_EQ((*taken)[0].createtxg, (*taken)[1].createtxg);  // one transaction group
  EXPECT_EQ((*taken)[0].volsize, 2 * kSize);
  EXPECT_EQ((*taken)[1].volsize, kSize);
  // What it returned is what a later read sees.
  for (const SnapshotProps& t : *taken) {
    absl::StatusOr<SnapshotProps> read = zfs().GetSnapshot(t.name);
    ASSERT_OK(read);
    EXPECT_EQ(t.guid, read->guid);
    EXPECT_EQ(t.createtxg, read->createtxg);
    EXPECT_EQ(t.creation, read->creation);
    EXPECT_EQ(t.used, read->used);
    EXPECT_EQ(t.referenced, read->referenced);
    EXPECT_EQ(t.volsize, read->volsize);
    EXPECT_EQ(t.user_props, read->user_props);
    EXPECT_EQ(read->userrefs, 0u);
    EXPECT_THAT(read->clones, IsEmpty());
  }
  EXPECT_EQ((*taken)[1].user_props, (UserProps{{mark, "snap-1"}, {"mvirt:group", "g"}}));
}

TEST_P(ZfsContractTest, DestroySnapshotsIsAllOrNothingAndSkipsMissingOnes) {
  const std::string v = Ds("v");
  MakeVolume(v);
  Snap(v + "@s1");
  Snap(v + "@s2");
  ASSERT_OK(zfs().Clone(Ds("c"), v + "@s2", {}));
  EXPECT_THAT(zfs().DestroySnapshots({v + "@s1", v + "@s2"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(v + "@s2")));
  EXPECT_TRUE(zfs().Exists(v + "@s1"));
  env().Hold(v + "@s1", "keep");
  EXPECT_THAT(zfs().DestroySnapshots({v + "@s1"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(v + "@s1")));
  env().Release(v + "@s1", "keep");
  EXPECT_OK(zfs().DestroySnapshots({v + "@missing"}));
  EXPECT_OK(zfs().DestroySnapshots({v + "@s1", v + "@missing"}));
  EXPECT_THAT(SnapshotNames(v), ElementsAre("s2"));
}

// --- DestroyWithSnapshots: all or nothing ---

TEST_P(ZfsContractTest, DestroyWithSnapshotsRemovesTheDatasetAndItsSnapshots) {
  const std::string v = Ds("v");
  MakeVolume(v);
  Snap(v + "@s1");
  Snap(v + "@s2");
  MakeVolume(Ds("plain"));
  ASSERT_OK(zfs().DestroyWithSnapshots(v));
  ASSERT_OK(zfs().DestroyWithSnapshots(Ds("plain")));
  EXPECT_FALSE(zfs().Exists(v));
  EXPECT_FALSE(zfs().Exists(v + "@s1"));
  EXPECT_FALSE(zfs().Exists(Ds("plain")));
  EXPECT_THAT(zfs().DestroyWithSnapshots(v), StatusIs(absl::StatusCode::kNotFound, HasSubstr(v)));
}

TEST_P(ZfsContractTest, DestroyWithSnapshotsRefusesAClonedSnapshotChangingNothing) {
  const std::string v = Ds("v");
  MakeVolume(v);
  Snap(v + "@s1");
  Snap(v + "@s2");
  ASSERT_OK(zfs().Clone(Ds("c"), v + "@s2", {}));
  const std::string before = Describe({v, Ds("c")});
  absl::Status s = zfs().DestroyWithSnapshots(v);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition,
                          AllOf(HasSubstr(v + "@s2"), HasSubstr("clones"))));
  EXPECT_FALSE(IsBusy(s));
  EXPECT_EQ(Describe({v, Ds("c")}), before);
}

TEST_P(ZfsContractTest, DestroyWithSnapshotsRefusesAHeldSnapshotChangingNothing) {
  const std::string v = Ds("v");
  MakeVolume(v);
  Snap(v + "@s1");
  Snap(v + "@s2");
  env().Hold(v + "@s1", "keep");
  const std::string before = Describe({v});
  absl::Status s = zfs().DestroyWithSnapshots(v);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition,
                          AllOf(HasSubstr(v + "@s1"), HasSubstr("held"))));
  EXPECT_FALSE(IsBusy(s));
  EXPECT_EQ(Describe({v}), before);
  env().Release(v + "@s1", "keep");
  EXPECT_OK(zfs().DestroyWithSnapshots(v));
}

TEST_P(ZfsContractTest, DestroyWithSnapshotsRefusesAnOpenDeviceChangingNothing) {
  const std::string with = Ds("with"), without = Ds("without");
  MakeVolume(with);
  Snap(with + "@s");
  MakeVolume(without);
  env().OpenDevice(with);
  env().OpenDevice(without);
  const std::string before = Describe({with, without});
  absl::Status s = zfs().DestroyWithSnapshots(with);
  EXPECT_TRUE(IsBusy(s)) << s;
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(with)));
  s = zfs().DestroyWithSnapshots(without);
  EXPECT_TRUE(IsBusy(s)) << s;
  env().CloseDevice(with);
  env().CloseDevice(without);
  EXPECT_EQ(Describe({with, without}), before);
  EXPECT_OK(zfs().DestroyWithSnapshots(with));
  EXPECT_OK(zfs().DestroyWithSnapshots(without));
}

TEST_P(ZfsContractTest, DestroyWithSnapshotsRefusesABookmarkNewerThanTheLatestSnapshot) {
  const std::string v = Ds("v");
  MakeVolume(v);
  Snap(v + "@s0");
  Snap(v + "@s1");
  env().Bookmark(v + "@s1", v + "#b1");
  ASSERT_OK(zfs().DestroySnapshots({v + "@s1"}));
  const std::string before = Describe({v});
  absl::Status s = zfs().DestroyWithSnapshots(v);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("bookmark")));
  EXPECT_FALSE(IsBusy(s));
  EXPECT_EQ(Describe({v}), before);
}

// --- Rollback: all or nothing ---

TEST_P(ZfsContractTest, RollbackToTheLatestSnapshotRestoresItsData) {
  const std::string v = Ds("v");
  MakeVolume(v);
  env().WriteData(v, "first");
  Snap(v + "@s");
  env().WriteData(v, "second");
  ASSERT_OK(zfs().Rollback(v, v + "@s"));
  EXPECT_EQ(env().ReadData(v), "first");
  EXPECT_THAT(SnapshotNames(v), ElementsAre("s"));
}

TEST_P(ZfsContractTest, RollbackToAnOlderSnapshotDestroysTheNewerOnesAndRestoresVolsize) {
  const std::string v = Ds("v");
  MakeVolume(v);
  env().WriteData(v, "old");
  Snap(v + "@old");
  ASSERT_OK(zfs().SetVolsize(v, 2 * kSize));
  env().WriteData(v, "mid");
  Snap(v + "@mid");
  Snap(v + "@new");
  env().WriteData(v, "now");
  ASSERT_OK(zfs().Rollback(v, v + "@old"));
  EXPECT_EQ(env().ReadData(v), "old");
  EXPECT_THAT(SnapshotNames(v), ElementsAre("old"));
  absl::StatusOr<VolumeProps> props = zfs().GetVolume(v);
  ASSERT_OK(props);
  EXPECT_EQ(props->volsize, kSize);
  EXPECT_THAT(zfs().Rollback(v, v + "@mid"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(v + "@mid")));
}

// A volume with snapshots @old, @new and data "now", for the refusals.
#define MVIRT_CONTRACT_ROLLBACK_SETUP(v) \
  const std::string v = Ds("v");         \
  MakeVolume(v);                         \
  env().WriteData(v, "old");             \
  Snap(v + "@old");                      \
  env().WriteData(v, "new");             \
  Snap(v + "@new");                      \
  env().WriteData(v, "now")

TEST_P(ZfsContractTest, RollbackRefusesANewerClonedSnapshotChangingNothing) {
  MVIRT_CONTRACT_ROLLBACK_SETUP(v);
  ASSERT_OK(zfs().Clone(Ds("c"), v + "@new", {}));
  const std::string before = Describe({v, Ds("c")});
  EXPECT_THAT(zfs().Rollback(v, v + "@old"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(v + "@new"), HasSubstr("clones"))));
  EXPECT_EQ(Describe({v, Ds("c")}), before);
  EXPECT_OK(zfs().Rollback(v, v + "@new"));  // the clone is of the target: fine
  EXPECT_EQ(env().ReadData(v), "new");
}

TEST_P(ZfsContractTest, RollbackRefusesANewerHeldSnapshotChangingNothing) {
  MVIRT_CONTRACT_ROLLBACK_SETUP(v);
  env().Hold(v + "@new", "keep");
  const std::string before = Describe({v});
  EXPECT_THAT(zfs().Rollback(v, v + "@old"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(v + "@new"), HasSubstr("held"))));
  EXPECT_EQ(Describe({v}), before);
  env().Release(v + "@new", "keep");
}

TEST_P(ZfsContractTest, RollbackRefusesAnOpenDeviceChangingNothing) {
  MVIRT_CONTRACT_ROLLBACK_SETUP(v);
  env().OpenDevice(v);
  absl::Status s = zfs().Rollback(v, v + "@old");
  EXPECT_TRUE(IsBusy(s)) << s;
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(v)));
  s = zfs().Rollback(v, v + "@new");
  EXPECT_TRUE(IsBusy(s)) << s;
  env().CloseDevice(v);
  EXPECT_EQ(env().ReadData(v), "now");
  EXPECT_THAT(SnapshotNames(v), ElementsAre("old", "new"));
}

TEST_P(ZfsContractTest, RollbackRefusesANewerBookmarkChangingNothing) {
  MVIRT_CONTRACT_ROLLBACK_SETUP(v);
  env().Bookmark(v + "@new", v + "#mark");
  const std::string before = Describe({v});
  EXPECT_THAT(zfs().Rollback(v, v + "@old"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(v + "#mark")));
  EXPECT_EQ(Describe({v}), before);
  EXPECT_OK(zfs().Rollback(v, v + "@new"));  // the bookmark is not newer than @new
}

#undef MVIRT_CONTRACT_ROLLBACK_SETUP

// --- Rename, clone, deferred destruction ---

TEST_P(ZfsContractTest, RenameMovesSnapshotsAndKeepsClonesPointingAtThem) {
  const std::string v = Ds("v"), w = Ds("w");
  MakeVolume(v, kSize, {{"mvirt:id", "x"}});
  env().WriteData(v, "data");
  Snap(v + "@s");
  ASSERT_OK(zfs().Clone(Ds("c"), v + "@s", {}));
  ASSERT_OK(zfs().Rename(v, w));
  EXPECT_FALSE(zfs().Exists(v));
  EXPECT_TRUE(zfs().Exists(w + "@s"));
  absl::StatusOr<VolumeProps> renamed = zfs().GetVolume(w);
  ASSERT_OK(renamed);
  EXPECT_EQ(renamed->user_props, (UserProps{{"mvirt:id", "x"}}));
  EXPECT_EQ(env().ReadData(w), "data");
  absl::StatusOr<VolumeProps> clone = zfs().GetVolume(Ds("c"));
  ASSERT_OK(clone);
  EXPECT_EQ(clone->origin, w + "@s");
  absl::StatusOr<SnapshotProps> snap = zfs().GetSnapshot(w + "@s");
  ASSERT_OK(snap);
  EXPECT_THAT(snap->clones, ElementsAre(Ds("c")));
}

TEST_P(ZfsContractTest, RenameRefusesATakenTargetAndAMissingParentOrSource) {
  MakeVolume(Ds("a"));
  MakeVolume(Ds("b"));
  EXPECT_THAT(zfs().Rename(Ds("a"), Ds("b")),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(Ds("b"))));
  EXPECT_THAT(zfs().Rename(Ds("a"), Ds("missing/a")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(zfs().Rename(Ds("missing"), Ds("c")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(zfs().Exists(Ds("a")));
  EXPECT_TRUE(zfs().Exists(Ds("b")));
}

TEST_P(ZfsContractTest, AUserPropertyClearedIsGoneFromAVolumeAndASnapshot) {
  const std::string v = Ds("v");
  MakeVolume(v, kSize, {{"mvirt:id", "vol-id"}, {"mvirt:kind", "volume"}});
  Snap(v + "@a");
  ASSERT_OK(zfs().SetProperty(v + "@a", "mvirt:id", "snap-id"));
  ASSERT_OK(zfs().ClearUserProperty(v, "mvirt:id"));
  ASSERT_OK(zfs().ClearUserProperty(v + "@a", "mvirt:id"));
  ASSERT_OK(zfs().ClearUserProperty(v, "mvirt:never-set"));  // nothing to clear: OK
  absl::StatusOr<VolumeProps> volume = zfs().GetVolume(v);
  ASSERT_OK(volume);
  EXPECT_EQ(volume->user_props, (UserProps{{"mvirt:kind", "volume"}}));
  absl::StatusOr<SnapshotProps> snap = zfs().GetSnapshot(v + "@a");
  ASSERT_OK(snap);
  EXPECT_TRUE(snap->user_props.empty());
  EXPECT_THAT(zfs().ClearUserProperty(Ds("missing"), "mvirt:id"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(zfs().ClearUserProperty(v, "volsize"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(ZfsContractTest, ASnapshotRenamedKeepsItsGuidPropertiesHoldsAndClones) {
  const std::string v = Ds("v");
  MakeVolume(v);
  Snap(v + "@a");
  Snap(v + "@b");
  ASSERT_OK(zfs().SetProperty(v + "@a", "mvirt:id", "snap-id"));
  ASSERT_OK(zfs().Hold(v + "@a", "keep"));
  ASSERT_OK(zfs().Clone(Ds("c"), v + "@a", {}));
  absl::StatusOr<SnapshotProps> before = zfs().GetSnapshot(v + "@a");
  ASSERT_OK(before);
  EXPECT_THAT(zfs().Rename(v + "@a", v + "@b"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(v + "@b")));
  EXPECT_THAT(zfs().Rename(v + "@missing", v + "@x"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(zfs().Rename(v + "@a", v + "@renamed"));
  EXPECT_FALSE(zfs().Exists(v + "@a"));
  absl::StatusOr<SnapshotProps> after = zfs().GetSnapshot(v + "@renamed");
  ASSERT_OK(after);
  EXPECT_EQ(after->guid, before->guid);
  EXPECT_EQ(after->createtxg, before->createtxg);
  EXPECT_EQ(after->user_props.at("mvirt:id"), "snap-id");
  EXPECT_THAT(zfs().Holds(v + "@renamed"), IsOkAndHolds(ElementsAre("keep")));
  EXPECT_THAT(after->clones, ElementsAre(Ds("c")));
  absl::StatusOr<VolumeProps> clone = zfs().GetVolume(Ds("c"));
  ASSERT_OK(clone);
  EXPECT_EQ(clone->origin, v + "@renamed");
  ASSERT_OK(zfs().Release(v + "@renamed", "keep"));
}

TEST_P(ZfsContractTest, AFullReservationFollowsTheVolsizeAndAThinVolumeHasNone) {
  const std::string thick = Ds("thick"), thin = Ds("thin");
  MakeVolume(thick);
  MakeVolume(thin);
  ASSERT_OK(zfs().SetProperty(thick, "refreservation", "auto"));
  absl::StatusOr<VolumeProps> reserved = zfs().GetVolume(thick);
  ASSERT_OK(reserved);
  EXPECT_GE(reserved->refreservation, reserved->volsize);
  ASSERT_OK(zfs().SetVolsize(thick, 2 * kSize));
  ASSERT_OK(zfs().SetVolsize(thin, 2 * kSize));
  reserved = zfs().GetVolume(thick);
  ASSERT_OK(reserved);
  EXPECT_GE(reserved->refreservation, 2 * kSize) << "grown with the volume";
  absl::StatusOr<VolumeProps> sparse = zfs().GetVolume(thin);
  ASSERT_OK(sparse);
  EXPECT_EQ(sparse->refreservation, 0u);
}

TEST_P(ZfsContractTest, CloneStartsAsTheSnapshotWithItsOwnProperties) {
  const std::string v = Ds("v"), c = Ds("c");
  MakeVolume(v, kSize, {{"mvirt:id", "v"}});
  env().WriteData(v, "snapshot data");
  Snap(v + "@s");
  ASSERT_OK(zfs().SetVolsize(v, 2 * kSize));
  env().WriteData(v, "later");
  ASSERT_OK(zfs().Clone(c, v + "@s", {{"mvirt:id", "c"}}));
  absl::StatusOr<VolumeProps> clone = zfs().GetVolume(c);
  ASSERT_OK(clone);
  EXPECT_EQ(clone->origin, v + "@s");
  EXPECT_EQ(clone->volsize, kSize);
  EXPECT_EQ(clone->volblocksize, kBlock);
  EXPECT_EQ(clone->user_props, (UserProps{{"mvirt:id", "c"}}));
  EXPECT_EQ(env().ReadData(c), "snapshot data");
  EXPECT_THAT(zfs().Clone(c, v + "@s", {}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(c)));
  EXPECT_THAT(zfs().Clone(Ds("d"), v + "@missing", {}), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(zfs().Exists(Ds("d")));
}

TEST_P(ZfsContractTest, DeferredSnapshotVanishesWithItsLastCloneOrAtOnce) {
  const std::string v = Ds("v");
  MakeVolume(v);
  Snap(v + "@used");
  Snap(v + "@free");
  ASSERT_OK(zfs().Clone(Ds("c1"), v + "@used", {}));
  ASSERT_OK(zfs().Clone(Ds("c2"), v + "@used", {}));
  ASSERT_OK(zfs().DeferDestroySnapshots({v + "@used", v + "@free", v + "@missing"}));
  EXPECT_THAT(SnapshotNames(v), ElementsAre("used"));
  ASSERT_OK(zfs().DestroyWithSnapshots(Ds("c1")));
  EXPECT_TRUE(zfs().Exists(v + "@used"));
  ASSERT_OK(zfs().DestroyWithSnapshots(Ds("c2")));
  EXPECT_FALSE(zfs().Exists(v + "@used"));
  EXPECT_OK(zfs().DestroyWithSnapshots(v));
}

TEST_P(ZfsContractTest, DeferredHeldSnapshotVanishesWithItsLastHold) {
  const std::string v = Ds("v");
  MakeVolume(v);
  Snap(v + "@s");
  env().Hold(v + "@s", "keep");
  ASSERT_OK(zfs().DeferDestroySnapshots({v + "@s"}));
  EXPECT_TRUE(zfs().Exists(v + "@s"));
  env().Release(v + "@s", "keep");
  EXPECT_FALSE(zfs().Exists(v + "@s"));
}

// --- Properties, sizes, copies ---

TEST_P(ZfsContractTest, SetVolsizeGrowsTheVolume) {
  const std::string v = Ds("v");
  MakeVolume(v);
  ASSERT_OK(zfs().SetVolsize(v, 3 * kSize));
  absl::StatusOr<VolumeProps> props = zfs().GetVolume(v);
  ASSERT_OK(props);
  EXPECT_EQ(props->volsize, 3 * kSize);
  EXPECT_THAT(zfs().SetVolsize(Ds("missing"), kSize), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(ZfsContractTest, UserPropertiesAreReportedOnlyWhereSetLocally) {
  ASSERT_OK(zfs().EnsureHiddenFilesystem(Ds("fs"), /*zvol_devices=*/true));
  const std::string v = Ds("fs/v");
  MakeVolume(v, kSize, {{"mvirt:own", "1"}});
  ASSERT_OK(zfs().SetProperty(Ds("fs"), "mvirt:id", "parent"));
  Snap(v + "@s", {{"mvirt:snap", "2"}});
  absl::StatusOr<VolumeProps> props = zfs().GetVolume(v);
  ASSERT_OK(props);
  EXPECT_EQ(props->user_props, (UserProps{{"mvirt:own", "1"}}));  // no inherited mvirt:id
  ASSERT_OK(zfs().SetProperty(v, "mvirt:id", "child"));
  ASSERT_OK(zfs().SetProperty(v + "@s", "mvirt:id", "snap"));
  props = zfs().GetVolume(v);
  ASSERT_OK(props);
  EXPECT_EQ(props->user_props, (UserProps{{"mvirt:id", "child"}, {"mvirt:own", "1"}}));
  absl::StatusOr<SnapshotProps> snap = zfs().GetSnapshot(v + "@s");
  ASSERT_OK(snap);
  EXPECT_EQ(snap->user_props, (UserProps{{"mvirt:id", "snap"}, {"mvirt:snap", "2"}}));
  EXPECT_THAT(zfs().SetProperty(Ds("missing"), "mvirt:id", "x"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(ZfsContractTest, EnsureHiddenFilesystemIsIdempotentAndSetsVolmode) {
  const std::string hidden = Ds("hidden"), devices = Ds("devices");
  ASSERT_OK(zfs().EnsureHiddenFilesystem(hidden, /*zvol_devices=*/false));
  ASSERT_OK(zfs().EnsureHiddenFilesystem(hidden, /*zvol_devices=*/false));
  ASSERT_OK(zfs().EnsureHiddenFilesystem(hidden, /*zvol_devices=*/true));  // exists: kept
  ASSERT_OK(zfs().EnsureHiddenFilesystem(devices, /*zvol_devices=*/true));
  EXPECT_TRUE(zfs().Exists(hidden));
  EXPECT_EQ(env().NativeProperty(hidden, "canmount"), "off");
  EXPECT_EQ(env().NativeProperty(hidden, "mountpoint"), "none");
  EXPECT_EQ(env().NativeProperty(hidden, "volmode"), "none");
  EXPECT_EQ(env().NativeProperty(devices, "volmode"), "dev");
  MakeVolume(hidden + "/v");
  // A zvol's own volmode=dev wins over its parent's.
  EXPECT_EQ(env().NativeProperty(hidden + "/v", "volmode"), "dev");
  ASSERT_OK(zfs().SetProperty(hidden + "/v", "volmode", "none"));
  EXPECT_EQ(env().NativeProperty(hidden + "/v", "volmode"), "none");
  EXPECT_THAT(zfs().EnsureHiddenFilesystem(Ds("missing/fs"), true),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(ZfsContractTest, VolumesAndClonesAreCreatedWithVolmodeDevEvenUnderAHiddenParent) {
  const std::string hidden = Ds("hidden");
  ASSERT_OK(zfs().EnsureHiddenFilesystem(hidden, /*zvol_devices=*/false));
  MakeVolume(hidden + "/v");
  Snap(hidden + "/v@s");
  ASSERT_OK(zfs().Clone(hidden + "/c", hidden + "/v@s", {}));
  EXPECT_EQ(env().NativeProperty(hidden + "/v", "volmode"), "dev");
  EXPECT_EQ(env().NativeProperty(hidden + "/c", "volmode"), "dev");
  // A copy takes no properties along: it inherits its parent's.
  ASSERT_OK(zfs().CopySnapshot(hidden + "/v@s", hidden + "/copy@t"));
  EXPECT_EQ(env().NativeProperty(hidden + "/copy", "volmode"), "none");
}

TEST_P(ZfsContractTest, CopySnapshotMakesAnIndependentCopyWithoutProperties) {
  const std::string v = Ds("v");
  MakeVolume(v, kSize, {{"mvirt:id", "v"}});
  env().WriteData(v, "template data");
  Snap(v + "@s", {{"mvirt:snap", "1"}});
  ASSERT_OK(zfs().SetVolsize(v, 2 * kSize));
  ASSERT_OK(zfs().CopySnapshot(v + "@s", Ds("copy@t")));
  absl::StatusOr<VolumeProps> copy = zfs().GetVolume(Ds("copy"));
  ASSERT_OK(copy);
  EXPECT_EQ(copy->volsize, kSize);
  EXPECT_EQ(copy->volblocksize, kBlock);
  EXPECT_EQ(copy->origin, "");
  EXPECT_THAT(copy->user_props, IsEmpty());
  absl::StatusOr<SnapshotProps> t = zfs().GetSnapshot(Ds("copy@t"));
  ASSERT_OK(t);
  EXPECT_EQ(t->volsize, kSize);
  EXPECT_THAT(t->user_props, IsEmpty());
  EXPECT_THAT(zfs().CopySnapshot(v + "@s", Ds("copy@t")),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(zfs().CopySnapshot(v + "@missing", Ds("other@t")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(zfs().Exists(Ds("other")));
  ASSERT_OK(zfs().DestroyWithSnapshots(v));  // the copy depends on nothing
  // Read through a clone, as the daemon uses a copy (a received zvol gets
  // no device node by itself).
  ASSERT_OK(zfs().Clone(Ds("from-copy"), Ds("copy@t"), {}));
  EXPECT_EQ(env().ReadData(Ds("from-copy")), "template data");
}

TEST_P(ZfsContractTest, PoolReportsHealthAndSpace) {
  const std::string pool = env().root().substr(0, env().root().find('/'));
  absl::StatusOr<PoolProps> props = zfs().GetPool(pool);
  ASSERT_OK(props);
  EXPECT_EQ(props->name, pool);
  EXPECT_EQ(props->health, "ONLINE");
  EXPECT_GT(props->available, 0u);
  EXPECT_THAT(zfs().GetPool("mvnopool"), StatusIs(absl::StatusCode::kNotFound));
  // GetSpace of the root is GetPool's dataset view (nothing changes between
  // the two reads here).
  absl::StatusOr<DatasetSpace> space = zfs().GetSpace(pool);
  ASSERT_OK(space);
  EXPECT_EQ(space->used, props->used);
  EXPECT_EQ(space->available, props->available);
  EXPECT_THAT(zfs().GetSpace(pool + "/mvnothing"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(zfs().GetSpace("mvnopool"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(ZfsContractTest, SendAndReceiveMakeTheSameVolumeFullThenIncremental) {
  const std::string v = Ds("v"), copy = Ds("copy");
  MakeVolume(v, kSize, {{"mvirt:id", "source"}});
  env().WriteData(v, "first");
  Snap(v + "@a");
  absl::StatusOr<std::string> full = Capture(v + "@a");
  ASSERT_OK(full);
  ASSERT_OK(Feed(*full, copy + "@a", {{"mvirt:id", "replica"}}));
  absl::StatusOr<VolumeProps> got = zfs().GetVolume(copy);
  ASSERT_OK(got);
  EXPECT_EQ(got->volsize, kSize);
  EXPECT_EQ(got->volblocksize, kBlock);
  EXPECT_EQ(got->origin, "");
  EXPECT_EQ(got->user_props, (UserProps{{"mvirt:id", "replica"}})) << "only what was asked";
  EXPECT_EQ(env().NativeProperty(copy, "volmode"), "dev");
  EXPECT_EQ(env().ReadData(copy), "first");
  EXPECT_EQ(GuidOf(copy + "@a"), GuidOf(v + "@a")) << "incrementals match on it";

  env().WriteData(v, "second");
  Snap(v + "@b");
  absl::StatusOr<std::string> delta = Capture(v + "@b", v + "@a");
  ASSERT_OK(delta);
  // ZFS's estimate is of the order of the stream, not exact on real ZFS: it
  // counts whole records, so for these few KiB it was 30 KiB for 13 KiB.
  for (const auto& [size, stream] :
       {std::pair{zfs().SendSize(v + "@a", "", false), *full},
        std::pair{zfs().SendSize(v + "@b", v + "@a", false), *delta}}) {
    ASSERT_OK(size);
    EXPECT_GT(*size, 0u);
    EXPECT_LE(*size, stream.size() + 64 * 1024);
    EXPECT_LE(stream.size(), 4 * *size);
  }
  EXPECT_THAT(zfs().SendSize(v + "@nope", "", false), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(zfs().SendSize(v + "@a", v + "@b", false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(Feed(*delta, copy + "@b"));
  EXPECT_EQ(env().ReadData(copy), "second");
  EXPECT_THAT(SnapshotNames(copy), ElementsAre("a", "b"));
  EXPECT_EQ(GuidOf(copy + "@b"), GuidOf(v + "@b"));
  got = zfs().GetVolume(copy);
  ASSERT_OK(got);
  EXPECT_EQ(got->user_props, (UserProps{{"mvirt:id", "replica"}}));
}

TEST_P(ZfsContractTest, SendRefusesMissingOrUnrelatedSnapshots) {
  const std::string v = Ds("v"), w = Ds("w");
  MakeVolume(v);
  MakeVolume(w);
  Snap(v + "@a");
  Snap(v + "@b");
  Snap(w + "@a");
  EXPECT_THAT(Capture(v + "@missing"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'" + v + "@missing'")));
  EXPECT_THAT(Capture(v + "@b", v + "@missing"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'" + v + "@missing'")));
  EXPECT_THAT(Capture(v + "@b", w + "@a"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("same dataset")));
  EXPECT_THAT(Capture(v + "@a", v + "@b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not an earlier snapshot")));
  EXPECT_THAT(Capture(v), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(ZfsContractTest, ReceiveRefusalsChangeNothing) {
  const std::string copy = Ds("copy"), other = Ds("other");
  std::string full, delta;
  ASSERT_NO_FATAL_FAILURE(MakeStreams(Ds("v"), &full, &delta));
  ASSERT_OK(Feed(full, copy + "@a"));
  MakeVolume(other);
  Snap(other + "@x");
  const std::string before = Describe({copy, other});

  EXPECT_THAT(Feed(full, copy + "@again"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already exists")));
  EXPECT_THAT(Feed(delta, copy + "@a"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already exists")));
  EXPECT_THAT(Feed(delta, other + "@b"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("the stream's base")));
  EXPECT_THAT(Feed(delta, Ds("missing@b")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("does not exist")));
  EXPECT_THAT(Feed(full, Ds("missing/deeper@a")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("parent")));
  EXPECT_THAT(
      Feed(delta, copy + "@b", {{"mvirt:id", "x"}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("first receive of a full stream")));
  EXPECT_THAT(Feed(full.substr(0, 100), Ds("short@a")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("before its first record")));
  EXPECT_EQ(Describe({copy, other}), before);
  EXPECT_FALSE(zfs().Exists(Ds("missing")));
  EXPECT_FALSE(zfs().Exists(Ds("short")));

  // Written since the base: the incremental would lose that write.
  env().WriteData(copy, "local change");
  const std::string written = Describe({copy});
  EXPECT_THAT(Feed(delta, copy + "@b"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("written since")));
  EXPECT_EQ(Describe({copy}), written);
}

TEST_P(ZfsContractTest, AnInterruptedReceiveKeepsATokenUntilAborted) {
  const std::string part = Ds("part"), copy = Ds("copy");
  std::string full, delta;
  ASSERT_NO_FATAL_FAILURE(MakeStreams(Ds("v"), &full, &delta));
  auto cut = [](const std::string& stream) {  // the BEGIN record and half the rest
    return stream.substr(0, kSendStreamBeginBytes + (stream.size() - kSendStreamBeginBytes) / 2);
  };

  // A new volume: the partial dataset is all there is, and goes on abort.
  EXPECT_THAT(Feed(cut(full), part + "@a", {{"mvirt:id", "p"}}),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("ended early")));
  EXPECT_FALSE(zfs().Exists(part + "@a"));
  absl::StatusOr<std::string> token = zfs().ReceiveResumeToken(part);
  ASSERT_OK(token);
  EXPECT_NE(*token, "");
  EXPECT_THAT(Feed(full, part + "@a"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("interrupted receive")))
      << "a fresh stream does not overwrite the partial state";
  ASSERT_OK(zfs().AbortReceive(part));
  EXPECT_FALSE(zfs().Exists(part));
  EXPECT_THAT(zfs().AbortReceive(part), StatusIs(absl::StatusCode::kNotFound));

  // An existing volume keeps its data and snapshots while an interrupted
  // incremental waits, and after it is aborted.
  ASSERT_OK(Feed(full, copy + "@a"));
  EXPECT_THAT(zfs().AbortReceive(copy),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no interrupted receive")));
  const std::string before = Describe({copy});
  EXPECT_THAT(Feed(cut(delta), copy + "@b"), StatusIs(absl::StatusCode::kAborted));
  token = zfs().ReceiveResumeToken(copy);
  ASSERT_OK(token);
  EXPECT_NE(*token, "");
  EXPECT_EQ(env().ReadData(copy), "first") << "the volume stays as it was";
  EXPECT_THAT(SnapshotNames(copy), ElementsAre("a"));
  absl::StatusOr<SnapshotProps> base = zfs().GetSnapshot(copy + "@a");
  ASSERT_OK(base);
  EXPECT_THAT(base->clones, ElementsAre(copy + "/%recv"))
      << "ZFS keeps the partial state as a hidden clone of the base";
  EXPECT_THAT(Feed(delta, copy + "@b"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("interrupted receive")));
  ASSERT_OK(zfs().AbortReceive(copy));
  token = zfs().ReceiveResumeToken(copy);
  ASSERT_OK(token);
  EXPECT_EQ(*token, "") << "aborted";
  EXPECT_EQ(Describe({copy}), before);
  ASSERT_OK(Feed(delta, copy + "@b"));
  EXPECT_EQ(env().ReadData(copy), "second");
}

TEST_P(ZfsContractTest, AnInterruptedReceiveResumesFromItsToken) {
  const std::string v = Ds("v"), part = Ds("part");
  std::string full, delta;
  ASSERT_NO_FATAL_FAILURE(MakeStreams(v, &full, &delta));
  auto cut = [](const std::string& stream) {  // the BEGIN record and half the rest
    return stream.substr(0, kSendStreamBeginBytes + (stream.size() - kSendStreamBeginBytes) / 2);
  };
  auto token_of = [&](const std::string& dataset) {
    absl::StatusOr<std::string> token = zfs().ReceiveResumeToken(dataset);
    EXPECT_OK(token);
    return token.ok() ? *token : "";
  };

  ASSERT_THAT(Feed(cut(full), part + "@a", {{"mvirt:id", "p"}}),
              StatusIs(absl::StatusCode::kAborted));
  absl::StatusOr<ResumePoint> point = zfs().DescribeResumeToken(v, token_of(part));
  ASSERT_OK(point);
  EXPECT_EQ(point->snapshot, v + "@a");
  EXPECT_EQ(point->from, "") << "a full send";
  absl::StatusOr<std::string> rest = CaptureResumed(v, token_of(part));
  ASSERT_OK(rest);
  absl::StatusOr<SendStreamBegin> begin =
      ParseSendStreamBegin(rest->substr(0, kSendStreamBeginBytes));
  ASSERT_OK(begin);
  EXPECT_TRUE(begin->resuming);
  EXPECT_EQ(begin->toguid, GuidOf(v + "@a"));
  EXPECT_THAT(Feed(*rest, part + "@a", {{"mvirt:id", "again"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("first receive")));
  ASSERT_OK(Feed(*rest, part + "@a"));
  EXPECT_EQ(env().ReadData(part), "first");
  EXPECT_EQ(GuidOf(part + "@a"), GuidOf(v + "@a"));
  absl::StatusOr<VolumeProps> got = zfs().GetVolume(part);
  ASSERT_OK(got);
  EXPECT_EQ(got->user_props, (UserProps{{"mvirt:id", "p"}})) << "kept from the first attempt";
  EXPECT_EQ(got->volsize, kSize);
  EXPECT_EQ(token_of(part), "");

  // An incremental, and what a token cannot resume.
  ASSERT_THAT(Feed(cut(delta), part + "@b"), StatusIs(absl::StatusCode::kAborted));
  const std::string token = token_of(part);
  point = zfs().DescribeResumeToken(v, token);
  ASSERT_OK(point);
  EXPECT_EQ(point->snapshot, v + "@b");
  EXPECT_EQ(point->from, v + "@a");
  EXPECT_THAT(zfs().DescribeResumeToken(v, "1-bogus"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a resume token")));
  EXPECT_THAT(CaptureResumed(v, "1-bogus"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a resume token")));
  MakeVolume(Ds("w"));
  EXPECT_THAT(CaptureResumed(Ds("w"), token),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the token is of")));
  rest = CaptureResumed(v, token);
  ASSERT_OK(rest);
  ASSERT_OK(Feed(*rest, part + "@b"));
  EXPECT_EQ(env().ReadData(part), "second");
  EXPECT_THAT(SnapshotNames(part), ElementsAre("a", "b"));
  EXPECT_EQ(GuidOf(part + "@b"), GuidOf(v + "@b"));

  // The snapshot a token names, gone or replaced by another of its name.
  ASSERT_OK(zfs().DestroySnapshots({v + "@b"}));
  EXPECT_THAT(CaptureResumed(v, token),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no longer exists")));
  Snap(v + "@b");
  EXPECT_THAT(CaptureResumed(v, token),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no longer the snapshot")));
}

TEST_P(ZfsContractTest, AHoldKeepsASnapshotUntilItIsReleased) {
  const std::string v = Ds("v"), a = Ds("v@a");
  MakeVolume(v);
  Snap(a);
  absl::StatusOr<std::vector<std::string>> none = zfs().Holds(a);
  ASSERT_OK(none);
  EXPECT_THAT(*none, ::testing::IsEmpty());
  ASSERT_OK(zfs().Hold(a, "mvirt-base"));
  ASSERT_OK(zfs().Hold(a, "a-tag:of-someone"));
  EXPECT_THAT(zfs().Holds(a), IsOkAndHolds(ElementsAre("a-tag:of-someone", "mvirt-base")));
  ASSERT_OK(zfs().Release(a, "a-tag:of-someone"));
  EXPECT_THAT(zfs().Holds(v + "@missing"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no such snapshot")));
  EXPECT_THAT(zfs().Hold(a, "mvirt-base"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("'mvirt-base'")));
  EXPECT_THAT(zfs().Hold(v + "@missing", "t"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no such snapshot")));
  absl::StatusOr<SnapshotProps> held = zfs().GetSnapshot(a);
  ASSERT_OK(held);
  EXPECT_EQ(held->userrefs, 1u);
  EXPECT_THAT(zfs().DestroySnapshots({a}), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(zfs().Release(a, "other"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no hold 'other'")));
  ASSERT_OK(zfs().DeferDestroySnapshots({a}));
  EXPECT_TRUE(zfs().Exists(a)) << "held";
  ASSERT_OK(zfs().Release(a, "mvirt-base"));
  EXPECT_FALSE(zfs().Exists(a)) << "destroyed with its last hold, as deferred";
  EXPECT_THAT(zfs().Release(a, "mvirt-base"), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_UNIT_ZFS_CONTRACT_TESTS_H_
