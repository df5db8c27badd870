// Real-ZFS test of the audit events the daemon sends to mvirt-log
// (--log-endpoint): a LogService server run by this test over mutual TLS
// with the test CA receives one AUDIT entry per mutation, naming the
// objects' ids; while the service is away the calls still succeed, and the
// entries arrive once it is back. And a daemon whose log is on a full disk
// still serves.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "mvirt_log.grpc.pb.h"
#include "recording_log_service.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::mvirt::log::LogEntry;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kTls[] = "/var/tmp/mvirt-zfs-test-tls";

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// mvirt-log's side: TLS with the test CA's server certificate, client
// certificates of the test CA required.
class LogServer {
 public:
  LogServer(RecordingLogService& service, int port) {
    grpc::SslServerCredentialsOptions tls(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    tls.pem_root_certs = Read(std::string(kTls) + "/ca.pem");
    tls.pem_key_cert_pairs.push_back(
        {Read(std::string(kTls) + "/server.key"), Read(std::string(kTls) + "/server.pem")});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::SslServerCredentials(tls),
                             &port_);
    builder.RegisterService(&service);
    server_ = builder.BuildAndStart();
  }
  ~LogServer() { server_->Shutdown(std::chrono::system_clock::now()); }
  int port() const { return port_; }

 private:
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST(AuditForwarding, EveryMutationReachesMvirtLogOverMutualTls) {
  // The node's certificate, as mvirt nodes have one: signed by the test CA.
  MustRun(std::string("cd ") + kTls +
          " && openssl req -newkey rsa:2048 -nodes -subj '/CN=node-log/O=mvirt'"
          " -keyout node.key -out node.csr"
          " && openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
          " -out node.pem");
  RecordingLogService log;
  auto server = std::make_unique<LogServer>(log, 0);
  const int port = server->port();
  ASSERT_GT(port, 0);

  ScratchPool pool("mvauditfwd");
  const std::string tls = kTls;
  DaemonProcess daemon(
      pool.name(), "/run/mvirt-zfs-auditfwd.sock",
      {"--log-endpoint", "https://127.0.0.1:" + std::to_string(port), "--log-ca-file",
       tls + "/ca.pem", "--log-cert", tls + "/node.pem", "--log-key", tls + "/node.key"});
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = ZfsService::NewStub(
      grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));

  const absl::Time before = absl::Now();
  CreateVolumeRequest create;
  create.set_name("fwd-a");
  create.set_size_bytes(64 << 20);
  Volume volume;
  ASSERT_TRUE(
      CallWithin(std::chrono::seconds(120), &ZfsService::Stub::CreateVolume, *stub, create, &volume)
          .ok());
  CreateSnapshotRequest snap;
  snap.set_volume_name("fwd-a");
  snap.set_snapshot_name("s1");
  Snapshot snapshot;
  ASSERT_TRUE(CallWithin(std::chrono::seconds(120), &ZfsService::Stub::CreateSnapshot, *stub, snap,
                         &snapshot)
                  .ok());
  create.set_name("fwd/bad");
  EXPECT_EQ(CallWithin(std::chrono::seconds(120), &ZfsService::Stub::CreateVolume, *stub, create)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  std::vector<LogEntry> created = log.WaitFor("audit: CreateVolume volume 'fwd-a' by uid 0");
  ASSERT_EQ(created.size(), 1u) << daemon.Log();
  EXPECT_EQ(created[0].level(), mvirt::log::AUDIT);
  EXPECT_EQ(created[0].component(), "zfs");
  EXPECT_THAT(created[0].related_object_ids(), ElementsAre(volume.id()));
  EXPECT_THAT(created[0].message(), HasSubstr("-> OK in "));
  EXPECT_GE(created[0].timestamp_ns(), absl::ToUnixNanos(before));
  EXPECT_LE(created[0].timestamp_ns(), absl::ToUnixNanos(absl::Now()));
  std::vector<LogEntry> snapped = log.WaitFor("audit: CreateSnapshot snapshot 'fwd-a@s1'");
  ASSERT_EQ(snapped.size(), 1u);
  EXPECT_THAT(snapped[0].related_object_ids(), ElementsAre(snapshot.id()));
  std::vector<LogEntry> refused = log.WaitFor("audit: CreateVolume volume 'fwd/bad'");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_THAT(refused[0].message(), HasSubstr("-> INVALID_ARGUMENT ("));
  EXPECT_TRUE(refused[0].related_object_ids().empty());

  // mvirt-log away: the call is served all the same; its entry is retried
  // and arrives once the service is back on its address.
  server.reset();
  DeleteSnapshotRequest del;
  del.set_volume_name("fwd-a");
  del.set_snapshot_name("s1");
  EXPECT_TRUE(
      CallWithin(std::chrono::seconds(120), &ZfsService::Stub::DeleteSnapshot, *stub, del).ok());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_THAT(daemon.WaitForLog("did not take audit events"),
              HasSubstr("did not take audit events"));
  server = std::make_unique<LogServer>(log, port);
  ASSERT_EQ(server->port(), port);
  EXPECT_EQ(log.WaitFor("audit: DeleteSnapshot snapshot 'fwd-a@s1'").size(), 1u) << daemon.Log();
  EXPECT_EQ(daemon.SanitizerReports(), "");
}

// The daemon's log on a full disk (stdout and stderr on /dev/full: every
// write fails with ENOSPC): its mutations, each writing an audit line, are
// served all the same, and it stops cleanly.
TEST(AuditLog, AFullLogDiskStopsNeitherTheDaemonNorItsCalls) {
  ScratchPool pool("mvfulllog");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-fulllog.sock", {}, {}, "", "/dev/full");
  ASSERT_TRUE(daemon.WaitUntilServing());
  auto stub = ZfsService::NewStub(
      grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 5; ++i) {
    const std::string name = "full-" + std::to_string(i);
    CreateVolumeRequest create;
    create.set_name(name);
    create.set_size_bytes(16 << 20);
    ASSERT_TRUE(
        CallWithin(std::chrono::seconds(120), &ZfsService::Stub::CreateVolume, *stub, create).ok());
    CreateSnapshotRequest snap;
    snap.set_volume_name(name);
    snap.set_snapshot_name("s");
    EXPECT_TRUE(
        CallWithin(std::chrono::seconds(120), &ZfsService::Stub::CreateSnapshot, *stub, snap).ok());
    EXPECT_TRUE(DatasetExists(pool.name() + "/" + name + "@s"));
  }
  DeleteVolumeRequest del;
  del.set_name("full-0");
  EXPECT_TRUE(
      CallWithin(std::chrono::seconds(120), &ZfsService::Stub::DeleteVolume, *stub, del).ok());
  EXPECT_FALSE(DatasetExists(pool.name() + "/full-0"));
  EXPECT_TRUE(daemon.Alive());
  const int status = daemon.StopWith(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(AuditForwarding, AnEndpointThatIsNotAUrlStopsTheDaemonAtStart) {
  ScratchPool pool("mvauditbad");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-auditbad.sock",
                       {"--log-endpoint", "127.0.0.1:50052"});
  const int status = daemon.WaitForExit(std::chrono::seconds(120));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << daemon.Log();
  EXPECT_THAT(daemon.Log(), HasSubstr("expected https://HOST:PORT or http://HOST:PORT"));
}

}  // namespace
}  // namespace mvirt::zfs::testing
