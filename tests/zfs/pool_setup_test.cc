// Setting up a pool the way the seed prescribes, on real ZFS:
// `mvirt-zfsctl pool check` (the CheckPool RPC) on a pool built with the
// wrong settings, and `mvirt-zfs pool init` on fresh and used file vdevs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kSocket[] = "/run/mvirt-zfs-poolcheck.sock";

std::string Trim(const std::string& s) {
  const size_t end = s.find_last_not_of(" \n");
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}

CommandResult CtlOn(const DaemonProcess& daemon, const std::string& args) {
  return Shell(CliPath() + " --endpoint " + daemon.endpoint() + " " + args);
}

TEST(PoolCheck, NamesEveryDifferenceAndTheCommandsThatFixThem) {
  ScratchPool pool("mvbadset", "-o ashift=9 -o autotrim=off -O compression=off -O atime=on");
  DaemonProcess daemon(pool.name(), kSocket);
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  EXPECT_THAT(daemon.Log(), HasSubstr("compression is off, recommended lz4")) << daemon.Log();

  CommandResult r = CtlOn(daemon, "pool check");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("5 settings differ")) << r.output;
  const std::string file = "/var/tmp/mvirt-zfs-test-mvbadset.img";
  for (const std::string& expected :
       {"ashift       " + file + "  9", std::string("zpool set autotrim=on mvbadset"),
        std::string("zfs set compression=lz4 mvbadset"), std::string("zfs set xattr=sa mvbadset"),
        std::string("zfs set atime=off mvbadset")}) {
    EXPECT_THAT(r.output, HasSubstr(expected)) << r.output;
  }
  EXPECT_THAT(r.output, HasSubstr("xattr        -")) << "ZFS's default is xattr=on";

  r = CtlOn(daemon, "--json pool check");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"setting\":\"ashift\",\"vdev\":\"" + file +
                                  "\",\"actual\":\"9\",\"wanted\":\"12\""))
      << r.output;

  // The commands it names fix what they say; ashift cannot be fixed.
  MustRun(
      "zpool set autotrim=on mvbadset && zfs set compression=lz4 mvbadset && "
      "zfs set xattr=sa mvbadset && zfs set atime=off mvbadset");
  r = CtlOn(daemon, "pool check");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("1 setting differs")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("zpool create -o ashift=12")) << r.output;
}

TEST(PoolCheck, ThePoolTheSeedDescribesPasses) {
  ScratchPool pool("mvgoodset");
  DaemonProcess daemon(pool.name(), kSocket);
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  CommandResult r = CtlOn(daemon, "pool check");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("pool 'mvgoodset' (ONLINE) follows the seed's standards"));
}

class PoolInitTest : public ::testing::Test {
 protected:
  static constexpr const char* kPool = "mvinit";
  void SetUp() override {
    Shell(std::string("zpool destroy -f ") + kPool + " 2>/dev/null");
    Shell("zpool destroy -f mvinitold 2>/dev/null");
    MustRun("rm -rf " + dir_ + " && mkdir -p " + dir_);
  }
  void TearDown() override {
    Shell(std::string("zpool destroy -f ") + kPool + " 2>/dev/null");
    Shell("zpool destroy -f mvinitold 2>/dev/null");
    // What a failed block-device test may have left.
    Shell("umount " + dir_ +
          "/mnt 2>/dev/null; dmsetup remove mvinit-held 2>/dev/null; "
          "losetup -n -O NAME -j " +
          dir_ + "/loop.img | xargs -r -n1 losetup -d");
    Shell("rm -rf " + dir_);
  }
  std::string File(const std::string& name, const std::string& size = "256M") {
    const std::string path = dir_ + "/" + name;
    MustRun("truncate -s " + size + " " + path);
    return path;
  }
  // `mvirt-zfs pool init --pool mvinit ARGS` with `answer` on stdin.
  CommandResult Init(const std::string& args, const std::string& answer = "") {
    return Shell("echo '" + answer + "' | " + DaemonPath() + " pool init --pool " + kPool + " " +
                 args);
  }
  bool PoolExists(const std::string& name = kPool) {
    return Shell("zpool list " + name + " >/dev/null 2>&1").exit_code == 0;
  }
  const std::string dir_ = "/var/tmp/mvirt-zfs-test-init";
};

TEST_F(PoolInitTest, CreatesThePoolTheSeedPrescribesOnceConfirmed) {
  const std::string a = File("a.img"), b = File("b.img");
  CommandResult r = Init(a + " " + b, "yes");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("striped over 2 devices")) << r.output;
  EXPECT_THAT(r.output, HasSubstr(a + "  file, 256 MiB")) << r.output;
  EXPECT_THAT(r.output,
              HasSubstr("created pool 'mvinit' (ONLINE); it follows the seed's standards"))
      << r.output;
  EXPECT_EQ(MustRun("zpool get -H -o value ashift,autotrim mvinit"), "12\non\n");
  EXPECT_EQ(MustRun("zfs get -H -o value compression,xattr,atime mvinit"), "lz4\nsa\noff\n");
  const std::string vdevs = MustRun("zpool list -H -v -P mvinit");
  EXPECT_THAT(vdevs, HasSubstr(a));
  EXPECT_THAT(vdevs, HasSubstr(b));

  // Each top-level vdev has ashift 12, as the daemon's pool check reads it.
  MustRun("zpool set cachefile=none mvinit");
  DaemonProcess daemon(kPool, kSocket);
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  r = CtlOn(daemon, "pool check");
  EXPECT_EQ(r.exit_code, 0) << r.output;

  // A pool of that name exists now: refused, nothing changed.
  r = Init(File("c.img"), "yes");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("pool 'mvinit' already exists")) << r.output;
}

