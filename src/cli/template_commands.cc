#include <memory>
#include <string>

#include "absl/status/status.h"
#include "cli/commands.h"
#include "cli/formatters.h"
#include "cli/volume_options.h"

namespace mvirt::zfs::cli {
namespace {

// Arguments are parsed into structs owned by shared_ptr: the registering
// function returns before CLI11 fills them, and the action reads them later.

void AddListCommand(CLI::App& template_group, CommandContext& context) {
  CLI::App* command = template_group.add_subcommand("list", "List templates");
  SetAction(command, context, [&options = context.options] {
    return CallAndPrint(options, &ZfsService::Stub::ListTemplates, ListTemplatesRequest(),
                        PrintTemplateTable);
  });
}

struct PromoteArgs {
  std::string volume;
  std::string snapshot;
  std::string template_name;
};

int RunPromote(const GlobalOptions& options, const PromoteArgs& args) {
  PromoteSnapshotRequest request;
  request.set_volume_name(args.volume);
  request.set_snapshot_name(args.snapshot);
  request.set_template_name(args.template_name);
  return CallAndPrint(options, &ZfsService::Stub::PromoteSnapshotToTemplate, request,
                      PrintTemplate);
}

void AddPromoteCommand(CLI::App& template_group, CommandContext& context) {
  auto args = std::make_shared<PromoteArgs>();
  CLI::App* command =
      template_group.add_subcommand("promote", "Make a volume's snapshot a template");
  command->add_option("VOLUME", args->volume, "Volume name")->required();
  command->add_option("SNAPSHOT", args->snapshot, "Snapshot name")->required();
  command->add_option("TEMPLATE_NAME", args->template_name, "Name of the new template")->required();
  SetAction(command, context,
            [&options = context.options, args] { return RunPromote(options, *args); });
}

struct CloneArgs {
  std::string template_name;
  std::string volume;
  CloneOptions clone;
};

int RunClone(const GlobalOptions& options, const CloneArgs& args) {
  CloneFromTemplateRequest request;
  request.set_template_name(args.template_name);
  request.set_new_volume_name(args.volume);
  if (absl::Status valid = SetCloneOptions(args.clone, request); !valid.ok()) {
    return ReportUsageError(valid);
  }
  return CallAndPrint(options, &ZfsService::Stub::CloneFromTemplate, request, PrintVolume);
}

void AddCloneCommand(CLI::App& template_group, CommandContext& context) {
  auto args = std::make_shared<CloneArgs>();
  CLI::App* command =
      template_group.add_subcommand("clone", "Create a volume as a thin clone of a template");
  command->add_option("TEMPLATE", args->template_name, "Template name")->required();
  command->add_option("NEW_VOLUME", args->volume, "Name of the new volume")->required();
  AddCloneOptions(*command, args->clone);
  SetAction(command, context,
            [&options = context.options, args] { return RunClone(options, *args); });
}

void AddDeleteCommand(CLI::App& template_group, CommandContext& context) {
  auto name = std::make_shared<std::string>();
  CLI::App* command = template_group.add_subcommand("delete", "Delete a template");
  command->add_option("NAME", *name, "Template name")->required();
  SetAction(command, context, [&options = context.options, name] {
    DeleteTemplateRequest request;
    request.set_name(*name);
    return CallAndPrint(options, &ZfsService::Stub::DeleteTemplate, request,
                        DeletionPrinter("template " + *name));
  });
}

}  // namespace

void AddTemplateCommands(CLI::App& app, CommandContext& context) {
  CLI::App* template_group =
      AddCommandGroup(app, "template", "Manage templates (read-only bases for clones)");
  AddListCommand(*template_group, context);
  AddPromoteCommand(*template_group, context);
  AddCloneCommand(*template_group, context);
  AddDeleteCommand(*template_group, context);
}

}  // namespace mvirt::zfs::cli
