// Real-ZFS tests of "who may call": an unprivileged user (uid 65534, through
// setpriv and the real mvirt-zfsctl) is refused on the unix socket and on
// loopback TCP and changes nothing, root is served, a member of
// --socket-group is served; TLS and mutual TLS accept the right clients and
// refuse plaintext, certificate-less and wrong-CA clients; a network address
// without TLS needs --insecure-listen.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "api_fixture.h"
#include "grpc_status_matchers.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

// mvirt-zfsctl as `user` ("root", or setpriv arguments such as
// "--reuid=65534 --regid=65534 --clear-groups").
CommandResult CtlAs(const std::string& user, const std::string& endpoint, const std::string& args) {
  std::string prefix = user == "root" ? "" : "setpriv " + user + " ";
  return Shell(prefix + CliPath() + " --timeout 30 --endpoint " + endpoint + " " + args);
}

constexpr char kNobody[] = "--reuid=65534 --regid=65534 --clear-groups";

void ExpectDenied(const CommandResult& r, const std::string& what) {
  EXPECT_EQ(r.exit_code, 4) << "refused: " << what << ": " << r.output;
  EXPECT_THAT(r.output, HasSubstr("PERMISSION_DENIED")) << what << ": " << r.output;
  EXPECT_THAT(r.output, HasSubstr("uid 65534")) << what << ": " << r.output;
}

// A volume the callers try to delete; it must survive every refusal.
void CreateTarget(const std::string& endpoint, const std::string& pool) {
  CommandResult r = CtlAs("root", endpoint, "volume create target 16M");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(DatasetExists(pool + "/target"));
}

TEST(Access, UnixSocketServesRootAndTheGroupAndRefusesOthers) {
  ScratchPool pool("mvaccess");
  // Everyone may connect (0666): the uid check alone must keep them out.
  DaemonProcess open_socket(pool.name(), "/run/mvirt-zfs-access.sock", {"--socket-mode", "0666"});
  ASSERT_TRUE(open_socket.WaitUntilServing()) << open_socket.Log();
  const std::string endpoint = open_socket.endpoint();
  CreateTarget(endpoint, pool.name());
  const std::string before = PoolState(pool.name());
  ExpectDenied(CtlAs(kNobody, endpoint, "volume delete target"), "delete over the unix socket");
  ExpectDenied(CtlAs(kNobody, endpoint, "volume list"), "reads are refused too");
  ExpectDenied(CtlAs(kNobody, endpoint, "watch volumes"), "and watch streams");
  EXPECT_EQ(PoolState(pool.name()), before) << "a refused call changed the pool";
  EXPECT_THAT(open_socket.Log(), HasSubstr("refused DeleteVolume"));
  EXPECT_EQ(CtlAs("root", endpoint, "volume list").exit_code, 0) << "root is served";
  open_socket.StopWith(SIGTERM);

  // The default mode (0660, root's group) keeps others from connecting; a
  // member of --socket-group (here through its primary group) is served.
  DaemonProcess grouped(pool.name(), "/run/mvirt-zfs-access.sock", {"--socket-group", "users"});
  ASSERT_TRUE(grouped.WaitUntilServing()) << grouped.Log();
  CommandResult r = CtlAs(kNobody, endpoint, "volume delete target");
  EXPECT_EQ(r.exit_code, 5) << "cannot connect: " << r.output;
  EXPECT_THAT(r.output, HasSubstr("Permission denied")) << "connect refused: " << r.output;
  EXPECT_EQ(MustRun("stat -c '%a %G' /run/mvirt-zfs-access.sock"), "660 users\n");
  // (A resize to its own size: a mutation, audited, that changes nothing.)
  r = CtlAs("--reuid=65534 --regid=100 --clear-groups", endpoint, "volume resize target 16M");
  EXPECT_EQ(r.exit_code, 0) << "a member of 'users' is served: " << r.output;
  const std::string audited = "audit: ResizeVolume volume 'target' to 16777216 bytes by uid 65534";
  EXPECT_THAT(grouped.WaitForLog(audited), HasSubstr(audited));
  EXPECT_EQ(PoolState(pool.name()), before);
}

TEST(Access, LoopbackTcpServesRootAndRefusesOtherUsers) {
  for (const std::string& listen : {std::string("127.0.0.1:50171"), std::string("[::1]:50172")}) {
    ScratchPool pool("mvloopback");
    DaemonProcess daemon(pool.name(), listen);
    ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
    CreateTarget(listen, pool.name());
    const std::string before = PoolState(pool.name());
    ExpectDenied(CtlAs(kNobody, listen, "volume delete target"), "delete over " + listen);
    ExpectDenied(CtlAs(kNobody, listen, "template import x https://example.com/x.raw"),
                 "an import (the daemon fetching URLs) over " + listen);
    EXPECT_EQ(PoolState(pool.name()), before);
    CommandResult r = CtlAs("root", listen, "volume delete target");
    EXPECT_EQ(r.exit_code, 0) << "root is served over " << listen << ": " << r.output;
    EXPECT_FALSE(DatasetExists(pool.name() + "/target"));
  }
}

