// Real-ZFS tests of resource faults: the pool out of space under the
// daemon's calls, the pool exported from under the running daemon, and the
// pool suspended by a dead disk. Every refused call changes nothing, the
// daemon stays up and serves again.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "api_fixture.h"
#include "invariants.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<ZfsService::Stub> StubOf(const DaemonProcess& daemon) {
  return ZfsService::NewStub(
      grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
}

constexpr auto kCallDeadline = std::chrono::seconds(60);

grpc::Status Create(ZfsService::Stub& stub, const std::string& name, uint64_t size) {
  CreateVolumeRequest req;
  req.set_name(name);
  req.set_size_bytes(size);
  return CallWithin(kCallDeadline, &ZfsService::Stub::CreateVolume, stub, req);
}

// A full pool: every call either works or is RESOURCE_EXHAUSTED, nothing is
// left half-made, and deleting frees the space again.
TEST(Faults, AFullPoolRefusesCleanlyAndDeleteStillWorks) {
  ScratchPool pool("mvfull");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-full.sock");
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = StubOf(daemon);
  ASSERT_TRUE(Create(*stub, "base", 64 * kMiB).ok());
  CreateSnapshotRequest snap;
  snap.set_volume_name("base");
  snap.set_snapshot_name("s");
  ASSERT_TRUE(CallWithin(kCallDeadline, &ZfsService::Stub::CreateSnapshot, *stub, snap).ok());
  // Fill the pool to its quota with incompressible data.
  ASSERT_TRUE(Create(*stub, "filler", 1536 * kMiB).ok());
  MustRun("zfs set quota=" + std::to_string(200 * kMiB) + " " + pool.name());
  Shell("dd if=/dev/urandom of=/dev/zvol/" + pool.name() +
        "/filler bs=1M count=400 oflag=direct status=none");
  MustRun("zpool sync " + pool.name());

  const std::string before = PoolListing(pool.name());
  std::map<std::string, grpc::Status> results;
  results["create"] = Create(*stub, "more", 64 * kMiB);
  results["snapshot"] = [&] {
    CreateSnapshotRequest req;
    req.set_volume_name("base");
    req.set_snapshot_name("s2");
    return CallWithin(kCallDeadline, &ZfsService::Stub::CreateSnapshot, *stub, req);
  }();
  results["clone"] = [&] {
    CloneVolumeRequest req;
    req.set_source_volume("base");
    req.set_snapshot_name("s");
    req.set_new_volume_name("copy");
    return CallWithin(kCallDeadline, &ZfsService::Stub::CloneVolume, *stub, req);
  }();
  results["resize"] = [&] {
    ResizeVolumeRequest req;
    req.set_name("base");
    req.set_new_size_bytes(128 * kMiB);
    return CallWithin(kCallDeadline, &ZfsService::Stub::ResizeVolume, *stub, req);
  }();
  results["promote"] = [&] {
    PromoteSnapshotRequest req;
    req.set_volume_name("base");
    req.set_snapshot_name("s");
    req.set_template_name("gold");
    return CallWithin(kCallDeadline, &ZfsService::Stub::PromoteSnapshotToTemplate, *stub, req);
  }();
  int refused = 0;
  for (const auto& [what, s] : results) {
    EXPECT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
        << what << ": " << s.error_code() << " " << s.error_message();
    refused += s.ok() ? 0 : 1;
    std::printf("full pool: %s -> %s\n", what.c_str(), s.ok() ? "OK" : s.error_message().c_str());
  }
  for (const std::string& v : PoolViolations(pool.name(), *stub)) ADD_FAILURE() << v;
  if (refused == static_cast<int>(results.size())) {
    EXPECT_EQ(PoolListing(pool.name()), before) << "every call was refused: nothing may change";
  }
  // Deleting still works, and frees the space.
  DeleteVolumeRequest del;
  del.set_name("filler");
  grpc::Status s = CallWithin(kCallDeadline, &ZfsService::Stub::DeleteVolume, *stub, del);
  EXPECT_TRUE(s.ok()) << s.error_message();
  MustRun("zfs set quota=none " + pool.name());
  EXPECT_TRUE(Create(*stub, "after", 64 * kMiB).ok());
  EXPECT_TRUE(daemon.Alive()) << "the daemon stays up";
}

