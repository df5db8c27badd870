#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/formatters.h"

namespace mvirt::zfs::cli {
namespace {

void AddListCommand(CLI::App& job_group, CommandContext& context) {
  auto all = std::make_shared<bool>(false);
  CLI::App* command =
      job_group.add_subcommand("list", "List import jobs (running ones by default)");
  command->add_flag("--all,-a", *all, "Also list finished jobs");
  SetAction(command, context, [&options = context.options, all] {
    ListImportJobsRequest request;
    request.set_include_completed(*all);
    return CallAndPrint(options, &ZfsService::Stub::ListImportJobs, request,
                        InStyle(options, PrintImportJobTable));
  });
}

void AddGetCommand(CLI::App& job_group, CommandContext& context) {
  auto id = std::make_shared<std::string>();
  CLI::App* command = job_group.add_subcommand("get", "Show an import job");
  command->add_option("ID", *id, "Job id")->required();
  SetAction(command, context, [&options = context.options, id] {
    GetImportJobRequest request;
    request.set_id(*id);
    return CallAndPrint(options, &ZfsService::Stub::GetImportJob, request, PrintImportJob);
  });
}

void AddCancelCommand(CLI::App& job_group, CommandContext& context) {
  auto id = std::make_shared<std::string>();
  CLI::App* command = job_group.add_subcommand(
      "cancel", "Cancel a running import job; returns once it has removed its partial data");
  command->add_option("ID", *id, "Job id")->required();
  SetAction(command, context, [&options = context.options, id] {
    CancelImportJobRequest request;
    request.set_id(*id);
    return CallAndPrint(
        options, &ZfsService::Stub::CancelImportJob, request,
        [id](const CancelImportJobResponse& response, std::ostream& out) {
          out << (response.cancelled() ? "cancelled import job " : "did not cancel import job ")
              << *id << "\n";
        });
  });
}

}  // namespace

void AddJobCommands(CLI::App& app, CommandContext& context) {
  CLI::App* job_group = AddCommandGroup(app, "job", "Follow and cancel image import jobs");
  AddListCommand(*job_group, context);
  AddGetCommand(*job_group, context);
  AddCancelCommand(*job_group, context);
}

}  // namespace mvirt::zfs::cli
