#include "cli/commands.h"
#include "cli/formatters.h"

namespace mvirt::zfs::cli {
namespace {

// pool check: exit 0 when the pool follows the seed's standards, 1 when any
// setting differs (or the call failed: its own exit code).
int RunPoolCheck(const GlobalOptions& options) {
  ZfsClient client(options.connection);
  PoolCheck check;
  grpc::Status status = client.Call(&ZfsService::Stub::CheckPool, CheckPoolRequest(), &check);
  if (!status.ok()) return ReportRpcError(status, options.connection);
  if (int printed = PrintMessage(options, check, PrintPoolCheck); printed != kExitOk) {
    return printed;
  }
  return check.findings().empty() ? kExitOk : kExitRpcError;
}

}  // namespace

void AddPoolCommands(CLI::App& app, CommandContext& context) {
  CLI::App* pool = AddCommandGroup(app, "pool", "Inspect the storage pool");

  CLI::App* stats = pool->add_subcommand(
      "stats", "Show pool capacity, usage, compression, health, vdevs and the space guard");
  SetAction(stats, context, [&options = context.options] {
    return CallAndPrint(options, &ZfsService::Stub::GetPoolStats, GetPoolStatsRequest(),
                        PrintPoolStats);
  });

  CLI::App* check = pool->add_subcommand(
      "check", "Compare the pool with the seed's standards; exit 1 if any setting differs");
  SetAction(check, context, [&options = context.options] { return RunPoolCheck(options); });
}

}  // namespace mvirt::zfs::cli
