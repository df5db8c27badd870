#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "mvirt_zfs.pb.h"
#include "status_matchers.h"

namespace mvirt::zfs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::StatusIs;

// GET http://127.0.0.1:PORT/PATH; the whole response, headers included.
std::string HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
    }
  }
  ::close(fd);
  return response;
}

class MetricsTest : public ::testing::Test {
 protected:
  // The service's generated descriptors must be linked in for its method
  // names to be known.
  void SetUp() override { ASSERT_NE(GetVolumeRequest::descriptor(), nullptr); }
  Metrics metrics_;
};

TEST_F(MetricsTest, CallsAreCountedByMethodAndCodeAndTimed) {
  metrics_.RecordCall("/mvirt.zfs.ZfsService/GetVolume", 5, absl::Milliseconds(3));
  metrics_.RecordCall("/mvirt.zfs.ZfsService/GetVolume", 5, absl::Milliseconds(30));
  metrics_.RecordCall("/mvirt.zfs.ZfsService/GetVolume", 0, absl::Seconds(2));
  const std::string text = metrics_.Text();
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_grpc_requests_total{code=\"NOT_FOUND\",method=\"mvirt.zfs."
                              "ZfsService/GetVolume\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_grpc_requests_total{code=\"OK\",method=\"mvirt.zfs."
                              "ZfsService/GetVolume\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_grpc_request_duration_seconds_count{method=\"mvirt.zfs."
                              "ZfsService/GetVolume\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_grpc_request_duration_seconds_bucket{method=\"mvirt.zfs."
                              "ZfsService/GetVolume\",le=\"0.005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_grpc_request_duration_seconds_bucket{method=\"mvirt.zfs."
                              "ZfsService/GetVolume\",le=\"2.5\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE mvirt_zfs_grpc_requests_total counter"));
}

TEST_F(MetricsTest, MethodsNoServiceDeclaresShareOneLabel) {
  for (const char* method :
       {"/mvirt.zfs.ZfsService/NoSuchCall", "/evil\"\n{x}/y", "", "/", "nonsense", "/a/b/c"}) {
    metrics_.RecordCall(method, 12, absl::Milliseconds(1));
  }
  metrics_.RecordCall("/mvirt.zfs.ZfsService/ListVolumes", 99, absl::Milliseconds(1));
  const std::string text = metrics_.Text();
  EXPECT_THAT(
      text,
      HasSubstr("mvirt_zfs_grpc_requests_total{code=\"UNIMPLEMENTED\",method=\"unknown\"} 6"));
  EXPECT_THAT(text, HasSubstr("{code=\"UNKNOWN\",method=\"mvirt.zfs.ZfsService/ListVolumes\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("evil")));
  EXPECT_THAT(text, Not(HasSubstr("NoSuchCall")));
}

TEST_F(MetricsTest, DeviceWaitsAreAHistogramByOperation) {
  metrics_.RecordDeviceWait("ready", absl::Milliseconds(40));
  metrics_.RecordDeviceWait("ready", absl::Seconds(3));
  metrics_.RecordDeviceWait("gone", absl::Milliseconds(2));
  const std::string text = metrics_.Text();
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_device_wait_duration_seconds_count{op=\"ready\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_device_wait_duration_seconds_count{op=\"gone\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_device_wait_duration_seconds_sum{op=\"gone\"} 0.002"));
}

TEST_F(MetricsTest, SnapshotPolicyResultsAreCountersThatExistFromTheStart) {
  const std::string before = metrics_.Text();
  for (const char* result : {"taken", "pruned", "kept_protected", "refused", "failed"}) {
    EXPECT_THAT(before,
                HasSubstr(absl::StrCat("mvirt_zfs_snapshot_policy_snapshots_total{result=\"",
                                       result, "\"} 0\n")));
  }
  metrics_.RecordSnapshotPolicy("taken", 3);
  metrics_.RecordSnapshotPolicy("taken", 2);
  metrics_.RecordSnapshotPolicy("refused", 1);
  const std::string text = metrics_.Text();
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_snapshot_policy_snapshots_total{result=\"taken\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_snapshot_policy_snapshots_total{result=\"refused\"} 1\n"));
}

