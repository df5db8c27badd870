#include "cli/commands.h"
#include "cli/formatters.h"

namespace mvirt::zfs::cli {

void AddPoolCommands(CLI::App& app, CommandContext& context) {
  CLI::App* pool = AddCommandGroup(app, "pool", "Inspect the storage pool");

  CLI::App* stats = pool->add_subcommand("stats", "Show pool capacity, usage and compression");
  SetAction(stats, context, [&options = context.options] {
    return CallAndPrint(options, &ZfsService::Stub::GetPoolStats, GetPoolStatsRequest(),
                        PrintPoolStats);
  });
}

}  // namespace mvirt::zfs::cli
