// Real-ZFS test of the Prometheus endpoint (--metrics-listen): scraped and
// parsed with prometheus_client's parser (python3-prometheus-client), as a
// Prometheus server would; the values follow the calls made and the pool.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using Samples = std::map<std::string, double>;

// Every sample of the page at `url` ("name{labels}" -> value); fails the
// test if the page does not parse.
Samples Scrape(const std::string& url) {
  CommandResult r = Shell(std::string("/usr/bin/python3 ") + MVIRT_TEST_SOURCE_DIR +
                          "/scrape_metrics.py " + url + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  Samples out;
  std::istringstream lines(r.output);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

std::optional<double> Value(const Samples& s, const std::string& key) {
  auto it = s.find(key);
  if (it == s.end()) return std::nullopt;
  return it->second;
}

// Scrapes until `key` has `want` (the pool's figures are read at most every
// 10 s, the pool's health every 2 s), for up to 30 s; the last scrape.
Samples ScrapeUntil(const std::string& url, const std::string& key, double want) {
  Samples s;
  for (int i = 0; i < 60; ++i) {
    s = Scrape(url);
    if (Value(s, key) == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return s;
}

std::string Call(const std::string& method) {
  return "method=\"mvirt.zfs.ZfsService/" + method + "\"";
}

TEST(Metrics, ScrapedValuesFollowTheCallsAndThePool) {
  ScratchPool pool("mvmetrics");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-metrics.sock", {"--metrics-listen", "0"});
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  std::smatch m;
  const std::string log = daemon.Log();
  ASSERT_TRUE(
      std::regex_search(log, m, std::regex(R"(metrics on (http://127\.0\.0\.1:\d+/metrics))")))
      << log;
  const std::string url = m[1];

  const std::string ctl = CliPath() + " --endpoint " + daemon.endpoint() + " ";
  MustRun(ctl + "volume create vm-disk 64M");
  MustRun(ctl + "snapshot create vm-disk first");
  EXPECT_NE(Shell(ctl + "volume get no-such-volume").exit_code, 0);

  Samples s = ScrapeUntil(url, "mvirt_zfs_objects{kind=\"snapshot\"}", 1);
  EXPECT_EQ(Value(s, "mvirt_zfs_grpc_requests_total{code=\"OK\"," + Call("CreateVolume") + "}"), 1);
  EXPECT_EQ(Value(s, "mvirt_zfs_grpc_requests_total{code=\"OK\"," + Call("CreateSnapshot") + "}"),
            1);
  EXPECT_EQ(Value(s, "mvirt_zfs_grpc_requests_total{code=\"NOT_FOUND\"," + Call("GetVolume") + "}"),
            1);
  EXPECT_EQ(Value(s, "mvirt_zfs_grpc_request_duration_seconds_count{" + Call("CreateVolume") + "}"),
            1);
  EXPECT_GE(Value(s, "mvirt_zfs_device_wait_duration_seconds_count{op=\"ready\"}").value_or(0), 1);
  EXPECT_EQ(Value(s, "mvirt_zfs_objects{kind=\"volume\"}"), 1);
  EXPECT_EQ(Value(s, "mvirt_zfs_objects{kind=\"snapshot\"}"), 1);
  EXPECT_EQ(Value(s, "mvirt_zfs_objects{kind=\"template\"}"), 0);
  EXPECT_EQ(Value(s, "mvirt_zfs_pool_bytes{kind=\"provisioned\"}"), 64 << 20);
  EXPECT_EQ(Value(s, "mvirt_zfs_pool_serving{}"), 1);
  EXPECT_EQ(Value(s, "mvirt_zfs_import_jobs{state=\"COMPLETED\"}"), 0);
  EXPECT_EQ(Value(s, "mvirt_zfs_watch_subscribers{}"), 0);
  // The pool's size as `zfs get` shows it (used + available of the root),
  // within what a transaction group may move meanwhile.
  const double used = std::stod(ZfsGet(pool.name(), "used"));
  const double available = std::stod(ZfsGet(pool.name(), "available"));
  const std::optional<double> size = Value(s, "mvirt_zfs_pool_bytes{kind=\"size\"}");
  ASSERT_TRUE(size.has_value());
  EXPECT_NEAR(*size, used + available, 0.01 * (used + available));
  EXPECT_GT(Value(s, "mvirt_zfs_pool_compression_ratio{}").value_or(0), 0.99);
  // The pool's own figures and the space guard's (default 10% reserve).
  EXPECT_NEAR(Value(s, "mvirt_zfs_pool_bytes{kind=\"reserve\"}").value_or(0), 0.1 * *size,
              0.01 * *size);
  EXPECT_NEAR(Value(s, "mvirt_zfs_pool_overcommit_ratio{}").value_or(0), (64 << 20) / *size, 0.01);
  EXPECT_EQ(Value(s, "mvirt_zfs_pool_percent{kind=\"capacity\"}"),
            std::stod(MustRun("zpool get -Hp -o value capacity " + pool.name())));
  EXPECT_TRUE(Value(s, "mvirt_zfs_pool_percent{kind=\"fragmentation\"}").has_value());
  EXPECT_EQ(Value(s, "mvirt_zfs_pool_vdev_online{vdev=\"/var/tmp/mvirt-zfs-test-" + pool.name() +
                         ".img\"}"),
            1);

  // A watch stream is a subscriber while it is open.
  grpc::ClientContext watch_ctx;
  auto stub = ZfsService::NewStub(
      grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
  auto watch = stub->WatchVolumes(&watch_ctx, WatchVolumesRequest());
  s = ScrapeUntil(url, "mvirt_zfs_watch_subscribers{}", 1);
  EXPECT_EQ(Value(s, "mvirt_zfs_watch_subscribers{}"), 1);
  watch_ctx.TryCancel();
  watch->Finish();

  // The pool gone: not serving.
  MustRun("zpool export -f " + pool.name());
  s = ScrapeUntil(url, "mvirt_zfs_pool_serving{}", 0);
  EXPECT_EQ(Value(s, "mvirt_zfs_pool_serving{}"), 0) << daemon.Log();
  MustRun("zpool import -d /var/tmp -o cachefile=none " + pool.name());
  s = ScrapeUntil(url, "mvirt_zfs_pool_serving{}", 1);
  EXPECT_EQ(Value(s, "mvirt_zfs_pool_serving{}"), 1) << daemon.Log();
  EXPECT_EQ(daemon.StopWith(SIGTERM), 0) << daemon.Log();
  EXPECT_EQ(daemon.SanitizerReports(), "");
}

TEST(Metrics, ADaemonThatCannotServeItsMetricsDoesNotStart) {
  ScratchPool pool("mvmetrics2");
  // A port something listens on already: a listener of the test's own.
  const int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
      << std::strerror(errno);
  ASSERT_EQ(::listen(holder, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-metrics2.sock", {"--metrics-listen", port});
  const int status = daemon.WaitForExit(std::chrono::seconds(120));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status << daemon.Log();
  EXPECT_THAT(daemon.Log(), ::testing::HasSubstr("cannot serve metrics on 127.0.0.1:" + port));
  EXPECT_THAT(daemon.Log(), ::testing::Not(::testing::HasSubstr(" serving pool ")));
  ::close(holder);
}

}  // namespace
}  // namespace mvirt::zfs::testing