// The pool exported from under the daemon: calls are UNAVAILABLE (not
// NOT_FOUND: the volumes are not known to be gone), the daemon stays up, and
// serves again once the pool is back.
TEST(Faults, APoolExportedUnderTheDaemonIsUnavailableUntilItIsBack) {
  ScratchPool pool("mvexport");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-export.sock");
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = StubOf(daemon);
  ASSERT_TRUE(Create(*stub, "vm-disk", 16 * kMiB).ok());
  bool exported = false;
  for (int i = 0; i < 20 && !exported; ++i) {  // udev may still hold the new device
    exported = Shell("zpool export -f " + pool.name()).exit_code == 0;
    if (!exported) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(exported);
  GetVolumeRequest get;
  get.set_name("vm-disk");
  grpc::Status s = CallWithin(kCallDeadline, &ZfsService::Stub::GetVolume, *stub, get);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("is not imported")) << s.error_message();
  s = CallWithin(kCallDeadline, &ZfsService::Stub::ListVolumes, *stub, ListVolumesRequest());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  s = CallWithin(kCallDeadline, &ZfsService::Stub::GetPoolStats, *stub, GetPoolStatsRequest());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  s = Create(*stub, "while-away", 16 * kMiB);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_TRUE(daemon.Alive()) << "the daemon stays up";

  MustRun("zpool import -d /var/tmp -o cachefile=none " + pool.name());
  s = CallWithin(kCallDeadline, &ZfsService::Stub::GetVolume, *stub, get);
  EXPECT_TRUE(s.ok()) << "served again: " << s.error_message();
}

// A pool on a device-mapper device that can be turned into an "error"
// target: every I/O to the disk fails, as when a disk or its only path
// dies, and the pool (failmode=wait, the default) suspends. Turning the
// table back and `zpool clear` resume it. The destructor always restores
// and removes everything, each step bounded by `timeout`.
class SuspendablePool {
 public:
  explicit SuspendablePool(std::string name)
      : name_(std::move(name)),
        file_("/var/tmp/mvirt-zfs-test-" + name_ + ".img"),
        dm_(name_ + "-vdev") {
    Shell("zpool destroy -f " + name_ + " 2>/dev/null; dmsetup remove " + dm_ + " 2>/dev/null");
    MustRun("rm -f " + file_ + " && truncate -s 1G " + file_);
    Shell("modprobe loop; modprobe dm-mod");
    loop_ = MustRun("losetup -f --show " + file_);
    loop_.erase(loop_.find_last_not_of(" \n") + 1);
    // The guest's udev has no device-mapper rules: make the node ourselves.
    MustRun("dmsetup create " + dm_ + " --table '" + Table("linear " + loop_ + " 0") +
            "' && dmsetup mknodes " + dm_);
    MustRun("zpool create -f -o cachefile=none -o failmode=wait -m none " + name_ +
            " /dev/mapper/" + dm_);
  }
  ~SuspendablePool() {
    Restore();
    Shell("timeout 60 zpool destroy -f " + name_);
    Shell("timeout 30 dmsetup remove " + dm_);
    Shell("losetup -d " + loop_);
    Shell("rm -f " + file_);
  }
  const std::string& name() const { return name_; }

  // Every I/O to the pool's disk fails from now on.
  void KillTheDisk() { Swap(Table("error")); }
  // The disk works again and the pool is told to resume (zpool clear).
  // True once the pool is ONLINE.
  bool Restore() {
    Swap(Table("linear " + loop_ + " 0"));
    Shell("timeout 60 zpool clear " + name_);
    return WaitForHealth("ONLINE", std::chrono::seconds(60));
  }
  // True once `zpool list` shows the pool's health as `health` ("SUSPENDED",
  // "ONLINE"), within `limit`.
  bool WaitForHealth(const std::string& health, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      CommandResult r = Shell("timeout 10 zpool list -H -o health " + name_);
      if (r.exit_code == 0 && r.output.substr(0, health.size()) == health) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return false;
  }