TEST_F(MetricsTest, ScrapeTimeFiguresComeFromTheSourcesAndTheCensusIsReusedWhileFresh) {
  EXPECT_THAT(metrics_.Text(), Not(HasSubstr("mvirt_zfs_pool_bytes{")));  // no sources yet
  std::atomic<int> censuses{0};
  Metrics::Sources sources;
  sources.census = [&censuses] {
    ++censuses;
    MetricsCensus c;
    c.pool_size_bytes = 1000;
    c.pool_used_bytes = 300;
    c.pool_available_bytes = 700;
    c.pool_provisioned_bytes = 5000;
    c.pool_compression_ratio = 1.5;
    c.pool_reserve_bytes = 100;
    c.pool_overcommit_ratio = 5.0;
    c.pool_capacity_percent = 30;
    c.pool_fragmentation_percent = 7;
    c.pool_vdevs_online = {{"mirror-0", true}, {"sdc", false}};
    c.volumes = 4;
    c.snapshots = 9;
    c.templates = 2;
    c.import_jobs = {{"RUNNING", 1}, {"FAILED", 0}};
    c.import_written_bytes = 123;
    return c;
  };
  sources.serving = [] { return true; };
  sources.subscribers = [] { return 7; };
  sources.census_max_age = absl::Hours(1);
  metrics_.SetSources(sources);
  const std::string text = metrics_.Text();
  for (const char* line :
       {"mvirt_zfs_pool_bytes{kind=\"size\"} 1000\n", "mvirt_zfs_pool_bytes{kind=\"used\"} 300\n",
        "mvirt_zfs_pool_bytes{kind=\"available\"} 700\n",
        "mvirt_zfs_pool_bytes{kind=\"provisioned\"} 5000\n",
        "mvirt_zfs_pool_compression_ratio 1.5\n", "mvirt_zfs_pool_serving 1\n",
        "mvirt_zfs_pool_bytes{kind=\"reserve\"} 100\n", "mvirt_zfs_pool_overcommit_ratio 5\n",
        "mvirt_zfs_pool_percent{kind=\"capacity\"} 30\n",
        "mvirt_zfs_pool_percent{kind=\"fragmentation\"} 7\n",
        "mvirt_zfs_pool_vdev_online{vdev=\"mirror-0\"} 1\n",
        "mvirt_zfs_pool_vdev_online{vdev=\"sdc\"} 0\n", "mvirt_zfs_objects{kind=\"volume\"} 4\n",
        "mvirt_zfs_objects{kind=\"snapshot\"} 9\n", "mvirt_zfs_objects{kind=\"template\"} 2\n",
        "mvirt_zfs_import_jobs{state=\"RUNNING\"} 1\n",
        "mvirt_zfs_import_jobs{state=\"FAILED\"} 0\n", "mvirt_zfs_import_written_bytes 123\n",
        "mvirt_zfs_watch_subscribers 7\n"}) {
    EXPECT_THAT(text, HasSubstr(line));
  }
  metrics_.Text();
  EXPECT_EQ(censuses, 1);  // fresh for an hour
  sources.census_max_age = absl::ZeroDuration();
  metrics_.SetSources(sources);
  metrics_.Text();
  metrics_.Text();
  EXPECT_EQ(censuses, 3);
}

TEST_F(MetricsTest, AuditDropsAndForwardingAreCountersThatOnlyGrow) {
  Metrics::Sources sources;
  AuditFigures figures;
  sources.audit = [&figures] { return figures; };
  metrics_.SetSources(sources);
  std::string text = metrics_.Text();
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_audit_events_dropped_total{sink=\"log\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("mvirt_zfs_audit_events_forwarded_total 0")))
      << "no mvirt-log series without --log-endpoint";
  figures.log_dropped = 3;
  figures.forwarded = 10;
  figures.forward_dropped = 2;
  figures.forward_queued = 5;
  text = metrics_.Text();
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_audit_events_dropped_total{sink=\"log\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_audit_events_dropped_total{sink=\"mvirt-log\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_audit_events_forwarded_total 10\n"));
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_audit_forward_queue 5\n"));
  figures.forwarded = 12;
  figures.forward_queued = 0;
  text = metrics_.Text();
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_audit_events_forwarded_total 12\n"));
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_audit_forward_queue 0\n"));
  EXPECT_THAT(text, HasSubstr("mvirt_zfs_audit_events_dropped_total{sink=\"log\"} 3\n"));
}

TEST_F(MetricsTest, ServesTheTextOverHttpOnceAndSaysWhenItCannotListen) {
  metrics_.RecordCall("/mvirt.zfs.ZfsService/GetPoolStats", 0, absl::Milliseconds(1));
  absl::StatusOr<int> port = metrics_.Serve("127.0.0.1:0");
  ASSERT_OK(port);
  EXPECT_GT(*port, 0);
  const std::string response = HttpGet(*port, "/metrics");
  EXPECT_THAT(response, HasSubstr("200 OK"));
  EXPECT_THAT(response, HasSubstr("method=\"mvirt.zfs.ZfsService/GetPoolStats\"} 1"));
  EXPECT_THAT(metrics_.Serve("127.0.0.1:0"), StatusIs(absl::StatusCode::kFailedPrecondition));
  Metrics other;
  EXPECT_THAT(other.Serve("127.0.0.1:" + std::to_string(*port)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot serve metrics on")));
  metrics_.StopServing();
  EXPECT_EQ(HttpGet(*port, "/metrics"), "");  // nothing listens any more
}

}  // namespace
}  // namespace mvirt::zfs
