#include "cli/import_follow.h"

#include <unistd.h>

#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/formatters.h"

namespace mvirt::zfs::cli {
namespace {

bool IsFinished(const ImportJob& job) {
  return job.state() == IMPORT_JOB_STATE_COMPLETED || job.state() == IMPORT_JOB_STATE_FAILED ||
         job.state() == IMPORT_JOB_STATE_CANCELLED;
}

uint64_t PhaseBytes(const ImportJob& job) {
  return job.state() == IMPORT_JOB_STATE_DOWNLOADING ? job.downloaded_bytes() : job.bytes_written();
}

}  // namespace

void TransferRate::Add(ImportJobState state, uint64_t done,
                       std::chrono::steady_clock::time_point now) {
  if (state != state_ || done < done_) {
    state_ = state;
    done_ = done;
    at_ = now;
    rate_ = 0;
    return;
  }
  double seconds = std::chrono::duration<double>(now - at_).count();
  if (seconds <= 0) return;
  double sample = static_cast<double>(done - done_) / seconds;
  rate_ = rate_ == 0 ? sample : 0.7 * rate_ + 0.3 * sample;
  done_ = done;
  at_ = now;
}

int FollowImport(const GlobalOptions& options, ZfsClient& client, ImportJob job,
                 std::chrono::milliseconds interval) {
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  TransferRate rate;
  ImportJobState shown_state = IMPORT_JOB_STATE_UNSPECIFIED;
  auto shown_at = std::chrono::steady_clock::now();
  while (!IsFinished(job)) {
    auto now = std::chrono::steady_clock::now();
    rate.Add(job.state(), PhaseBytes(job), now);
    const std::string line = FormatImportProgress(job, rate.bytes_per_second());
    if (terminal) {
      std::cerr << "\r" << line << "\x1b[K" << std::flush;
    } else if (job.state() != shown_state || now - shown_at >= std::chrono::seconds(10)) {
      std::cerr << line << "\n";
      shown_state = job.state();
      shown_at = now;
    }
    std::this_thread::sleep_for(interval);
    GetImportJobRequest request;
    request.set_id(job.id());
    grpc::Status status = client.Call(&ZfsService::Stub::GetImportJob, request, &job);
    if (!status.ok()) {
      if (terminal) std::cerr << "\n";
      return ReportRpcError(status, options.connection);
    }
  }
  if (terminal) std::cerr << "\r\x1b[K";
  switch (job.state()) {
    case IMPORT_JOB_STATE_COMPLETED:
      return PrintMessage(options, job.template_(), PrintTemplate);
    case IMPORT_JOB_STATE_CANCELLED:
      PrintError(absl::StrCat("import job ", job.id(), " was cancelled"));
      return kExitRpcError;
    default:
      PrintError(absl::StrCat("import job ", job.id(), " failed: ", job.error()));
      return kExitRpcError;
  }
}

}  // namespace mvirt::zfs::cli
