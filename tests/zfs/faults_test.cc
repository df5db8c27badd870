// Real-ZFS tests of resource faults: the pool out of space under the
// daemon's calls, and the pool exported from under the running daemon.
// Every refused call changes nothing, the daemon stays up and serves again.
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
  EXPECT_NE(s.error_message().find("is not imported"), std::string::npos) << s.error_message();
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

}  // namespace
}  // namespace mvirt::zfs::testing
