// End-to-end tests of mvirt-zfsctl against the real daemon and pool.
#include <gtest/gtest.h>

#include <algorithm>

#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

CommandResult Ctl(const std::string& args) {
  return Shell(CliPath() + " --endpoint " + TestPool::daemon().endpoint() + " " + args);
}

TEST(Cli, VolumeLifecycleEndToEnd) {
  const std::string ds = std::string(TestPool::kPool) + "/cli-vol";
  CommandResult r = Ctl("volume create cli-vol 64M --volblocksize 8K --id 12345678-1234-4234-8234-123456789abc");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("/dev/zvol/" + ds), std::string::npos) << r.output;
  EXPECT_EQ(ZfsGet(ds, "volsize"), std::to_string(64 << 20));
  EXPECT_EQ(ZfsGet(ds, "volblocksize"), "8192");

  r = Ctl("volume list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cli-vol"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("64 MiB"), std::string::npos) << r.output;

  r = Ctl("--json volume get cli-vol");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"id\":\"12345678-1234-4234-8234-123456789abc\""), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("\"volsize_bytes\":\"67108864\""), std::string::npos) << r.output;

  r = Ctl("volume resize cli-vol 1G");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ZfsGet(ds, "volsize"), std::to_string(1 << 30));

  r = Ctl("volume resize cli-vol 64M");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("FAILED_PRECONDITION"), std::string::npos) << r.output;

  r = Ctl("pool stats");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(TestPool::kPool), std::string::npos) << r.output;

  r = Ctl("volume delete cli-vol");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(DatasetExists(ds));

  r = Ctl("volume get cli-vol");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find("NOT_FOUND"), std::string::npos) << r.output;
}

TEST(Cli, BadInputIsOneClearLineAndNonZeroExit) {
  CommandResult r = Ctl("volume create x 12Q");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("invalid size '12Q'"), std::string::npos) << r.output;
  r = Ctl("volume create bad/name 1G");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("INVALID_ARGUMENT"), std::string::npos) << r.output;
  r = Ctl("version");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(MVIRT_ZFS_VERSION), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mvirt::zfs::testing