TEST_F(PoolInitTest, NothingHappensWithoutYes) {
  const std::string a = File("a.img");
  for (const char* answer : {"", "no", "n"}) {
    CommandResult r = Init(a, answer);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("not confirmed; nothing done")) << r.output;
    EXPECT_FALSE(PoolExists());
  }
  CommandResult r = Shell(DaemonPath() + " pool init --pool mvinit --yes " + a + " </dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(PoolExists());
}

TEST_F(PoolInitTest, RefusesDevicesItMustNotWriteOver) {
  const std::string ext4 = File("ext4.img");
  MustRun("mkfs.ext4 -q -F " + ext4);
  const std::string small = File("small.img", "32M");
  const std::string fresh = File("fresh.img");
  CommandResult r = Init(ext4 + " " + small + " " + dir_ + "/missing.img " + fresh, "yes");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(ext4 + " carries a ext4 filesystem (--force writes over it)"));
  EXPECT_THAT(r.output, HasSubstr(small + " is 33554432 bytes; ZFS needs at least 64 MiB"));
  EXPECT_THAT(r.output, HasSubstr(dir_ + "/missing.img does not exist"));
  EXPECT_THAT(r.output, HasSubstr("nothing done")) << r.output;
  EXPECT_FALSE(PoolExists());
  EXPECT_EQ(MustRun("blkid -o value -s TYPE " + ext4), "ext4\n") << "left as it was";

  r = Init(fresh + " " + fresh, "yes");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(fresh + " is named twice")) << r.output;

  // A vdev of an imported pool: refused even with --force.
  const std::string old = File("old.img");
  MustRun("zpool create -o cachefile=none -m none mvinitold " + old);
  r = Init("--force " + old, "yes");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(old + " is in use: a vdev of the imported pool 'mvinitold'"))
      << r.output;
  EXPECT_FALSE(PoolExists());

  // Exported, its label stays: refused without --force, written over with it.
  MustRun("zpool export mvinitold");
  r = Init(old, "yes");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("carries a ZFS label of pool 'mvinitold' (exported)"))
      << r.output;
  r = Init("--force " + old + " " + ext4, "yes");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("overwriting: ext4 filesystem")) << r.output;
  EXPECT_TRUE(PoolExists());
}

// A block device (a loop device over a file): refused while mounted or
// held by device mapper, whatever --force says; then used as given.
TEST_F(PoolInitTest, ABlockDeviceInUseIsRefusedAndAFreeOneIsUsedAsGiven) {
  const std::string file = File("loop.img");
  MustRun("modprobe loop");  // a module in the test guest's kernel
  const std::string loop = Trim(MustRun("losetup --find --show " + file));
  ASSERT_THAT(loop, ::testing::StartsWith("/dev/loop"));
  MustRun("mkfs.ext4 -q -F " + loop + " && mkdir -p " + dir_ + "/mnt && mount " + loop + " " +
          dir_ + "/mnt");
  CommandResult r = Init("--force " + loop, "yes");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(loop + " is in use: mounted at " + dir_ + "/mnt")) << r.output;
  MustRun("umount " + dir_ + "/mnt");

  const std::string sectors = Trim(MustRun("blockdev --getsz " + loop));
  MustRun("dmsetup create mvinit-held --table '0 " + sectors + " linear " + loop + " 0'");
  r = Init("--force " + loop, "yes");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(loop + " is in use: held by dm-")) << r.output;
  MustRun("dmsetup remove mvinit-held");
  EXPECT_FALSE(PoolExists());

  // Free now, but it carries ext4: --force writes over it.
  r = Init(loop, "yes");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(loop + " carries a ext4 filesystem")) << r.output;
  r = Init("--force " + loop, "yes");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(loop + "  block device, 256 MiB")) << r.output;
  EXPECT_THAT(MustRun("zpool list -H -v -P mvinit"), HasSubstr(loop));
  EXPECT_EQ(Shell("ls " + loop + "p1 2>/dev/null").output, "") << "no partition table written";
  Shell(std::string("zpool destroy -f ") + kPool);
  Shell("losetup -d " + loop);
}

TEST_F(PoolInitTest, BadNamesAndUsageAreRefused) {
  const std::string a = File("a.img");
  CommandResult r = Shell(DaemonPath() + " pool init --pool mirror --yes " + a + " </dev/null");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("invalid pool name 'mirror'")) << r.output;
  r = Shell(DaemonPath() + " pool init --yes " + a);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--pool is required")) << r.output;
  r = Shell(DaemonPath() + " pool init --pool mvinit");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_FALSE(PoolExists());
}

}  // namespace
}  // namespace mvirt::zfs::testing
