#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "cli/formatters.h"
#include "cli/output.h"

namespace mvirt::zfs::cli {
namespace {

// Arguments are parsed into structs owned by shared_ptr: the registering
// function returns before CLI11 fills them, and the action reads them later.

// The VOLUME and SNAPSHOT arguments of most snapshot commands.
struct SnapshotArgs {
  std::string volume;
  std::string snapshot;
};

void AddSnapshotArgs(CLI::App& command, SnapshotArgs& args) {
  command.add_option("VOLUME", args.volume, "Volume name")->required();
  command.add_option("SNAPSHOT", args.snapshot, "Snapshot name")->required();
}

// A request naming one snapshot (volume_name, snapshot_name).
template <typename Request>
Request SnapshotRequest(const SnapshotArgs& args) {
  Request request;
  request.set_volume_name(args.volume);
  request.set_snapshot_name(args.snapshot);
  return request;
}

// VOLUME may list several volumes, comma-separated: then one CreateSnapshots
// call snapshots them all atomically.
int RunCreate(const GlobalOptions& options, const SnapshotArgs& args) {
  std::vector<std::string> volumes = absl::StrSplit(args.volume, ',');
  if (volumes.size() == 1) {
    return CallAndPrint(options, &ZfsService::Stub::CreateSnapshot,
                        SnapshotRequest<CreateSnapshotRequest>(args), PrintSnapshot);
  }
  CreateSnapshotsRequest request;
  request.mutable_volume_names()->Assign(volumes.begin(), volumes.end());
  request.set_snapshot_name(args.snapshot);
  return CallAndPrint(options, &ZfsService::Stub::CreateSnapshots, request, PrintCreatedSnapshots);
}

void AddCreateCommand(CLI::App& snapshot, CommandContext& context) {
  auto args = std::make_shared<SnapshotArgs>();
  CLI::App* command =
      snapshot.add_subcommand("create", "Snapshot a volume, or several volumes atomically");
  AddSnapshotArgs(*command, *args);
  command->get_option("VOLUME")->description("Volume name, or several comma-separated");
  command->footer(
      "Several volumes (e.g. vm-root,vm-data) are snapshotted atomically under one snapshot\n"
      "name: all or none.");
  SetAction(command, context,
            [&options = context.options, args] { return RunCreate(options, *args); });
}

void AddListCommand(CLI::App& snapshot, CommandContext& context) {
  auto volume = std::make_shared<std::string>();
  CLI::App* command = snapshot.add_subcommand("list", "List a volume's snapshots, oldest first");
  command->add_option("VOLUME", *volume, "Volume name")->required();
  SetAction(command, context, [&options = context.options, volume] {
    ListSnapshotsRequest request;
    request.set_volume_name(*volume);
    return CallAndPrint(options, &ZfsService::Stub::ListSnapshots, request,
                        InStyle(options, PrintSnapshotTable));
  });
}

void AddDeleteCommand(CLI::App& snapshot, CommandContext& context) {
  auto args = std::make_shared<SnapshotArgs>();
  CLI::App* command = snapshot.add_subcommand("delete", "Delete a snapshot");
  AddSnapshotArgs(*command, *args);
  SetAction(command, context, [&options = context.options, args] {
    return CallAndPrint(
        options, &ZfsService::Stub::DeleteSnapshot, SnapshotRequest<DeleteSnapshotRequest>(*args),
        DeletionPrinter(absl::StrCat("snapshot ", args->volume, "@", args->snapshot)));
  });
}

struct RollbackArgs {
  SnapshotArgs target;
  bool yes = false;
};

// Refuses to run without --yes: rollback cannot be undone.
int RunRollback(const GlobalOptions& options, const RollbackArgs& args) {
  if (!args.yes) {
    return ReportUsageError(absl::FailedPreconditionError(absl::StrCat(
        "rollback discards all changes to volume ", args.target.volume, " since snapshot ",
        args.target.snapshot,
        " and destroys every newer snapshot; stop the VM using the volume, then repeat with "
        "--yes")));
  }
  return CallAndPrint(options, &ZfsService::Stub::RollbackSnapshot,
                      SnapshotRequest<RollbackSnapshotRequest>(args.target), PrintVolume);
}

void AddRollbackCommand(CLI::App& snapshot, CommandContext& context) {
  auto args = std::make_shared<RollbackArgs>();
  CLI::App* command =
      snapshot.add_subcommand("rollback", "Roll a volume back to a snapshot (needs --yes)");
  AddSnapshotArgs(*command, args->target);
  command->add_flag("-y,--yes", args->yes, "Confirm the rollback (required)");
  command->footer(
      "Rollback discards all changes made since SNAPSHOT and destroys every newer snapshot.\n"
      "Stop the VM using the volume first.");
  SetAction(command, context,
            [&options = context.options, args] { return RunRollback(options, *args); });
}

struct RenameArgs {
  SnapshotArgs snapshot;
  std::string new_name;
  std::string id;
};

void AddRenameCommand(CLI::App& snapshot, CommandContext& context) {
  auto args = std::make_shared<RenameArgs>();
  CLI::App* command = snapshot.add_subcommand("rename", "Rename a snapshot");
  AddSnapshotArgs(*command, args->snapshot);
  command->add_option("NEW_NAME", args->new_name, "New snapshot name")->required();
  command->add_option("--id", args->id, "Only if the snapshot has this id (a retry is then OK)")
      ->type_name("UUID");
  SetAction(command, context, [&options = context.options, args] {
    RenameSnapshotRequest request;
    request.set_volume_name(args->snapshot.volume);
    request.set_snapshot_name(args->snapshot.snapshot);
    request.set_new_name(args->new_name);
    request.set_id(args->id);
    return CallAndPrint(options, &ZfsService::Stub::RenameSnapshot, request, PrintSnapshot);
  });
}

// "hourly 24, daily 7 (group vm-1)" or "none".
void PrintPolicy(const SnapshotPolicy& policy, std::ostream& out) {
  KeyValueList fields;
  fields.Add("volume", policy.volume_name());
  std::string keep;
  for (const auto& [name, count] :
       {std::pair<const char*, uint32_t>{"hourly", policy.hourly_keep()},
        {"daily", policy.daily_keep()},
        {"weekly", policy.weekly_keep()}}) {
    if (count > 0) absl::StrAppend(&keep, keep.empty() ? "" : ", ", name, " ", count);
  }
  fields.Add("keep", keep.empty() ? "none (no snapshots are scheduled)" : keep);
  fields.Add("group", policy.group().empty() ? "-" : policy.group());
  fields.Print(out);
}

void AddPolicyCommands(CLI::App& snapshot, CommandContext& context) {
  CLI::App* policy = AddCommandGroup(
      snapshot, "policy", "A volume's snapshot schedule with retention (hourly, daily, weekly)");
  auto set = std::make_shared<SnapshotPolicy>();
  CLI::App* set_command = policy->add_subcommand(
      "set", "Schedule snapshots of a volume and how many of each class to keep");
  set_command->add_option("VOLUME", *set->mutable_volume_name(), "Volume name")->required();
  set_command->add_option_function<uint32_t>(
      "--hourly", [set](uint32_t n) { set->set_hourly_keep(n); }, "Keep N hourly snapshots");
  set_command->add_option_function<uint32_t>(
      "--daily", [set](uint32_t n) { set->set_daily_keep(n); }, "Keep N daily snapshots");
  set_command->add_option_function<uint32_t>(
      "--weekly", [set](uint32_t n) { set->set_weekly_keep(n); }, "Keep N weekly snapshots");
  set_command->add_option("--group", *set->mutable_group(),
                          "Take them together with the other volumes of this group (one ZFS "
                          "transaction: a VM's disks)");
  set_command->footer(
      "Snapshots are named auto-hourly-YYYYMMDD-HHMM (UTC), auto-daily-..., auto-weekly-...;\n"
      "beyond keep the oldest are pruned, never one with clones or holds, never a manual one.");
  SetAction(set_command, context, [&options = context.options, set] {
    SetSnapshotPolicyRequest request;
    *request.mutable_policy() = *set;
    return CallAndPrint(options, &ZfsService::Stub::SetSnapshotPolicy, request, PrintPolicy);
  });
  auto get = std::make_shared<GetSnapshotPolicyRequest>();
  CLI::App* get_command = policy->add_subcommand("get", "Show a volume's snapshot policy");
  get_command->add_option("VOLUME", *get->mutable_volume_name(), "Volume name")->required();
  SetAction(get_command, context, [&options = context.options, get] {
    return CallAndPrint(options, &ZfsService::Stub::GetSnapshotPolicy, *get, PrintPolicy);
  });
  auto clear = std::make_shared<SetSnapshotPolicyRequest>();
  CLI::App* clear_command =
      policy->add_subcommand("clear", "Stop scheduling snapshots of a volume (those taken stay)");
  clear_command
      ->add_option("VOLUME", *clear->mutable_policy()->mutable_volume_name(), "Volume name")
      ->required();
  SetAction(clear_command, context, [&options = context.options, clear] {
    return CallAndPrint(options, &ZfsService::Stub::SetSnapshotPolicy, *clear, PrintPolicy);
  });
}

}  // namespace

void AddSnapshotCommands(CLI::App& app, CommandContext& context) {
  CLI::App* snapshot = AddCommandGroup(app, "snapshot", "Manage volume snapshots");
  AddCreateCommand(*snapshot, context);
  AddListCommand(*snapshot, context);
  AddDeleteCommand(*snapshot, context);
  AddRollbackCommand(*snapshot, context);
  AddRenameCommand(*snapshot, context);
  AddPolicyCommands(*snapshot, context);
}

}  // namespace mvirt::zfs::cli
