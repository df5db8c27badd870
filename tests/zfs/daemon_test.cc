// Real-ZFS tests of the daemon's start-up and shutdown.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Daemon, RefusesToStartWithoutItsPool) {
  DaemonProcess daemon("nosuchpool", "/run/mvirt-zfs-nosuchpool.sock");
  int status = daemon.WaitForExit();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_THAT(daemon.Log(), HasSubstr("cannot serve pool 'nosuchpool'")) << daemon.Log();
}

TEST(Daemon, WarnsAboutEverySeedSettingThePoolLacksAndStopsCleanly) {
  const std::string file = "/var/tmp/mvirt-zfs-plain.img";
  Shell("zpool destroy -f mvplain 2>/dev/null");
  MustRun("rm -f " + file + " && truncate -s 1G " + file);
  // A pool with ZFS's defaults: ashift from the file (9), autotrim off,
  // compression off in 2.1, xattr on, atime on.
  MustRun("zpool create -f -o ashift=9 -o cachefile=none -O compression=off -m none mvplain " +
          file);
  {
    DaemonProcess daemon("mvplain", "/run/mvirt-zfs-plain.sock");
    ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
    const std::string log = daemon.Log();
    EXPECT_THAT(log, HasSubstr("ashift of vdev " + file + " is 9, recommended 12")) << log;
    EXPECT_THAT(log, HasSubstr("autotrim is off, recommended on")) << log;
    EXPECT_THAT(log, HasSubstr("compression is off, recommended lz4")) << log;
    EXPECT_THAT(log, HasSubstr("xattr is on, recommended sa")) << log;
    EXPECT_THAT(log, HasSubstr("atime is on, recommended off")) << log;
    int status = daemon.StopWith(SIGINT);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  MustRun("zpool destroy mvplain && rm -f " + file);
}

// True once process `pid` runs `sleep` with fd 3 open on the device that
// the link `device` resolves to.
bool WaitForHolder(pid_t pid, const std::string& device) {
  char resolved[PATH_MAX];
  if (::realpath(device.c_str(), resolved) == nullptr) return false;
  const std::string proc = "/proc/" + std::to_string(pid);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string comm;
    std::getline(std::ifstream(proc + "/comm"), comm);
    char fd_target[PATH_MAX];
    const ssize_t n = ::readlink((proc + "/fd/3").c_str(), fd_target, sizeof(fd_target) - 1);
    if (comm == "sleep" && n > 0 && std::string(fd_target, n) == resolved) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(Daemon, SigtermLetsACallInFlightFinish) {
  const std::string file = "/var/tmp/mvirt-zfs-inflight.img";
  Shell("zpool destroy -f mvinflight 2>/dev/null");
  MustRun("rm -f " + file + " && truncate -s 1G " + file);
  MustRun("zpool create -f -o ashift=12 -o cachefile=none -O compression=lz4 -m none mvinflight " +
          file);
  {
    DaemonProcess daemon("mvinflight", "/run/mvirt-zfs-inflight.sock");
    ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
    auto stub = ZfsService::NewStub(
        grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
    CreateVolumeRequest create;
    create.set_name("held");
    create.set_size_bytes(16 << 20);
    Volume v;
    {
      grpc::ClientContext ctx;
      ASSERT_TRUE(stub->CreateVolume(&ctx, create, &v).ok());
    }
    // A holder of the device makes DeleteVolume look for it for 2 s before
    // it refuses: long enough for SIGTERM to arrive in the middle.
    const std::string holder =
        MustRun("sh -c 'exec 3<" + v.path() + "; exec sleep 20' >/dev/null 2>&1 & echo $!");
    // The shell runs in the background: wait until it has become `sleep`
    // with the device open, or the delete could win the race and succeed.
    ASSERT_TRUE(WaitForHolder(std::stoi(holder), v.path())) << "holder never opened " << v.path();
    grpc::Status deleted;
    std::thread call([&] {
      DeleteVolumeRequest req;
      req.set_name("held");
      DeleteVolumeResponse resp;
      grpc::ClientContext ctx;
      deleted = stub->DeleteVolume(&ctx, req, &resp);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    int status = daemon.StopWith(SIGTERM);
    call.join();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << daemon.Log();
    EXPECT_EQ(deleted.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << "the call finished with its own answer: " << deleted.error_message();
    EXPECT_THAT(deleted.error_message(), HasSubstr("sleep")) << deleted.error_message();
    Shell("kill " + holder);
  }
  Shell("zpool destroy -f mvinflight");
  ::unlink(file.c_str());
}

TEST(Daemon, SeedPoolGetsNoWarnings) {
  const std::string log = TestPool::daemon().Log();
  EXPECT_THAT(log, Not(HasSubstr("WARNING"))) << log;
  EXPECT_THAT(log, HasSubstr("serving pool 'mvtest'")) << log;
}

}  // namespace
}  // namespace mvirt::zfs::testing
