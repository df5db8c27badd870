// mvirt-zfsctl: command-line client of the mvirt-zfs daemon. Exit codes:
// cli/command.h (kExit*), documented in the README.
#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  namespace cli = mvirt::zfs::cli;
  CLI::App app("Manage ZFS volumes through the mvirt-zfs daemon", "mvirt-zfsctl");
  cli::CommandContext context;
  cli::AddGlobalOptions(app, context.options);
  cli::AddVersionCommand(app, context);
  cli::AddHealthCommand(app, context);
  cli::AddPoolCommands(app, context);
  cli::AddVolumeCommands(app, context);
  cli::AddSnapshotCommands(app, context);
  cli::AddTemplateCommands(app, context);
  cli::AddJobCommands(app, context);
  cli::AddWatchCommands(app, context);
  return cli::ParseAndRun(app, context, argc, argv);
}
