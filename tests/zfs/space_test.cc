// Real-ZFS tests of the space figures and the space guard: GetVolume's and
// GetPoolStats' figures equal to what `zfs get` and `zpool get` say, a
// degraded vdev named, and the guard's limits (--max-overcommit,
// --reserve-percent) refusing creates, clones, resizes, promotes and
// snapshots with the pool unchanged, never deletes or rollbacks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "api_fixture.h"
#include "grpc_status_matchers.h"
#include "invariants.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr auto kDeadline = std::chrono::seconds(60);

std::unique_ptr<ZfsService::Stub> StubOf(const DaemonProcess& daemon) {
  return ZfsService::NewStub(
      grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
}

uint64_t ZpoolGet(const std::string& pool, const std::string& property) {
  return std::stoull(MustRun("zpool get -Hp -o value " + property + " " + pool));
}

uint64_t ZfsBytes(const std::string& dataset, const std::string& property) {
  return std::stoull(ZfsGet(dataset, property));
}

grpc::Status CreateVolume(ZfsService::Stub& stub, const std::string& name, uint64_t size,
                          bool thick = false, Volume* out = nullptr) {
  CreateVolumeRequest req;
  req.set_name(name);
  req.set_size_bytes(size);
  req.set_thick(thick);
  Volume ignored;
  return CallWithin(kDeadline, &ZfsService::Stub::CreateVolume, stub, req,
                    out != nullptr ? out : &ignored);
}

PoolStats Stats(ZfsService::Stub& stub) {
  PoolStats stats;
  grpc::Status s =
      CallWithin(kDeadline, &ZfsService::Stub::GetPoolStats, stub, GetPoolStatsRequest(), &stats);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return stats;
}

TEST(Space, AVolumesFiguresAreZfsOwn) {
  ScratchPool pool("mvfigures");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-figures.sock");
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = StubOf(daemon);
  ASSERT_TRUE(CreateVolume(*stub, "disk", 64 * kMiB).ok());
  const std::string ds = pool.name() + "/disk";
  const std::string device = "/dev/zvol/" + ds;
  MustRun("dd if=/dev/urandom of=" + device + " bs=1M count=4 oflag=direct status=none");
  CreateSnapshotRequest snap;
  snap.set_volume_name("disk");
  snap.set_snapshot_name("s1");
  Snapshot taken;
  ASSERT_TRUE(CallWithin(kDeadline, &ZfsService::Stub::CreateSnapshot, *stub, snap, &taken).ok());
  // Overwrite 1 MiB (now held by s1 too) and write 2 MiB more after it.
  MustRun("dd if=/dev/urandom of=" + device + " bs=1M count=3 seek=3 oflag=direct status=none");
  MustRun("zpool sync " + pool.name());
  GetVolumeRequest get;
  get.set_name("disk");
  Volume v;
  ASSERT_TRUE(CallWithin(kDeadline, &ZfsService::Stub::GetVolume, *stub, get, &v).ok());
  EXPECT_EQ(v.referenced_bytes(), ZfsBytes(ds, "referenced"));
  EXPECT_EQ(v.written_bytes(), ZfsBytes(ds, "written"));
  EXPECT_EQ(v.used_by_snapshots_bytes(), ZfsBytes(ds, "usedbysnapshots"));
  EXPECT_EQ(v.logical_used_bytes(), ZfsBytes(ds, "logicalused"));
  EXPECT_EQ(v.used_bytes(), ZfsBytes(ds, "used"));
  // Incompressible data: 3 MiB written since s1, s1 alone holds the 1 MiB
  // overwritten, the volume refers to 6 MiB.
  EXPECT_GE(v.written_bytes(), 3 * kMiB);
  EXPECT_LT(v.written_bytes(), 4 * kMiB);
  EXPECT_GE(v.used_by_snapshots_bytes(), kMiB);
  EXPECT_LT(v.used_by_snapshots_bytes(), 2 * kMiB);
  EXPECT_GE(v.referenced_bytes(), 6 * kMiB);

  // The CLI shows them.
  CommandResult cli = Shell(CliPath() + " --endpoint " + daemon.endpoint() + " volume get disk");
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_THAT(cli.output, AllOf(HasSubstr("written"), HasSubstr("since the last snapshot"),
                                HasSubstr("used_by_snapshots"), HasSubstr("logical_used")));
}

TEST(Space, PoolStatsCarryThePoolsOwnFiguresAndADegradedVdevIsNamed) {
  // A mirror of two files, so that one can be taken offline.
  const std::string name = "mvmirror";
  const std::string a = "/var/tmp/mvirt-zfs-test-mirror-a.img";
  const std::string b = "/var/tmp/mvirt-zfs-test-mirror-b.img";
  Shell("zpool destroy -f " + name + " 2>/dev/null");
  MustRun("truncate -s 512M " + a + " " + b);
  MustRun("zpool create -f -o cachefile=none -m none -o ashift=12 -O compression=lz4 " + name +
          " mirror " + a + " " + b);
  {
    DaemonProcess daemon(name, "/run/mvirt-zfs-mirror.sock",
                         {"--max-overcommit", "3", "--reserve-percent", "15"});
    ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
    auto stub = StubOf(daemon);
    ASSERT_TRUE(CreateVolume(*stub, "v", 256 * kMiB).ok());
    MustRun("zpool sync " + name);
    PoolStats stats = Stats(*stub);
    EXPECT_EQ(stats.health(), "ONLINE");
    EXPECT_EQ(stats.pool_size_bytes(), ZpoolGet(name, "size"));
    EXPECT_EQ(stats.pool_allocated_bytes() + stats.pool_free_bytes(), stats.pool_size_bytes());
    EXPECT_NEAR(static_cast<double>(stats.pool_allocated_bytes()),
                static_cast<double>(ZpoolGet(name, "allocated")), 4.0 * kMiB);
    EXPECT_EQ(stats.capacity_percent(), ZpoolGet(name, "capacity"));
    ASSERT_TRUE(stats.has_fragmentation_percent());
    EXPECT_EQ(stats.fragmentation_percent(), ZpoolGet(name, "fragmentation"));
    ASSERT_EQ(stats.vdevs_size(), 1);
    EXPECT_EQ(stats.vdevs(0).name(), "mirror-0");
    EXPECT_EQ(stats.vdevs(0).state(), "ONLINE");
    // The guard's figures: provisioned over the dataset view's total.
    EXPECT_DOUBLE_EQ(stats.max_overcommit(), 3.0);
    EXPECT_NEAR(stats.overcommit_ratio(),
                static_cast<double>(stats.provisioned_bytes()) / stats.total_bytes(), 1e-9);
    EXPECT_EQ(stats.reserve_bytes(), static_cast<uint64_t>(stats.total_bytes() * 0.15));

    MustRun("zpool offline " + name + " " + b);
    stats = Stats(*stub);
    EXPECT_EQ(stats.health(), "DEGRADED");
    ASSERT_EQ(stats.vdevs_size(), 1);
    EXPECT_EQ(stats.vdevs(0).state(), "DEGRADED");
    CommandResult cli = Shell(CliPath() + " --endpoint " + daemon.endpoint() + " pool stats");
    EXPECT_EQ(cli.exit_code, 0) << cli.output;
    EXPECT_THAT(cli.output, AllOf(HasSubstr("DEGRADED"), HasSubstr("mirror-0"),
                                  HasSubstr("fragmentation"), HasSubstr("limit: 3.00x")));
    MustRun("zpool online " + name + " " + b);
  }
  Shell("zpool destroy -f " + name);
  Shell("rm -f " + a + " " + b);
}

TEST(Space, TheGuardRefusesWhatWouldCrossItsLimitsAndNeverDeletesOrRollbacks) {
  ScratchPool pool("mvguard");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-guard.sock",
                       {"--max-overcommit", "2", "--reserve-percent", "20"});
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = StubOf(daemon);
  const PoolStats first = Stats(*stub);
  const uint64_t total = first.total_bytes();
  ASSERT_EQ(total, ZfsBytes(pool.name(), "used") + ZfsBytes(pool.name(), "available"));

  // Overcommit: 1.95x the pool thin is fine (no volume may be larger than
  // the pool), a tenth more is not.
  ASSERT_THAT(CreateVolume(*stub, "big", total / 10 * 9 / kMiB * kMiB), GrpcIsOk());
  ASSERT_THAT(CreateVolume(*stub, "big2", total / 10 * 9 / kMiB * kMiB), GrpcIsOk());
  ASSERT_THAT(CreateVolume(*stub, "mid", total / 100 * 15 / kMiB * kMiB), GrpcIsOk());
  ASSERT_THAT(CreateVolume(*stub, "base", 16 * kMiB), GrpcIsOk());
  CreateSnapshotRequest snap;
  snap.set_volume_name("base");
  snap.set_snapshot_name("s1");
  ASSERT_TRUE(CallWithin(kDeadline, &ZfsService::Stub::CreateSnapshot, *stub, snap).ok());
  std::string before = PoolState(pool.name());
  EXPECT_THAT(CreateVolume(*stub, "more", total / 10 / kMiB * kMiB),
              GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                           AllOf(HasSubstr("refused by the space guard"),
                                 HasSubstr("over --max-overcommit 2.00"))));
  ResizeVolumeRequest resize;
  resize.set_name("big");
  resize.set_new_size_bytes(total / kMiB * kMiB);
  EXPECT_THAT(CallWithin(kDeadline, &ZfsService::Stub::ResizeVolume, *stub, resize),
              GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, HasSubstr("--max-overcommit")));
  EXPECT_EQ(PoolState(pool.name()), before) << "a refused call changes nothing";
  DeleteVolumeRequest del;
  del.set_name("big2");
  ASSERT_THAT(CallWithin(kDeadline, &ZfsService::Stub::DeleteVolume, *stub, del), GrpcIsOk());
  before = PoolState(pool.name());

  // The reserve: a thick volume that would leave less than 20% free.
  const uint64_t reserve = Stats(*stub).reserve_bytes();
  EXPECT_EQ(reserve, static_cast<uint64_t>(total * 0.2));
  const uint64_t available = ZfsBytes(pool.name(), "available");
  ASSERT_GT(available, reserve + 64 * kMiB);
  EXPECT_THAT(
      CreateVolume(*stub, "thick", (available - reserve) / kMiB * kMiB + 32 * kMiB, true),
      GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                   AllOf(HasSubstr("would then have"), HasSubstr("--reserve-percent keeps free"))));
  EXPECT_EQ(PoolState(pool.name()), before);

  // Someone else (by hand) takes the pool into the reserve: a non-sparse
  // zvol, its whole size reserved. ZFS's figures are the guard's truth.
  const std::string foreign = pool.name() + "/by-hand";
  MustRun("zfs create -V " + std::to_string((available - reserve) / kMiB + 16) + "M " + foreign);
  ASSERT_LT(ZfsBytes(pool.name(), "available"), reserve);
  before = PoolState(pool.name());
  std::map<std::string, grpc::Status> refused;
  refused["create"] = CreateVolume(*stub, "small", 16 * kMiB);
  snap.set_snapshot_name("s2");
  refused["snapshot"] = CallWithin(kDeadline, &ZfsService::Stub::CreateSnapshot, *stub, snap);
  CloneVolumeRequest clone;
  clone.set_source_volume("base");
  clone.set_snapshot_name("s1");
  clone.set_new_volume_name("copy");
  refused["clone"] = CallWithin(kDeadline, &ZfsService::Stub::CloneVolume, *stub, clone);
  resize.set_name("base");
  resize.set_new_size_bytes(32 * kMiB);
  refused["resize"] = CallWithin(kDeadline, &ZfsService::Stub::ResizeVolume, *stub, resize);
  PromoteSnapshotRequest promote;
  promote.set_volume_name("base");
  promote.set_snapshot_name("s1");
  promote.set_template_name("gold");
  refused["promote"] =
      CallWithin(kDeadline, &ZfsService::Stub::PromoteSnapshotToTemplate, *stub, promote);
  for (const auto& [what, s] : refused) {
    EXPECT_THAT(s, GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                AllOf(HasSubstr("refused by the space guard"),
                                      HasSubstr("--reserve-percent keeps free"))))
        << what;
  }
  EXPECT_EQ(PoolState(pool.name()), before) << "every refused call left the pool as it was";

  // What frees space is never refused.
  RollbackSnapshotRequest rollback;
  rollback.set_volume_name("base");
  rollback.set_snapshot_name("s1");
  EXPECT_THAT(CallWithin(kDeadline, &ZfsService::Stub::RollbackSnapshot, *stub, rollback),
              GrpcIsOk());
  DeleteSnapshotRequest delete_snapshot;
  delete_snapshot.set_volume_name("base");
  delete_snapshot.set_snapshot_name("s1");
  EXPECT_THAT(CallWithin(kDeadline, &ZfsService::Stub::DeleteSnapshot, *stub, delete_snapshot),
              GrpcIsOk());
  del.set_name("big");
  EXPECT_THAT(CallWithin(kDeadline, &ZfsService::Stub::DeleteVolume, *stub, del), GrpcIsOk());
  // Out of the reserve again, calls pass.
  MustRun("zfs destroy " + foreign);
  EXPECT_THAT(CreateVolume(*stub, "small", 16 * kMiB), GrpcIsOk());
  for (const std::string& v : PoolViolations(pool.name(), *stub)) ADD_FAILURE() << v;
}

// With the guard off (--reserve-percent 0), ZFS's own refusal of a thick
// volume it cannot reserve is what the caller sees: RESOURCE_EXHAUSTED,
// nothing left behind.
TEST(Space, WithoutTheGuardZfsRefusesAThickVolumeItCannotReserve) {
  ScratchPool pool("mvnoguard");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-noguard.sock", {"--reserve-percent", "0"});
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = StubOf(daemon);
  EXPECT_EQ(Stats(*stub).reserve_bytes(), 0u);
  const uint64_t share = ZfsBytes(pool.name(), "available") / 3 * 2 / kMiB * kMiB;
  ASSERT_THAT(CreateVolume(*stub, "thick-a", share, true), GrpcIsOk());
  const std::string before = PoolState(pool.name());
  EXPECT_THAT(CreateVolume(*stub, "thick-b", share, true),
              GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, HasSubstr("cannot reserve")));
  EXPECT_EQ(PoolState(pool.name()), before) << "nothing made, nothing left under .mvirt/creating";
}

}  // namespace
}  // namespace mvirt::zfs::testing
