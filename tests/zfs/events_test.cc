// Real-ZFS tests of honest events and bounded calls: with udev's queue
// stopped a create times out waiting for its device, yet the volume exists,
// a watcher saw it, and the retry with the same id succeeds once udev runs
// again; a call waiting for another call's lock on the same name ends at its
// deadline and then does nothing; watch streams are bounded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "api_fixture.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Stops udev from running its rules (no /dev/zvol links appear) for its
// lifetime.
class UdevStopped {
 public:
  UdevStopped() { MustRun("udevadm control --stop-exec-queue"); }
  ~UdevStopped() { Start(); }
  void Start() {
    if (started_) return;
    started_ = true;
    MustRun("udevadm control --start-exec-queue && udevadm settle --timeout=60");
  }

 private:
  bool started_ = false;
};

std::unique_ptr<ZfsService::Stub> StubOf(const DaemonProcess& daemon) {
  return ZfsService::NewStub(
      grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
}

grpc::Status CreateOn(ZfsService::Stub& stub, const std::string& name, const std::string& id,
                      Volume* out, std::chrono::seconds deadline = std::chrono::seconds(120)) {
  CreateVolumeRequest req;
  req.set_name(name);
  req.set_size_bytes(16 * kMiB);
  req.set_id(id);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  return stub.CreateVolume(&ctx, req, out);
}

TEST(Events, ACreateWhoseDeviceIsLateIsPublishedAndItsRetrySucceeds) {
  ScratchPool pool("mvevents");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-events.sock", {"--device-timeout", "1"});
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = StubOf(daemon);
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
  auto watch = stub->WatchVolumes(&watch_ctx, WatchVolumesRequest());

  Volume v;
  {
    UdevStopped udev;
    grpc::Status s = CreateOn(*stub, "late-device", kId1, &v);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("retry")) << s.error_message();
    EXPECT_EQ(ZfsGet(pool.name() + "/late-device", "mvirt:id"), kId1) << "the volume exists";
    VolumeEvent e;
    ASSERT_TRUE(watch->Read(&e)) << "the watcher hears of the volume although the call failed";
    EXPECT_EQ(e.volume_id(), kId1);
    ASSERT_TRUE(e.has_volume());
    EXPECT_EQ(e.volume().name(), "late-device");
  }
  grpc::Status s = CreateOn(*stub, "late-device", kId1, &v);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(v.id(), kId1);
  EXPECT_EQ(DeviceDatasetName(v.path()), pool.name() + "/late-device");
  watch_ctx.TryCancel();
}

