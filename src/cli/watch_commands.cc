#include "cli/commands.h"
#include "cli/formatters.h"

namespace mvirt::zfs::cli {

void AddWatchCommands(CLI::App& app, CommandContext& context) {
  CLI::App* watch = AddCommandGroup(
      app, "watch",
      "Print one line per change as it happens, until interrupted (Ctrl-C) or the daemon "
      "ends the stream");

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
