#include "cli/commands.h"
#include "cli/formatters.h"

namespace mvirt::zfs::cli {

void AddWatchCommands(CLI::App& app, CommandContext& context) {
  CLI::App* watch = AddCommandGroup(app, "watch", "Follow changes to volumes or templates");
  // Set before adding the subcommands, which inherit it.
  watch->footer(
      "Prints one line per event (one JSON object per line with --json) until interrupted\n"
      "(Ctrl-C) or the daemon ends the stream. No --timeout applies.");

  CLI::App* volumes =
      watch->add_subcommand("volumes", "Watch volumes being created, changed and deleted");
  SetAction(volumes, context, [&options = context.options] {
    return StreamAndPrint(options, &ZfsService::Stub::WatchVolumes, WatchVolumesRequest(),
                          PrintVolumeEvent);
  });

  CLI::App* templates = watch->add_subcommand(
      "templates", "Watch templates being created, imported, changed and deleted");
  SetAction(templates, context, [&options = context.options] {
    return StreamAndPrint(options, &ZfsService::Stub::WatchTemplates, WatchTemplatesRequest(),
                          PrintTemplateEvent);
  });
}

}  // namespace mvirt::zfs::cli
