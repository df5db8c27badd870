// Real-ZFS tests of snapshots, atomic multi-volume snapshots, safe rollback
// and clones, through gRPC: checked with `zfs get`/`zfs list` and by reading
// data back through the devices.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

#include "api_fixture.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

class SnapshotApiTest : public ApiTest {
 protected:
  std::vector<::mvirt::zfs::Snapshot> ListSnaps(const std::string& volume) {
    ListSnapshotsRequest req;
    req.set_volume_name(volume);
    grpc::ClientContext ctx;
    ListSnapshotsResponse resp;
    EXPECT_TRUE(stub_->ListSnapshots(&ctx, req, &resp).ok());
    return {resp.snapshots().begin(), resp.snapshots().end()};
  }
};

TEST_F(SnapshotApiTest, CreateListAndDeleteSnapshots) {
  Volume v;
  ASSERT_TRUE(Create("snapped", 16 * kMiB, &v, kId1).ok());
  const std::string ds = kPool + "/snapped";
  ::mvirt::zfs::Snapshot snap;
  grpc::Status s = Snapshot("snapped", "b-first", &snap);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(snap.full_name(), ds + "@b-first");
  EXPECT_EQ(snap.name(), "b-first");
  EXPECT_EQ(ZfsGet(ds + "@b-first", "mvirt:id"), snap.id());
  ASSERT_TRUE(Snapshot("snapped", "a-second").ok());

  // Duplicate: ALREADY_EXISTS; bad names and unknown volumes are refused.
  EXPECT_EQ(Snapshot("snapped", "b-first").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Snapshot("snapped", "bad@name").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Snapshot("snapped", "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Snapshot("nope", "x").error_code(), grpc::StatusCode::NOT_FOUND);

  std::vector<::mvirt::zfs::Snapshot> snaps = ListSnaps("snapped");
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[0].name(), "b-first");  // createtxg order, not by name
  EXPECT_EQ(snaps[1].name(), "a-second");
  EXPECT_LT(std::stoull(ZfsGet(ds + "@b-first", "createtxg")),
            std::stoull(ZfsGet(ds + "@a-second", "createtxg")));
  for (const ::mvirt::zfs::Snapshot& listed : snaps) {
    const std::string full = ds + "@" + listed.name();
    EXPECT_EQ(listed.full_name(), full);
    EXPECT_EQ(std::to_string(listed.used_bytes()), ZfsGet(full, "used"));
    // RFC 3339, UTC, the snapshot's creation time.
    EXPECT_EQ(listed.created_at() + "\n",
              MustRun("date -u -d @" + ZfsGet(full, "creation") + " +%Y-%m-%dT%H:%M:%SZ"));
    EXPECT_EQ(listed.id(), ZfsGet(full, "mvirt:id"));
  }
  EXPECT_NE(snaps[0].id(), snaps[1].id());

  s = DeleteSnapshot("snapped", "b-first");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(DatasetExists(ds + "@b-first"));
  EXPECT_EQ(DeleteSnapshot("snapped", "b-first").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ListSnaps("snapped").size(), 1u);
}

TEST_F(SnapshotApiTest, MultiVolumeSnapshotIsAllOrNothing) {
  Volume v;
  for (const char* name : {"disk-a", "disk-b", "disk-c"})
    ASSERT_TRUE(Create(name, 16 * kMiB, &v).ok());
  MustRun("zfs snapshot " + kPool + "/disk-b@backup");  // one name already taken
  CreateSnapshotsRequest req;
  for (const char* name : {"disk-a", "disk-b", "disk-c"}) req.add_volume_names(name);
  req.set_snapshot_name("backup");
  CreateSnapshotsResponse resp;
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateSnapshots(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("disk-b@backup")) << s.error_message();
  }
  EXPECT_FALSE(DatasetExists(kPool + "/disk-a@backup"));
  EXPECT_FALSE(DatasetExists(kPool + "/disk-c@backup"));

  req.set_snapshot_name("consistent");
  grpc::ClientContext ctx;
  grpc::Status s = stub_->CreateSnapshots(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.snapshots_size(), 3);
  // One atomic call: all three snapshots were taken in the same txg.
  std::string txg = ZfsGet(kPool + "/disk-a@consistent", "createtxg");
  EXPECT_EQ(ZfsGet(kPool + "/disk-b@consistent", "createtxg"), txg);
  EXPECT_EQ(ZfsGet(kPool + "/disk-c@consistent", "createtxg"), txg);
  // Each snapshot has its own id; the group id says they belong together.
  std::set<std::string> ids;
  for (const auto& snap : resp.snapshots()) {
    ids.insert(snap.id());
    EXPECT_EQ(ZfsGet(snap.full_name(), "mvirt:id"), snap.id());
  }
  EXPECT_EQ(ids.size(), 3u);
  std::string group = ZfsGet(kPool + "/disk-a@consistent", "mvirt:snapshot-group");
  EXPECT_EQ(group.size(), 36u) << group;
  EXPECT_EQ(ZfsGet(kPool + "/disk-c@consistent", "mvirt:snapshot-group"), group);

  CreateSnapshotsRequest twice;
  twice.add_volume_names("disk-a");
  twice.add_volume_names("disk-a");
  twice.set_snapshot_name("dup");
  grpc::ClientContext ctx2;
  EXPECT_EQ(stub_->CreateSnapshots(&ctx2, twice, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SnapshotApiTest, RollbackRestoresDataAndVolsizeAndDropsNewerSnapshots) {
  Volume v;
  ASSERT_TRUE(Create("rb", 16 * kMiB, &v, kId1).ok());
  const std::string ds = kPool + "/rb";
  const std::string a = Pattern('a', 65536), b = Pattern('b', 65536), c = Pattern('c', 65536);
  WriteDevice(v.path(), 0, a);
  ASSERT_TRUE(Snapshot("rb", "s1").ok());
  WriteDevice(v.path(), 0, b);
  Volume grown;
  ASSERT_TRUE(Resize("rb", 32 * kMiB, &grown).ok());
  ASSERT_TRUE(Snapshot("rb", "s2").ok());
  WriteDevice(v.path(), 0, c);

  // Back to the latest snapshot first.
  Volume after;
  grpc::Status s = Rollback("rb", "s2", &after);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(ReadDevice(v.path(), 0, b.size()) == b);

  // Then over a newer snapshot to an older one: s2 is destroyed.
  s = Rollback("rb", "s1", &after);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(DatasetExists(ds + "@s2"));
  EXPECT_TRUE(DatasetExists(ds + "@s1"));
  EXPECT_EQ(ZfsGet(ds, "volsize"), std::to_string(16 * kMiB));
  EXPECT_EQ(after.volsize_bytes(), 16 * kMiB);
  ASSERT_TRUE(WaitForPath(v.path()));
  EXPECT_EQ(MustRun("blockdev --getsize64 " + v.path()), std::to_string(16 * kMiB) + "\n")
      << "the device has the snapshot's size too";
  EXPECT_TRUE(ReadDevice(v.path(), 0, a.size()) == a);
  ASSERT_EQ(after.snapshots_size(), 1);
  EXPECT_EQ(Rollback("rb", "nope", &after).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(SnapshotApiTest, RollbackIsRefusedWhileTheDeviceIsOpen) {
  Volume v;
  ASSERT_TRUE(Create("rb-open", 16 * kMiB, &v).ok());
  const std::string data = Pattern('x', 4096);
  ASSERT_TRUE(Snapshot("rb-open", "s1").ok());
  WriteDevice(v.path(), 0, data);
  ASSERT_TRUE(Snapshot("rb-open", "s2").ok());
  int fd = ::open(v.path().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Volume after;
  grpc::Status s = Rollback("rb-open", "s1", &after);
  ::close(fd);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("pid " + std::to_string(::getpid())))
      << s.error_message();
  // Nothing changed.
  EXPECT_TRUE(DatasetExists(kPool + "/rb-open@s2"));
  EXPECT_TRUE(ReadDevice(v.path(), 0, data.size()) == data);
}

TEST_F(SnapshotApiTest, RollbackIsRefusedOverASnapshotWithClones) {
  Volume v, clone;
  ASSERT_TRUE(Create("rb-clone", 16 * kMiB, &v).ok());
  ASSERT_TRUE(Snapshot("rb-clone", "s1").ok());
  ASSERT_TRUE(Snapshot("rb-clone", "s2").ok());
  ASSERT_TRUE(Clone("rb-clone", "s2", "rb-clone-child", &clone).ok());
  Volume after;
  grpc::Status s = Rollback("rb-clone", "s1", &after);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr(kPool + "/rb-clone-child")) << s.error_message();
  EXPECT_TRUE(DatasetExists(kPool + "/rb-clone@s2"));
  EXPECT_TRUE(DatasetExists(kPool + "/rb-clone-child"));

  // Deleting the snapshot a clone depends on is refused, naming the clone.
  s = DeleteSnapshot("rb-clone", "s2");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr(kPool + "/rb-clone-child")) << s.error_message();
  EXPECT_TRUE(DatasetExists(kPool + "/rb-clone@s2"));
}

TEST_F(SnapshotApiTest, RollbackIsRefusedOverAHeldSnapshot) {
  Volume v;
  ASSERT_TRUE(Create("rb-held", 16 * kMiB, &v).ok());
  ASSERT_TRUE(Snapshot("rb-held", "s1").ok());
  ASSERT_TRUE(Snapshot("rb-held", "s2").ok());
  const std::string held = kPool + "/rb-held@s2";
  MustRun("zfs hold backup " + held);
  Volume after;
  grpc::Status s = Rollback("rb-held", "s1", &after);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr(held + " (held: 'backup')")) << s.error_message();
  EXPECT_TRUE(DatasetExists(held));
  s = DeleteSnapshot("rb-held", "s2");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  MustRun("zfs release backup " + held);
  EXPECT_TRUE(Rollback("rb-held", "s1", &after).ok());
  EXPECT_FALSE(DatasetExists(held));
}

TEST_F(SnapshotApiTest, CloneIsThinReadyAndCanGrow) {
  Volume v;
  ASSERT_TRUE(Create("gold", 16 * kMiB, &v, kId1).ok());
  const std::string data = Pattern('g', 1 << 20);
  WriteDevice(v.path(), 0, data);
  ASSERT_TRUE(Snapshot("gold", "v1").ok());

  Volume clone;
  grpc::Status s = Clone("gold", "v1", "worker-01", &clone);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string ds = kPool + "/worker-01";
  EXPECT_EQ(ZfsGet(ds, "origin"), kPool + "/gold@v1");
  EXPECT_EQ(ZfsGet(kPool + "/gold@v1", "clones"), ds);
  EXPECT_EQ(ZfsGet(ds, "refreservation"), "0");
  EXPECT_LT(std::stoull(ZfsGet(ds, "used")), 256 * 1024u) << "a fresh clone consumes ~0 bytes";
  EXPECT_EQ(ZfsGet(ds, "mvirt:id"), clone.id());
  EXPECT_EQ(DeviceDatasetName(clone.path()), ds);
  EXPECT_TRUE(ReadDevice(clone.path(), 0, data.size()) == data);

  Volume big;
  s = Clone("gold", "v1", "worker-02", &big, 64 * kMiB + 1, kId2);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ZfsGet(kPool + "/worker-02", "volsize"), std::to_string(64 * kMiB + 16384));
  EXPECT_EQ(big.id(), kId2);
  EXPECT_EQ(ZfsGet(kPool + "/worker-02", "mvirt:id"), kId2);
  EXPECT_EQ(MustRun("blockdev --getsize64 " + big.path()),
            std::to_string(64 * kMiB + 16384) + "\n");
  // The id of another volume (gold's) is refused: ids identify volumes.
  s = Clone("gold", "v1", "worker-05", &big, {}, kId1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("'gold'")) << s.error_message();
  EXPECT_FALSE(DatasetExists(kPool + "/worker-05"));

  const std::string before = PoolState(kPool);
  s = Clone("gold", "v1", "worker-03", &big, 8 * kMiB);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("smaller than the origin"));
  EXPECT_EQ(PoolState(kPool), before) << "refused before anything was created";
  s = Clone("gold", "v1", "worker-01", &big);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  s = Clone("gold", "nope", "worker-04", &big);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(DatasetExists(kPool + "/worker-04"));

  // The clone is a volume like any other and can be deleted on its own.
  ASSERT_TRUE(Delete("worker-01").ok());
  EXPECT_EQ(ZfsGet(kPool + "/gold@v1", "clones"), kPool + "/worker-02");
}

}  // namespace
}  // namespace mvirt::zfs::testing
