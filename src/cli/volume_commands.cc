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

void AddAdoptCommand(CLI::App& volume, CommandContext& context) {
  auto request = std::make_shared<AdoptVolumeRequest>();
  CLI::App* command = volume.add_subcommand(
      "adopt", "Take a zvol this daemon did not create (zfs create -V) under management");
  command->add_option("DATASET", *request->mutable_dataset(), "The zvol: POOL/path/to/zvol")
      ->required();
  command->add_option("--name", *request->mutable_new_name(),
                      "Rename it to the volume NAME (needed unless it is POOL/NAME already)");
  command->add_option("--id", *request->mutable_id(), "Its id (default: a new UUID)")
      ->type_name("UUID");
  command->add_flag(
      "--allow-unmanaged-origin", [request](int64_t) { request->set_allow_unmanaged_origin(true); },
      "Also adopt a clone of a snapshot this daemon does not manage");
  command->add_flag(
      "--allow-open", [request](int64_t) { request->set_allow_open(true); },
      "Also adopt it while its device is open (not with --name)");
  command->footer(
      "Its data, snapshots and properties stay; it gets mvirt:kind and mvirt:id.\n"
      "Refused while its device is open (unless --allow-open) or for a clone of an\n"
      "unmanaged snapshot (unless --allow-unmanaged-origin).");
  SetAction(command, context, [&options = context.options, request] {
    return CallAndPrint(options, &ZfsService::Stub::AdoptVolume, *request, PrintVolume);
  });
}

void AddReleaseCommand(CLI::App& volume, CommandContext& context) {
  auto request = std::make_shared<ReleaseVolumeRequest>();
  CLI::App* command = volume.add_subcommand(
      "release", "Stop managing a volume: its marks go, its data and device stay");
  command->add_option("NAME", *request->mutable_name(), "Volume name")->required();
  command->add_option("--id", *request->mutable_id(), "Only if the volume has this id")
      ->type_name("UUID");
  SetAction(command, context, [&options = context.options, request] {
    return CallAndPrint(options, &ZfsService::Stub::ReleaseVolume, *request,
                        [](const ReleaseVolumeResponse& response, std::ostream& out) {
                          out << "released: zvol " << response.dataset() << " (device "
                              << response.path() << ") is no longer managed\n";
                        });
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
  AddAdoptCommand(*volume, context);
  AddReleaseCommand(*volume, context);
  AddVolumeStreamCommands(*volume, context);
  AddReplicationCommands(app, *volume, context);
}

}  // namespace mvirt::zfs::cli
