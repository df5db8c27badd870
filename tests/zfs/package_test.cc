// Real-ZFS test of the Debian package (scripts/package.sh): its daemon and
// CLI, unpacked from build-deb/mvirt-zfs_*.deb, run on a real pool the way
// its systemd unit starts them (the unit's ExecStart with the packaged
// config file), under a stand-in for systemd's notify socket: READY,
// STATUS, watchdog pings, health, metrics, a volume made and listed with
// the packaged CLI, STOPPING and a clean exit. (Install, upgrade, remove
// and purge are tests/package/package_test.sh, on the host.)
#include <glob.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "notify_socket.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kRoot[] = "/var/tmp/mvirt-zfs-package-root";

// The package scripts/package.sh built, or "" if there is none.
std::string BuiltPackage() {
  glob_t g;
  const std::string pattern =
      std::string(MVIRT_TEST_SOURCE_DIR) + "/../../build-deb/mvirt-zfs_*_amd64.deb";
  std::string found;
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0 && g.gl_pathc == 1) found = g.gl_pathv[0];
  ::globfree(&g);
  return found;
}

// The words of the unit's ExecStart= line.
std::vector<std::string> ExecStart(const std::string& unit_file) {
  std::ifstream in(unit_file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("ExecStart=", 0) != 0) continue;
    std::istringstream words(line.substr(10));
    std::vector<std::string> out;
    for (std::string w; words >> w;) out.push_back(w);
    return out;
  }
  return {};
}

TEST(Package, TheUnitsCommandServesAPoolWithThePackagedConfigAndCli) {
  const std::string deb = BuiltPackage();
  ASSERT_NE(deb, "") << "no build-deb/mvirt-zfs_*_amd64.deb: run scripts/package.sh first "
                        "(scripts/test.sh does)";
  MustRun(std::string("rm -rf ") + kRoot + " && dpkg-deb -x " + deb + " " + kRoot);
  const std::string root = kRoot;
  std::vector<std::string> exec = ExecStart(root + "/usr/lib/systemd/system/mvirt-zfs.service");
  ASSERT_EQ(exec, (std::vector<std::string>{"/usr/sbin/mvirt-zfs", "--config",
                                            "/etc/mvirt-zfs/mvirt-zfs.toml"}));

  ScratchPool pool("mvpackage");
  NotifySocket notify("/run/mvirt-zfs-test-package-notify.sock");
  // The unit's command with the unpacked paths; the host-specific values
  // the test must change (its pool, a socket of its own, no mvirt group,
  // which the package's postinst makes, and writable directories) as flags,
  // which win over the config file.
  const std::string state = "/var/tmp/mvirt-zfs-package-state";
  MustRun("rm -rf " + state + " && mkdir -p " + state + "/images");
  DaemonProcess daemon(pool.name(), "unix:/run/mvirt-zfs-package.sock",
                       {"--config", root + exec[2], "--socket-group", "root", "--state-dir", state,
                        "--import-dir", state + "/images", "--metrics-listen", "0"},
                       {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=4000000"}, root + exec[0]);
  std::vector<std::string> start = notify.CollectUntil("READY=1", std::chrono::seconds(120));
  ASSERT_THAT(start, Contains("READY=1")) << daemon.Log();
  EXPECT_THAT(start, Contains("STATUS=pool mvpackage: ONLINE"));
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  EXPECT_GE(Count(notify.Collect(std::chrono::seconds(5)), "WATCHDOG=1"), 2);

  const std::string ctl = root + "/usr/bin/mvirt-zfsctl --endpoint " + daemon.endpoint() + " ";
  EXPECT_EQ(MustRun(ctl + "health"), "SERVING\n");
  MustRun(ctl + "volume create pkg-disk 64M");
  EXPECT_THAT(MustRun(ctl + "--json volume list"), HasSubstr("\"pkg-disk\""));
  EXPECT_EQ(ZfsGet(pool.name() + "/pkg-disk", "volmode"), "dev");
  EXPECT_EQ(DeviceDatasetName("/dev/zvol/" + pool.name() + "/pkg-disk"), pool.name() + "/pkg-disk");

  std::smatch m;
  const std::string log = daemon.Log();
  ASSERT_TRUE(
      std::regex_search(log, m, std::regex(R"(metrics on (http://127\.0\.0\.1:\d+/metrics))")))
      << log;
  CommandResult scrape = Shell(std::string("/usr/bin/python3 ") + MVIRT_TEST_SOURCE_DIR +
                               "/scrape_metrics.py " + std::string(m[1]));
  EXPECT_EQ(scrape.exit_code, 0) << scrape.output;
  EXPECT_THAT(scrape.output, HasSubstr("mvirt_zfs_grpc_requests_total{code=\"OK\",method=\"mvirt."
                                       "zfs.ZfsService/CreateVolume\"} 1.0"));

  ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
  EXPECT_THAT(notify.CollectUntil("STOPPING=1", std::chrono::seconds(60)), Contains("STOPPING=1"));
  const int status = daemon.WaitForExit(std::chrono::seconds(60));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << daemon.Log();
  MustRun(std::string("rm -rf ") + kRoot + " " + state);
}

}  // namespace
}  // namespace mvirt::zfs::testing
