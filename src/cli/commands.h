// The command groups of mvirt-zfsctl. Each adds its subcommands to the
// top-level app; main calls them in the order they appear in --help.
#ifndef MVIRT_ZFS_CLI_COMMANDS_H_
#define MVIRT_ZFS_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace mvirt::zfs::cli {

// version: client and daemon version.
void AddVersionCommand(CLI::App& app, CommandContext& context);

// health: the daemon's standard gRPC health status (health_command.cc).
void AddHealthCommand(CLI::App& app, CommandContext& context);

// pool stats|check.
void AddPoolCommands(CLI::App& app, CommandContext& context);

// volume create|list|get|resize|delete|clone, and the stream commands.
void AddVolumeCommands(CLI::App& app, CommandContext& context);

// volume send|receive|receive-state|abort-receive (stream_commands.cc):
// added to the `volume` group by AddVolumeCommands.
void AddVolumeStreamCommands(CLI::App& volume, CommandContext& context);

// volume replicate|migrate and replication list|get|cancel
// (replication_commands.cc).
void AddReplicationCommands(CLI::App& app, CLI::App& volume, CommandContext& context);
// template replicate (replication_commands.cc): added to the `template`
// group by AddTemplateCommands.
void AddTemplateReplicateCommand(CLI::App& template_group, CommandContext& context);

// snapshot create|list|delete|rollback.
void AddSnapshotCommands(CLI::App& app, CommandContext& context);

// template list|import|promote|clone|delete|replicate.
void AddTemplateCommands(CLI::App& app, CommandContext& context);

// job list|get|cancel: image import jobs.
void AddJobCommands(CLI::App& app, CommandContext& context);

// watch volumes|templates: server streams, one line per event.
void AddWatchCommands(CLI::App& app, CommandContext& context);

}  // namespace mvirt::zfs::cli

#endif  // MVIRT_ZFS_CLI_COMMANDS_H_