 private:
  static std::string Table(const std::string& target) {
    return "0 " + std::to_string((1ULL << 30) / 512) + " " + target;
  }
  void Swap(const std::string& table) {
    Shell("timeout 30 dmsetup suspend --noflush " + dm_ + " && timeout 30 dmsetup reload " + dm_ +
          " --table '" + table + "'; timeout 30 dmsetup resume " + dm_);
  }

  std::string name_;
  std::string file_;
  std::string dm_;
  std::string loop_;
};

// The pool suspended under the daemon (its disk dead): mutations are
// UNAVAILABLE within their deadline (ZFS refuses them with EAGAIN rather
// than block), reads answer, the daemon stays up, nothing half-made is
// left, and once the disk is back and the pool cleared it serves again.
TEST(Faults, ASuspendedPoolIsUnavailableUntilItResumes) {
  SuspendablePool pool("mvsusp");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-susp.sock");
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = StubOf(daemon);
  ASSERT_TRUE(Create(*stub, "vm-disk", 16 * kMiB).ok());
  ASSERT_TRUE(Create(*stub, "other", 16 * kMiB).ok());

  pool.KillTheDisk();
  // A guest writing to its disk: the write cannot reach the dead disk, the
  // transaction group sync fails and the pool suspends; the writer waits.
  Shell("(dd if=/dev/urandom of=/dev/zvol/" + pool.name() +
        "/vm-disk bs=1M count=4 oflag=direct conv=fsync; zpool sync " + pool.name() +
        ") >/dev/null 2>&1 &");
  ASSERT_TRUE(pool.WaitForHealth("SUSPENDED", std::chrono::seconds(120)))
      << MustRun("zpool status " + pool.name());

  const auto expect_unavailable = [&](const std::string& what, const grpc::Status& s) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << what << ": " << s.error_message();
    std::printf("suspended pool: %s -> %d %s\n", what.c_str(), static_cast<int>(s.error_code()),
                s.error_message().c_str());
  };
  expect_unavailable("create", Create(*stub, "while-suspended", 16 * kMiB));
  {
    CreateSnapshotRequest req;
    req.set_volume_name("other");
    req.set_snapshot_name("s");
    expect_unavailable("snapshot",
                       CallWithin(kCallDeadline, &ZfsService::Stub::CreateSnapshot, *stub, req));
  }
  {
    ResizeVolumeRequest req;
    req.set_name("other");
    req.set_new_size_bytes(32 * kMiB);
    expect_unavailable("resize",
                       CallWithin(kCallDeadline, &ZfsService::Stub::ResizeVolume, *stub, req));
  }
  {
    GetVolumeRequest req;
    req.set_name("other");
    grpc::Status s = CallWithin(kCallDeadline, &ZfsService::Stub::GetVolume, *stub, req);
    EXPECT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::UNAVAILABLE) << s.error_message();
  }
  EXPECT_TRUE(daemon.Alive()) << "the daemon stays up";

  ASSERT_TRUE(pool.Restore()) << MustRun("zpool status " + pool.name());
  grpc::Status s = Create(*stub, "after", 16 * kMiB);
  EXPECT_TRUE(s.ok()) << "served again: " << s.error_message();
  EXPECT_EQ(ZfsGet(pool.name() + "/other", "volsize"), std::to_string(16 * kMiB))
      << "the refused resize changed nothing";
  EXPECT_FALSE(DatasetExists(pool.name() + "/while-suspended"));
  EXPECT_FALSE(DatasetExists(pool.name() + "/other@s"));
  for (const std::string& v : PoolViolations(pool.name(), *stub)) ADD_FAILURE() << v;
  EXPECT_TRUE(daemon.Alive());
  daemon.StopWith(SIGTERM);
}

}  // namespace
}  // namespace mvirt::zfs::testing
