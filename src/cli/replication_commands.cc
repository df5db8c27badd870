// volume replicate|migrate, and replication list|get|cancel: jobs that send
// a volume from the daemon to another mvirt-zfs daemon.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "cli/formatters.h"
#include "cli/output.h"
#include "common/sizes.h"

namespace mvirt::zfs::cli {
namespace {

std::string StateWord(ReplicationJobState state) {
  switch (state) {
    case REPLICATION_JOB_STATE_RUNNING:
      return "running";
    case REPLICATION_JOB_STATE_COMPLETED:
      return "completed";
    case REPLICATION_JOB_STATE_FAILED:
      return "failed";
    case REPLICATION_JOB_STATE_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

void PrintReplicationJob(const ReplicationJob& job, std::ostream& out) {
  KeyValueList fields;
  fields.Add("id", job.id());
  fields.Add("kind", job.kind());
  fields.Add("volume", job.volume_name());
  fields.Add("target", job.target());
  fields.Add("state", StateWord(job.state()));
  fields.Add("step", job.step().empty() ? "-" : job.step());
  fields.Add("sent", absl::StrCat(FormatSize(job.bytes_sent()), " of about ",
                                  FormatSize(job.total_bytes())));
  fields.Add("snapshots_sent",
             job.snapshots_sent().empty() ? "-" : absl::StrJoin(job.snapshots_sent(), ", "));
  if (job.kind() == "migrate") fields.Add("ready", job.ready() ? "yes" : "no");
  if (job.has_error()) fields.Add("error", job.error());
  fields.Add("created_at", job.created_at());
  if (job.has_completed_at()) fields.Add("completed_at", job.completed_at());
  fields.Print(out);
}

void PrintReplicationJobs(const ListReplicationJobsResponse& response, std::ostream& out) {
  Table table(
      {{"ID"}, {"KIND"}, {"VOLUME"}, {"TARGET"}, {"STATE"}, {"SENT", Table::Align::kRight}});
  for (const ReplicationJob& job : response.jobs()) {
    table.AddRow({job.id(), job.kind(), job.volume_name(), job.target(), StateWord(job.state()),
                  FormatSize(job.bytes_sent())});
  }
  table.Print(out);
}

// Polls the job until it ends, showing its progress on stderr when that is
// a terminal; prints the job and returns 0 if it completed.
int FollowJob(const GlobalOptions& options, ReplicationJob job) {
  ZfsClient client(options.connection);
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  while (job.state() == REPLICATION_JOB_STATE_RUNNING) {
    if (terminal) {
      std::cerr << "\r" << job.kind() << " " << job.volume_name() << ": "
                << (job.step().empty() ? "starting" : job.step()) << ", "
                << FormatSize(job.bytes_sent()) << " of about " << FormatSize(job.total_bytes())
                << "\x1b[K" << std::flush;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    GetReplicationJobRequest request;
    request.set_id(job.id());
    grpc::Status status = client.Call(&ZfsService::Stub::GetReplicationJob, request, &job);
    if (!status.ok()) {
      if (terminal) std::cerr << "\n";
      return ReportRpcError(status, options.connection);
    }
  }
  if (terminal) std::cerr << "\r\x1b[K";
  int printed = PrintMessage(options, job, PrintReplicationJob);
  if (job.state() != REPLICATION_JOB_STATE_COMPLETED) {
    PrintError(absl::StrCat(job.kind(), " job ", job.id(), " ", StateWord(job.state()), ": ",
                            job.error()));
    return kExitRpcError;
  }
  return printed;
}

struct JobArgs {
  std::string volume;
  std::string target;
  std::string snapshot;
  std::string bandwidth;
  bool final_step = false;
  bool detach = false;
};

// Starts the job with `start` and follows it unless --detach.
template <typename Request>
int StartAndFollow(const GlobalOptions& options, const JobArgs& args,
                   UnaryMethod<Request, ReplicationJob> start, Request request) {
  if (!args.bandwidth.empty()) {
    absl::StatusOr<uint64_t> rate = ParseSize(args.bandwidth);
    if (!rate.ok()) return ReportUsageError(rate.status());
    request.set_bandwidth_limit(*rate);
  }
  ZfsClient client(options.connection);
  ReplicationJob job;
  grpc::Status status = client.Call(start, request, &job);
  if (!status.ok()) return ReportRpcError(status, options.connection);
  if (args.detach) return PrintMessage(options, job, PrintReplicationJob);
  return FollowJob(options, job);
}

void AddJobOptions(CLI::App& command, JobArgs& args, const char* what = "Volume name") {
  command.add_option("NAME", args.volume, what)->required();
  command.add_option("--to", args.target, "The receiving daemon: HOST:PORT or unix:/path")
      ->required();
  command.add_option("--bwlimit", args.bandwidth, "At most this many bytes per second, e.g. 100M")
      ->type_name("RATE");
  command.add_flag("--detach", args.detach, "Print the job and return instead of following it");
}

}  // namespace

void AddReplicationCommands(CLI::App& app, CLI::App& volume, CommandContext& context) {
  auto replicate = std::make_shared<JobArgs>();
  CLI::App* command = volume.add_subcommand(
      "replicate", "Send a volume's snapshots to another mvirt-zfs daemon (a job)");
  AddJobOptions(*command, *replicate);
  command->add_option("--snapshot", replicate->snapshot, "Up to this snapshot (default: newest)");
  command->footer(
      "Sends every snapshot the target lacks, oldest first: in full the first time, then\n"
      "incrementally from the newest snapshot both have. Follows the job until it ends\n"
      "(progress on stderr) unless --detach.");
  SetAction(command, context, [&options = context.options, replicate] {
    ReplicateVolumeRequest request;
    request.set_volume_name(replicate->volume);
    request.set_target(replicate->target);
    request.set_snapshot_name(replicate->snapshot);
    return StartAndFollow(options, *replicate, &ZfsService::Stub::ReplicateVolume, request);
  });

  auto migrate = std::make_shared<JobArgs>();
  CLI::App* migrate_command = volume.add_subcommand(
      "migrate", "Move a volume to another mvirt-zfs daemon while its VM runs (a job)");
  AddJobOptions(*migrate_command, *migrate);
  migrate_command->add_flag("--final", migrate->final_step,
                            "The last step, once the VM is stopped (refused while the device "
                            "is open)");
  migrate_command->footer(
      "Without --final: rounds of snapshot + incremental send until the increment is small.\n"
      "Then stop the VM and run again with --final: the last increment makes the target's\n"
      "volume complete. The source volume stays until you delete it.");
  SetAction(migrate_command, context, [&options = context.options, migrate] {
    MigrateVolumeRequest request;
    request.set_volume_name(migrate->volume);
    request.set_target(migrate->target);
    request.set_final(migrate->final_step);
    return StartAndFollow(options, *migrate, &ZfsService::Stub::MigrateVolume, request);
  });

  CLI::App* group = AddCommandGroup(app, "replication", "Replication and migration jobs");
  CLI::App* list = group->add_subcommand("list", "List this daemon's replication jobs");
  SetAction(list, context, [&options = context.options] {
    return CallAndPrint(options, &ZfsService::Stub::ListReplicationJobs,
                        ListReplicationJobsRequest(), PrintReplicationJobs);
  });
  auto get_id = std::make_shared<std::string>();
  CLI::App* get = group->add_subcommand("get", "Show a replication job");
  get->add_option("ID", *get_id, "Job id")->required();
  SetAction(get, context, [&options = context.options, get_id] {
    GetReplicationJobRequest request;
    request.set_id(*get_id);
    return CallAndPrint(options, &ZfsService::Stub::GetReplicationJob, request,
                        PrintReplicationJob);
  });
  auto cancel_id = std::make_shared<std::string>();
  CLI::App* cancel = group->add_subcommand(
      "cancel", "Stop a replication job (the target keeps what arrived for the next run)");
  cancel->add_option("ID", *cancel_id, "Job id")->required();
  SetAction(cancel, context, [&options = context.options, cancel_id] {
    CancelReplicationJobRequest request;
    request.set_id(*cancel_id);
    return CallAndPrint(options, &ZfsService::Stub::CancelReplicationJob, request,
                        PrintReplicationJob);
  });
}

void AddTemplateReplicateCommand(CLI::App& template_group, CommandContext& context) {
  auto args = std::make_shared<JobArgs>();
  CLI::App* command = template_group.add_subcommand(
      "replicate", "Send a template to another mvirt-zfs daemon (a job)");
  AddJobOptions(*command, *args, "Template name");
  command->footer(
      "The template arrives with its name and id; clones there are thin clones of it. A\n"
      "target that has it already gets nothing. Follows the job unless --detach.");
  SetAction(command, context, [&options = context.options, args] {
    ReplicateTemplateRequest request;
    request.set_template_name(args->volume);
    request.set_target(args->target);
    return StartAndFollow(options, *args, &ZfsService::Stub::ReplicateTemplate, request);
  });
}

}  // namespace mvirt::zfs::cli
