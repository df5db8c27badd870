// Real-ZFS test of what the daemon tells systemd (Type=notify, WatchdogSec=)
// through a stand-in for systemd's notify socket: the test binds the
// datagram socket, starts the daemon with NOTIFY_SOCKET and WATCHDOG_USEC as
// systemd would, and reads each message: STATUS= with the pool's state and
// volume count,
// READY=1 once serving, WATCHDOG=1 every half interval while the daemon
// serves (and not while it is frozen), STOPPING=1 at SIGTERM.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "notify_socket.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

TEST(SystemdNotify, ReadyStatusWatchdogAndStoppingAsSystemdSeesThem) {
  ScratchPool pool("mvnotify");
  NotifySocket notify("/run/mvirt-zfs-test-notify.sock");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-notify.sock", {},
                       {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=2000000"});
  std::vector<std::string> start = notify.CollectUntil("READY=1", std::chrono::seconds(120));
  ASSERT_THAT(start, Contains("READY=1")) << daemon.Log();
  EXPECT_THAT(start, Contains("STATUS=pool mvnotify: ONLINE"));
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  // The count follows the state (maybe before READY=1 already).
  if (Count(start, "STATUS=pool mvnotify: ONLINE, 0 volumes") == 0) {
    EXPECT_THAT(
        notify.CollectUntil("STATUS=pool mvnotify: ONLINE, 0 volumes", std::chrono::seconds(30)),
        Contains("STATUS=pool mvnotify: ONLINE, 0 volumes"));
  }

  // The volume count follows creates.
  auto stub = ZfsService::NewStub(
      grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
  CreateVolumeRequest create;
  create.set_name("counted");
  create.set_size_bytes(64 << 20);
  Volume volume;
  ASSERT_TRUE(
      CallWithin(std::chrono::seconds(120), &ZfsService::Stub::CreateVolume, *stub, create, &volume)
          .ok());
  EXPECT_THAT(
      notify.CollectUntil("STATUS=pool mvnotify: ONLINE, 1 volume", std::chrono::seconds(30)),
      Contains("STATUS=pool mvnotify: ONLINE, 1 volume"));

  // WatchdogSec=2: a ping every second while the daemon serves.
  std::vector<std::string> serving = notify.Collect(std::chrono::seconds(5));
  EXPECT_GE(Count(serving, "WATCHDOG=1"), 3) << daemon.Log();

  // The pool gone: the state changes, the daemon still serves (health
  // NOT_SERVING), so it keeps pinging: systemd must not restart a daemon
  // for its pool.
  MustRun("zpool export -f " + pool.name());
  std::vector<std::string> exported = notify.Collect(std::chrono::seconds(8));
  EXPECT_THAT(exported, Contains(HasSubstr("STATUS=pool mvnotify: ")));
  EXPECT_THAT(exported, ::testing::Not(Contains(HasSubstr("ONLINE"))));
  EXPECT_THAT(exported, ::testing::Not(Contains(HasSubstr("volume")))) << "no count while exported";
  EXPECT_GE(Count(exported, "WATCHDOG=1"), 4) << daemon.Log();
  MustRun("zpool import -d /var/tmp -o cachefile=none " + pool.name());
  std::vector<std::string> back =
      notify.CollectUntil("STATUS=pool mvnotify: ONLINE, 1 volume", std::chrono::seconds(30));
  EXPECT_THAT(back, Contains("STATUS=pool mvnotify: ONLINE, 1 volume"));

  // A frozen daemon does not ping (systemd would restart it).
  ASSERT_EQ(::kill(daemon.pid(), SIGSTOP), 0);
  notify.Collect(std::chrono::milliseconds(300));  // what was in flight
  std::vector<std::string> frozen = notify.Collect(std::chrono::seconds(4));
  EXPECT_EQ(Count(frozen, "WATCHDOG=1"), 0);
  ASSERT_EQ(::kill(daemon.pid(), SIGCONT), 0);
  std::vector<std::string> thawed = notify.Collect(std::chrono::seconds(4));
  EXPECT_GE(Count(thawed, "WATCHDOG=1"), 2);

  ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
  std::vector<std::string> stopping = notify.CollectUntil("STOPPING=1", std::chrono::seconds(60));
  EXPECT_THAT(stopping, Contains("STOPPING=1"));
  const int status = daemon.WaitForExit(std::chrono::seconds(60));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << daemon.Log();
  EXPECT_EQ(daemon.SanitizerReports(), "");
}

}  // namespace
}  // namespace mvirt::zfs::testing
