// Real-ZFS tests of the daemon's start-up and shutdown.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

TEST(Daemon, RefusesToStartWithoutItsPool) {
  DaemonProcess daemon("nosuchpool", "/run/mvirt-zfs-nosuchpool.sock");
  int status = daemon.WaitForExit();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(daemon.Log().find("cannot serve pool 'nosuchpool'"), std::string::npos) << daemon.Log();
}

TEST(Daemon, WarnsAboutEverySeedSettingThePoolLacksAndStopsCleanly) {
  const std::string file = "/var/tmp/mvirt-zfs-plain.img";
  Shell("zpool destroy -f mvplain 2>/dev/null");
  MustRun("rm -f " + file + " && truncate -s 1G " + file);
  // A pool with ZFS's defaults: ashift from the file (9), autotrim off,
  // compression off in 2.1, xattr on, atime on.
  MustRun("zpool create -f -o ashift=9 -o cachefile=none -O compression=off -m none mvplain " + file);
  {
    DaemonProcess daemon("mvplain", "/run/mvirt-zfs-plain.sock");
    ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
    const std::string log = daemon.Log();
    EXPECT_NE(log.find("ashift is 9, recommended 12"), std::string::npos) << log;
    EXPECT_NE(log.find("autotrim is off, recommended on"), std::string::npos) << log;
    EXPECT_NE(log.find("compression is off, recommended lz4"), std::string::npos) << log;
    EXPECT_NE(log.find("xattr is on, recommended sa"), std::string::npos) << log;
    EXPECT_NE(log.find("atime is on, recommended off"), std::string::npos) << log;
    int status = daemon.StopWith(SIGINT);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  MustRun("zpool destroy mvplain && rm -f " + file);
}

TEST(Daemon, SeedPoolGetsNoWarnings) {
  const std::string log = TestPool::daemon().Log();
  EXPECT_EQ(log.find("WARNING"), std::string::npos) << log;
  EXPECT_NE(log.find("serving pool 'mvtest'"), std::string::npos) << log;
}

}  // namespace
}  // namespace mvirt::zfs::testing
