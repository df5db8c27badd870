// mvirt-zfsctl health: what the daemon's standard gRPC health service
// (grpc.health.v1.Health) says of mvirt.zfs.ZfsService: SERVING while its
// pool is imported and ONLINE or DEGRADED, NOT_SERVING otherwise. For
// scripts and monitoring: exit 0 when SERVING, 1 when not or when the daemon
// cannot be reached.
#include <iostream>

#include "cli/commands.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace mvirt::zfs::cli {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

int RunHealth(const GlobalOptions& options) {
  ZfsClient client(options.connection);
  std::unique_ptr<Health::Stub> health = Health::NewStub(client.channel());
  HealthCheckRequest request;
  request.set_service("mvirt.zfs.ZfsService");
  HealthCheckResponse response;
  grpc::Status status = health->Check(client.NewContext().get(), request, &response);
  if (!status.ok()) {
    ReportRpcError(status, options.connection);
    return kExitRpcError;  // health is 0 or 1, whatever kept the answer away
  }
  if (int printed = PrintMessage(options, response,
                                 [](const HealthCheckResponse& r, std::ostream& out) {
                                   out << HealthCheckResponse::ServingStatus_Name(r.status())
                                       << "\n";
                                 });
      printed != kExitOk) {
    return printed;
  }
  return response.status() == HealthCheckResponse::SERVING ? kExitOk : kExitRpcError;
}

}  // namespace

void AddHealthCommand(CLI::App& app, CommandContext& context) {
  CLI::App* command = app.add_subcommand(
      "health", "Show whether the daemon serves its pool (exit 0 when SERVING, 1 otherwise)");
  SetAction(command, context, [&options = context.options] { return RunHealth(options); });
}

}  // namespace mvirt::zfs::cli