// Test certificates: a client certificate of the test CA, and a second CA
// with a client certificate of its own (the wrong CA).
struct ClientCerts {
  std::string dir = "/var/tmp/mvirt-zfs-test-tls";
  ClientCerts() {
    MustRun("cd " + dir +
            " && openssl req -newkey rsa:2048 -nodes -subj '/CN=node-1/O=mvirt' -keyout client.key"
            " -out client.csr"
            " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
            " -out client.pem"
            " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=other CA'"
            " -keyout other-ca.key -out other-ca.pem"
            " && openssl req -newkey rsa:2048 -nodes -subj '/CN=intruder' -keyout intruder.key"
            " -out intruder.csr"
            " && openssl x509 -req -in intruder.csr -CA other-ca.pem -CAkey other-ca.key"
            " -CAcreateserial -days 2 -out intruder.pem"
            " && openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' -keyout server2.key"
            " -out server2.csr"
            " && openssl x509 -req -in server2.csr -CA other-ca.pem -CAkey other-ca.key"
            " -CAcreateserial -days 2 -extfile san.ext -out server2.pem");
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(dir + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::shared_ptr<grpc::ChannelCredentials> Tls(const std::string& ca, const std::string& cert = "",
                                                const std::string& key = "") const {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(ca);
    if (!cert.empty()) {
      options.pem_cert_chain = Read(cert);
      options.pem_private_key = Read(key);
    }
    return grpc::SslCredentials(options);
  }
};

grpc::Status GetVersionWith(const std::string& target,
                            std::shared_ptr<grpc::ChannelCredentials> credentials) {
  auto stub = ZfsService::NewStub(grpc::CreateChannel(target, credentials));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  VersionInfo version;
  return stub->GetVersion(&ctx, GetVersionRequest(), &version);
}

// Waits until a GetVersion with `credentials` succeeds; false if the daemon
// exits or 30 s pass.
bool WaitForTls(DaemonProcess& daemon, const std::string& target,
                std::shared_ptr<grpc::ChannelCredentials> credentials) {
  for (int i = 0; i < 60; ++i) {
    if (GetVersionWith(target, credentials).ok()) return true;
    if (!daemon.Alive()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

TEST(Access, MutualTlsAcceptsTheRightClientsOnly) {
  ScratchPool pool("mvtls");
  ClientCerts certs;
  const std::string target = "127.0.0.1:50181";
  DaemonProcess daemon(pool.name(), "0.0.0.0:50181",
                       {"--tls-cert", certs.dir + "/server.pem", "--tls-key",
                        certs.dir + "/server.key", "--tls-client-ca", certs.dir + "/ca.pem"});
  auto good = certs.Tls("ca.pem", "client.pem", "client.key");
  ASSERT_TRUE(WaitForTls(daemon, target, good)) << daemon.Log();

  auto stub = ZfsService::NewStub(grpc::CreateChannel(target, good));
  CreateVolumeRequest create;
  create.set_name("tls-vol");
  create.set_size_bytes(16 * kMiB);
  Volume v;
  grpc::ClientContext ctx;
  grpc::Status s = stub->CreateVolume(&ctx, create, &v);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(daemon.WaitForLog("audit: CreateVolume volume 'tls-vol' by TLS client '"),
              HasSubstr("audit: CreateVolume volume 'tls-vol' by TLS client '"));
  EXPECT_THAT(daemon.Log(), HasSubstr("O=mvirt,CN=node-1")) << "the subject is audited";

  const std::string before = PoolState(pool.name());
  EXPECT_FALSE(GetVersionWith(target, certs.Tls("ca.pem")).ok()) << "no client certificate";
  EXPECT_FALSE(GetVersionWith(target, certs.Tls("ca.pem", "intruder.pem", "intruder.key")).ok())
      << "a client certificate of another CA";
  EXPECT_FALSE(GetVersionWith(target, grpc::InsecureChannelCredentials()).ok()) << "plaintext";
  EXPECT_EQ(PoolState(pool.name()), before);

  // Certificates are re-read when they change: a new server certificate of
  // another CA is served without a restart.
  MustRun("cd " + certs.dir +
          " && cp server.pem server.pem.orig && cp server.key server.key.orig"
          " && cp server2.key server.key && cp server2.pem server.pem");
  bool rotated = false;
  for (int i = 0; i < 40 && !rotated; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    rotated = GetVersionWith(target, certs.Tls("other-ca.pem", "client.pem", "client.key")).ok();
  }
  MustRun("cd " + certs.dir + " && mv server.pem.orig server.pem && mv server.key.orig server.key");
  EXPECT_TRUE(rotated) << "the rotated server certificate was not picked up\n" << daemon.Log();
}

TEST(Access, ANetworkAddressNeedsTlsOrAnExplicitInsecureListen) {
  ScratchPool pool("mvinsecure");
  {
    DaemonProcess refused(pool.name(), "0.0.0.0:50191");
    int status = refused.WaitForExit();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
    EXPECT_THAT(refused.Log(), HasSubstr("needs TLS")) << refused.Log();
  }
  DaemonProcess insecure(pool.name(), "0.0.0.0:50191", {"--insecure-listen"});
  ASSERT_TRUE(WaitForTls(insecure, "127.0.0.1:50191", grpc::InsecureChannelCredentials()))
      << insecure.Log();
  EXPECT_THAT(insecure.Log(), HasSubstr("WARNING"));
  EXPECT_THAT(insecure.Log(), HasSubstr("--insecure-listen")) << insecure.Log();
}

}  // namespace
}  // namespace mvirt::zfs::testing

namespace mvirt::zfs::testing {
namespace {

// The audit lines of `method` on `object` in the shared daemon's log, oldest
// first.
std::vector<std::string> AuditLines(const std::string& method, const std::string& object) {
  std::istringstream log(TestPool::daemon().Log());
  const std::string start = "audit: " + method + " " + object + " by ";
  std::vector<std::string> found;
  for (std::string line; std::getline(log, line);) {
    if (line.find(start) != std::string::npos) found.push_back(line);
  }
  return found;
}

// The only audit line of `method` on `object`; "" (failing the test) unless
// there is exactly one.
std::string AuditLine(const std::string& method, const std::string& object) {
  std::vector<std::string> lines = AuditLines(method, object);
  EXPECT_EQ(lines.size(), 1u) << method << " " << object;
  return lines.size() == 1 ? lines[0] : "";
}

class AuditTest : public ApiTest {};

TEST_F(AuditTest, EveryMutationLeavesOneLineWithWhoWhatResultAndDuration) {
  Volume created;
  ASSERT_THAT(Create("audit-a", 16 << 20, &created, kId1), GrpcIsOk());
  EXPECT_THAT(Create("audit-a", 16 << 20, &created, kId2),
              GrpcStatusIs(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_THAT(Delete("audit-missing"), GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
  ASSERT_THAT(Snapshot("audit-a", "s1"), GrpcIsOk());
  ASSERT_THAT(Delete("audit-a"), GrpcIsOk());
  // Reads are not audited.
  Volume v;
  EXPECT_THAT(Get("audit-a", &v), GrpcStatusIs(grpc::StatusCode::NOT_FOUND));

  // The lines are written by the audit trail's own thread, just after the
  // calls returned: wait for the last one.
  for (int i = 0; i < 100 && AuditLines("DeleteVolume", "volume 'audit-a'").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::regex ok(
      R"(.* INFO audit: CreateVolume volume 'audit-a' by uid 0 \(pid \d+\) on unix socket )"
      R"(from \S+ -> OK in \d+\.\d{3}s)");
  // Two creates of one name: two lines, the first done, the second refused.
  const std::vector<std::string> creates = AuditLines("CreateVolume", "volume 'audit-a'");
  ASSERT_EQ(creates.size(), 2u);
  EXPECT_TRUE(std::regex_match(creates[0], ok)) << creates[0];
  EXPECT_THAT(creates[1], HasSubstr("-> ALREADY_EXISTS (create volume 'audit-a': "));
  EXPECT_THAT(AuditLine("CreateSnapshot", "snapshot 'audit-a@s1'"), HasSubstr("-> OK in "));
  EXPECT_THAT(AuditLine("DeleteVolume", "volume 'audit-missing'"),
              HasSubstr("-> NOT_FOUND (delete volume 'audit-missing': no volume 'audit-missing'"));
  EXPECT_THAT(AuditLine("DeleteVolume", "volume 'audit-a'"), HasSubstr("-> OK in "));
  // Reads leave none.
  EXPECT_THAT(AuditLines("GetVolume", "volume 'audit-a'"), ::testing::IsEmpty());
}

}  // namespace
}  // namespace mvirt::zfs::testing