TEST(Events, AWaitForABusyNameEndsAtTheDeadlineAndThenDoesNothing) {
  ScratchPool pool("mvdeadline");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-deadline.sock", {"--device-timeout", "20"});
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = StubOf(daemon);
  Volume v;
  UdevStopped udev;
  // The create holds the name while it waits (up to 20 s) for its device.
  grpc::Status created;
  std::thread create([&] { created = CreateOn(*stub, "contended", kId1, &v); });
  for (int i = 0; i < 100 && !DatasetExists(pool.name() + "/contended"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(DatasetExists(pool.name() + "/contended"));
  // A delete of the same name with a 2 s deadline gives up waiting...
  DeleteVolumeRequest del;
  del.set_name("contended");
  DeleteVolumeResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  auto start = std::chrono::steady_clock::now();
  grpc::Status s = stub->DeleteVolume(&ctx, del, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  // ...and, when the create is done, has not deleted anything.
  udev.Start();
  create.join();
  EXPECT_TRUE(created.ok()) << created.error_message();
  // A delete that outlived its caller would run now, the lock being free.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_TRUE(DatasetExists(pool.name() + "/contended")) << "the late delete did nothing";
  EXPECT_THAT(daemon.Log(), Not(HasSubstr("deleted volume"))) << daemon.Log();
}

TEST(Events, SigtermEndsTheDaemonWithinTheShutdownTimeoutWhileACallWaits) {
  ScratchPool pool("mvstop");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-stop.sock",
                       {"--device-timeout", "300", "--shutdown-timeout", "3"});
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = StubOf(daemon);
  UdevStopped udev;
  Volume v;
  grpc::Status created;
  std::thread create(
      [&] { created = CreateOn(*stub, "stuck", kId1, &v, std::chrono::seconds(600)); });
  for (int i = 0; i < 100 && !DatasetExists(pool.name() + "/stuck"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(DatasetExists(pool.name() + "/stuck")) << "the create waits for its device";
  auto start = std::chrono::steady_clock::now();
  int status = daemon.StopWith(SIGTERM);
  auto took = std::chrono::steady_clock::now() - start;
  create.join();
  EXPECT_LT(took, std::chrono::seconds(6)) << "--shutdown-timeout 3\n" << daemon.Log();
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_FALSE(created.ok()) << "the waiting call was ended";
}

// A call that cannot be cancelled (DeleteVolume keeps asking ZFS for about
// 3 s while the kernel says the device is busy) does not keep a stopping
// daemon past --shutdown-timeout: it exits 1 at the timeout.
TEST(Events, SigtermExitsAtTheShutdownTimeoutWhenACallCannotBeEnded) {
  ScratchPool pool("mvhardstop");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-hardstop.sock", {"--shutdown-timeout", "1"});
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = StubOf(daemon);
  Volume v;
  ASSERT_TRUE(CreateOn(*stub, "held", "", &v).ok());
  std::string holder =
      MustRun("sh -c 'exec 3<" + v.path() + "; exec sleep 60' >/dev/null 2>&1 & echo $!");
  holder = holder.substr(0, holder.find('\n'));
  const std::string device = MustRun("readlink -f " + v.path());
  bool holding = false;
  for (int i = 0; i < 200 && !holding; ++i) {
    holding = Shell("readlink /proc/" + holder + "/fd/3").output == device &&
              Shell("cat /proc/" + holder + "/comm").output == "sleep\n";
    if (!holding) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(holding) << "the holder never opened " << v.path();
  grpc::Status deleted;
  std::thread call([&] {
    DeleteVolumeRequest req;
    req.set_name("held");
    DeleteVolumeResponse resp;
    grpc::ClientContext ctx;
    deleted = stub->DeleteVolume(&ctx, req, &resp);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  int status = daemon.StopWith(SIGTERM);
  auto took = std::chrono::steady_clock::now() - start;
  call.join();
  Shell("kill " + holder);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status << "\n" << daemon.Log();
  EXPECT_LT(took, std::chrono::milliseconds(2500)) << daemon.Log();
  EXPECT_THAT(daemon.Log(), HasSubstr("still stopping after 1s (--shutdown-timeout): exiting now"))
      << daemon.Log();
  EXPECT_TRUE(DatasetExists(pool.name() + "/held")) << "the refused delete changed nothing";
}

TEST(Events, WatchStreamsAreBounded) {
  ScratchPool pool("mvwatchers");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-watchers.sock", {"--max-watchers", "2"});
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = StubOf(daemon);
  grpc::ClientContext a, b, c;
  auto first = stub->WatchVolumes(&a, WatchVolumesRequest());
  auto second = stub->WatchVolumes(&b, WatchVolumesRequest());
  Volume v;
  ASSERT_TRUE(CreateOn(*stub, "watched", "", &v).ok());
  VolumeEvent e;
  ASSERT_TRUE(first->Read(&e));
  ASSERT_TRUE(second->Read(&e));
  auto third = stub->WatchVolumes(&c, WatchVolumesRequest());
  EXPECT_FALSE(third->Read(&e));
  grpc::Status s = third->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("--max-watchers")) << s.error_message();
  a.TryCancel();
  first->Finish();
  // A slot is free again (once the server has seen the cancellation).
  bool read = false;
  for (int i = 0; i < 50 && !read; ++i) {
    grpc::ClientContext d;
    auto fourth = stub->WatchVolumes(&d, WatchVolumesRequest());
    read = fourth->Read(&e);
    d.TryCancel();
    fourth->Finish();
    if (!read) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(read) << "a freed slot is taken again";
  b.TryCancel();
  second->Finish();
}

}  // namespace
}  // namespace mvirt::zfs::testing
