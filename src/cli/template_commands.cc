#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "cli/commands.h"
#include "cli/formatters.h"
#include "cli/import_follow.h"
#include "cli/volume_options.h"
#include "common/sizes.h"

namespace mvirt::zfs::cli {
namespace {

// Arguments are parsed into structs owned by shared_ptr: the registering
// function returns before CLI11 fills them, and the action reads them later.

void AddListCommand(CLI::App& template_group, CommandContext& context) {
  CLI::App* command = template_group.add_subcommand("list", "List templates");
  SetAction(command, context, [&options = context.options] {
    return CallAndPrint(options, &ZfsService::Stub::ListTemplates, ListTemplatesRequest(),
                        InStyle(options, PrintTemplateTable));
  });
}

struct ImportArgs {
  std::string name;
  std::string source;
  std::optional<std::string> size;
  std::string sha256;
  bool detach = false;
};

int RunImport(const GlobalOptions& options, const ImportArgs& args) {
  ImportTemplateRequest request;
  request.set_name(args.name);
  request.set_source(args.source);
  request.set_sha256(args.sha256);
  if (args.size.has_value()) {
    absl::StatusOr<uint64_t> size = ParseSize(*args.size);
    if (!size.ok()) return ReportUsageError(size.status());
    request.set_size_bytes(*size);
  }
  ZfsClient client(options.connection);
  ImportJob job;
  grpc::Status status = client.Call(&ZfsService::Stub::ImportTemplate, request, &job);
  if (!status.ok()) return ReportRpcError(status, options.connection);
  if (args.detach) {
    return PrintMessage(options, job,
                        [](const ImportJob& j, std::ostream& out) { out << j.id() << "\n"; });
  }
  std::cerr << "import job " << job.id() << " started; Ctrl-C stops following it, not the "
            << "import ('mvirt-zfsctl job cancel " << job.id() << "' does)\n";
  return FollowImport(options, client, job);
}

void AddImportCommand(CLI::App& template_group, CommandContext& context) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* command = template_group.add_subcommand(
      "import", "Import a raw or qcow2 image as a template, showing its progress");
  command->add_option("NAME", args->name, "Name of the new template")->required();
  command
      ->add_option("SOURCE", args->source,
                   "An https:// URL, or an absolute path inside the daemon's import "
                   "directories")
      ->required();
  command
      ->add_option("--size", args->size,
                   "Make the template this large if the image is smaller, e.g. 20G")
      ->type_name("SIZE");
  command->add_option("--sha256", args->sha256, "Expected SHA-256 of the source (hex)");
  command->add_flag("--detach", args->detach, "Print the job id and return at once");
  SetAction(command, context,
            [&options = context.options, args] { return RunImport(options, *args); });
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
  AddImportCommand(*template_group, context);
  AddPromoteCommand(*template_group, context);
  AddCloneCommand(*template_group, context);
  AddDeleteCommand(*template_group, context);
  AddTemplateReplicateCommand(*template_group, context);
}

}  // namespace mvirt::zfs::cli
