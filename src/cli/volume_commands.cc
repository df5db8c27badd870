#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cli/commands.h"
#include "cli/formatters.h"
#include "cli/volume_options.h"
#include "common/sizes.h"

namespace mvirt::zfs::cli {
namespace {

// Arguments are parsed into structs owned by shared_ptr: the registering
// function returns before CLI11 fills them, and the action reads them later.

struct CreateArgs {
  std::string name;
  std::string size;
  std::optional<std::string> volblocksize;
  std::string id;
  bool thick = false;
};

int RunCreate(const GlobalOptions& options, const CreateArgs& args) {
  absl::StatusOr<uint64_t> size = ParseSize(args.size);
  if (!size.ok()) return ReportUsageError(size.status());
  CreateVolumeRequest request;
  request.set_name(args.name);
  request.set_size_bytes(*size);
  request.set_id(args.id);
  request.set_thick(args.thick);
  if (args.volblocksize.has_value()) {
    absl::StatusOr<uint64_t> volblocksize = ParseSize(*args.volblocksize);
    if (!volblocksize.ok()) return ReportUsageError(volblocksize.status());
    // Also guarantees the value fits the uint32 field.
    if (absl::Status valid = ValidateVolblocksize(*volblocksize); !valid.ok()) {
      return ReportUsageError(valid);
    }
    request.set_volblocksize(static_cast<uint32_t>(*volblocksize));
  }
  return CallAndPrint(options, &ZfsService::Stub::CreateVolume, request, PrintVolume);
}

void AddCreateCommand(CLI::App& volume, CommandContext& context) {
  auto args = std::make_shared<CreateArgs>();
  CLI::App* command = volume.add_subcommand("create", "Create a volume");
  command->add_option("NAME", args->name, "Volume name")->required();
  command->add_option("SIZE", args->size, "Size: bytes or with a binary unit, e.g. 50G, 512M")
      ->required();
  command
      ->add_option("--volblocksize", args->volblocksize,
                   "Block size: a power of two from 4K to 128K (default 16K)")
      ->type_name("SIZE");
  AddVolumeIdOption(*command, args->id);
  AddThickOption(*command, args->thick);
  SetAction(command, context,
            [&options = context.options, args] { return RunCreate(options, *args); });
}

void AddListCommand(CLI::App& volume, CommandContext& context) {
  CLI::App* command = volume.add_subcommand("list", "List volumes");
  SetAction(command, context, [&options = context.options] {
    return CallAndPrint(options, &ZfsService::Stub::ListVolumes, ListVolumesRequest(),
                        InStyle(options, PrintVolumeTable));
  });
}

void AddGetCommand(CLI::App& volume, CommandContext& context) {
  auto name = std::make_shared<std::string>();
  CLI::App* command = volume.add_subcommand("get", "Show a volume and its snapshots");
  command->add_option("NAME", *name, "Volume name")->required();
  SetAction(command, context, [&options = context.options, name] {
    GetVolumeRequest request;
    request.set_name(*name);
    return CallAndPrint(options, &ZfsService::Stub::GetVolume, request, PrintVolume);
  });
}

struct ResizeArgs {
  std::string name;
  std::string size;
};

int RunResize(const GlobalOptions& options, const ResizeArgs& args) {
  absl::StatusOr<uint64_t> size = ParseSize(args.size);
  if (!size.ok()) return ReportUsageError(size.status());
  ResizeVolumeRequest request;
  request.set_name(args.name);
  request.set_new_size_bytes(*size);
  return CallAndPrint(options, &ZfsService::Stub::ResizeVolume, request, PrintVolume);
}

void AddResizeCommand(CLI::App& volume, CommandContext& context) {
  auto args = std::make_shared<ResizeArgs>();
  CLI::App* command = volume.add_subcommand("resize", "Change a volume's size");
  command->add_option("NAME", args->name, "Volume name")->required();
  command->add_option("SIZE", args->size, "New size: bytes or with a binary unit, e.g. 80G")
      ->required();
  SetAction(command, context,
            [&options = context.options, args] { return RunResize(options, *args); });
}

void AddDeleteCommand(CLI::App& volume, CommandContext& context) {
  auto name = std::make_shared<std::string>();
  auto release_holds = std::make_shared<bool>(false);
  CLI::App* command = volume.add_subcommand("delete", "Delete a volume");
  command->add_option("NAME", *name, "Volume name")->required();
  command->add_flag("--release-holds", *release_holds,
                    "Release this daemon's replication-base hold (mvirt-zfs:replication-base) "
                    "on its snapshots first; other holds still refuse the delete");
  SetAction(command, context, [&options = context.options, name, release_holds] {
    DeleteVolumeRequest request;
    request.set_name(*name);
    request.set_release_holds(*release_holds);
    return CallAndPrint(options, &ZfsService::Stub::DeleteVolume, request,
                        DeletionPrinter("volume " + *name));
  });
}

struct CloneArgs {
  std::string source;
  std::string snapshot;
  std::string name;
  CloneOptions clone;
};

int RunClone(const GlobalOptions& options, const CloneArgs& args) {
  CloneVolumeRequest request;
  request.set_source_volume(args.source);
  request.set_snapshot_name(args.snapshot);
  request.set_new_volume_name(args.name);
  if (absl::Status valid = SetCloneOptions(args.clone, request); !valid.ok()) {
    return ReportUsageError(valid);
  }
  return CallAndPrint(options, &ZfsService::Stub::CloneVolume, request, PrintVolume);
}

void AddCloneCommand(CLI::App& volume, CommandContext& context) {
  auto args = std::make_shared<CloneArgs>();
  CLI::App* command =
      volume.add_subcommand("clone", "Create a volume as a thin clone of a volume's snapshot");
  command->add_option("SOURCE_VOLUME", args->source, "Volume the snapshot belongs to")->required();
  command->add_option("SNAPSHOT", args->snapshot, "Snapshot name")->required();
  command->add_option("NEW_NAME", args->name, "Name of the new volume")->required();
  AddCloneOptions(*command, args->clone);
  SetAction(command, context,
            [&options = context.options, args] { return RunClone(options, *args); });
}

struct RenameArgs {
  std::string name;
  std::string new_name;
  std::string id;
};

void AddRenameCommand(CLI::App& volume, CommandContext& context) {
  auto args = std::make_shared<RenameArgs>();
  CLI::App* command =
      volume.add_subcommand("rename", "Rename a volume (its device must be closed)");
  command->add_option("NAME", args->name, "Volume name")->required();
  command->add_option("NEW_NAME", args->new_name, "New name")->required();
  command->add_option("--id", args->id, "Only if the volume has this id (a retry is then OK)")
      ->type_name("UUID");
  command->footer(
      "The id, data, snapshots and clones stay; the device becomes /dev/zvol/POOL/NEW_NAME.\n"
      "Refused while anything has the device open.");
  SetAction(command, context, [&options = context.options, args] {
    RenameVolumeRequest request;
    request.set_name(args->name);
    request.set_new_name(args->new_name);
    request.set_id(args->id);
    return CallAndPrint(options, &ZfsService::Stub::RenameVolume, request, PrintVolume);
  });
}

}  // namespace

void AddVolumeCommands(CLI::App& app, CommandContext& context) {
  CLI::App* volume = AddCommandGroup(app, "volume", "Manage volumes (zvols)");
  AddCreateCommand(*volume, context);
  AddListCommand(*volume, context);
  AddGetCommand(*volume, context);
  AddResizeCommand(*volume, context);
  AddDeleteCommand(*volume, context);
  AddCloneCommand(*volume, context);
  AddRenameCommand(*volume, context);
  AddVolumeStreamCommands(*volume, context);
  AddReplicationCommands(app, *volume, context);
}

}  // namespace mvirt::zfs::cli
