// Real-ZFS tests of the standard gRPC services beside ZfsService: health
// (grpc.health.v1) following the pool while the daemon runs, also through
// `mvirt-zfsctl health`, and server reflection listing and describing the
// API to a client that has no .proto file.
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "reflection_v1alpha.grpc.pb.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kService[] = "mvirt.zfs.ZfsService";

// Health.Check of `service`; UNKNOWN if the call itself failed.
HealthCheckResponse::ServingStatus Check(Health::Stub& health, const std::string& service) {
  HealthCheckRequest req;
  req.set_service(service);
  HealthCheckResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!health.Check(&ctx, req, &resp).ok()) return HealthCheckResponse::UNKNOWN;
  return resp.status();
}

// True once Check(service) answers `want`, within 30 s (the daemon reads
// the pool every 2 s).
bool WaitForStatus(Health::Stub& health, const std::string& service,
                   HealthCheckResponse::ServingStatus want) {
  for (int i = 0; i < 60; ++i) {
    if (Check(health, service) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

TEST(Health, FollowsThePoolExportedAndImportedAndEndsNotServing) {
  ScratchPool pool("mvhealth");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-health.sock");
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto channel = grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials());
  auto health = Health::NewStub(channel);
  const std::string ctl = CliPath() + " --endpoint " + daemon.endpoint() + " ";
  EXPECT_EQ(Check(*health, ""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(*health, kService), HealthCheckResponse::SERVING);
  CommandResult cli = Shell(ctl + "health");
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_EQ(cli.output, "SERVING\n");
  cli = Shell(ctl + "health --json");
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_THAT(cli.output, HasSubstr("\"status\"")) << cli.output;
  EXPECT_THAT(cli.output, HasSubstr("\"SERVING\"")) << cli.output;

  // A watcher sees every change.
  grpc::ClientContext watch_ctx;
  HealthCheckRequest watch_req;
  watch_req.set_service(kService);
  auto watch = health->Watch(&watch_ctx, watch_req);
  HealthCheckResponse seen;
  ASSERT_TRUE(watch->Read(&seen));
  EXPECT_EQ(seen.status(), HealthCheckResponse::SERVING);

  MustRun("zpool export -f " + pool.name());
  EXPECT_TRUE(WaitForStatus(*health, kService, HealthCheckResponse::NOT_SERVING)) << daemon.Log();
  EXPECT_EQ(Check(*health, ""), HealthCheckResponse::NOT_SERVING);
  ASSERT_TRUE(watch->Read(&seen));
  EXPECT_EQ(seen.status(), HealthCheckResponse::NOT_SERVING);
  cli = Shell(ctl + "health");
  EXPECT_EQ(cli.exit_code, 1) << cli.output;
  EXPECT_EQ(cli.output, "NOT_SERVING\n");
  EXPECT_THAT(daemon.Log(), HasSubstr("cannot be served (pool 'mvhealth' is not imported)"));

  MustRun("zpool import -d /var/tmp -o cachefile=none " + pool.name());
  EXPECT_TRUE(WaitForStatus(*health, kService, HealthCheckResponse::SERVING)) << daemon.Log();
  ASSERT_TRUE(watch->Read(&seen));
  EXPECT_EQ(seen.status(), HealthCheckResponse::SERVING);
  EXPECT_EQ(Shell(ctl + "health").exit_code, 0);

  // Stopping: the watcher hears NOT_SERVING before its stream ends.
  int status = daemon.StopWith(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << daemon.Log();
  std::vector<HealthCheckResponse::ServingStatus> last;
  while (watch->Read(&seen)) last.push_back(seen.status());
  EXPECT_THAT(last, Contains(HealthCheckResponse::NOT_SERVING));
  watch->Finish();
}

TEST(Reflection, ListsTheServicesAndDescribesTheApi) {
  namespace reflection = ::grpc::reflection::v1alpha;
  auto stub = reflection::ServerReflection::NewStub(
      grpc::CreateChannel(TestPool::daemon().endpoint(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = stub->ServerReflectionInfo(&ctx);

  reflection::ServerReflectionRequest list;
  list.set_list_services("*");
  ASSERT_TRUE(stream->Write(list));
  reflection::ServerReflectionResponse listed;
  ASSERT_TRUE(stream->Read(&listed));
  std::vector<std::string> services;
  for (const auto& s : listed.list_services_response().service()) services.push_back(s.name());
  EXPECT_THAT(services, Contains(kService));
  EXPECT_THAT(services, Contains("grpc.health.v1.Health"));

  reflection::ServerReflectionRequest describe;
  describe.set_file_containing_symbol(kService);
  ASSERT_TRUE(stream->Write(describe));
  reflection::ServerReflectionResponse described;
  ASSERT_TRUE(stream->Read(&described));
  ASSERT_GT(described.file_descriptor_response().file_descriptor_proto_size(), 0)
      << described.error_response().error_message();
  std::vector<std::string> methods;
  for (const std::string& bytes : described.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(bytes));
    for (const auto& service : file.service()) {
      if (service.name() != "ZfsService") continue;
      for (const auto& method : service.method()) methods.push_back(method.name());
    }
  }
  EXPECT_THAT(methods, Contains("CreateVolume"));
  EXPECT_THAT(methods, Contains("WatchTemplates"));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

}  // namespace
}  // namespace mvirt::zfs::testing
