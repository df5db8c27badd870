#include "import/import_manager.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/cancel_token.h"
#include "common/log.h"
#include "common/names.h"
#include "common/sizes.h"
#include "common/status_util.h"
#include "import/import_runner.h"
#include "import/import_source.h"
#include "import/sha256.h"

namespace mvirt::zfs {
namespace {

namespace fs = std::filesystem;

constexpr absl::Duration kProgressEventInterval = absl::Milliseconds(250);
constexpr absl::Duration kCancelWait = absl::Seconds(120);
// Imports running or waiting at once; more are refused (each has a thread).
constexpr int kMaxUnfinishedJobs = 64;

constexpr char kInterruptedByCrash[] =
    "interrupted: mvirt-zfs stopped or crashed during the import; its partial data was removed";
constexpr char kInterruptedByStop[] =
    "interrupted: mvirt-zfs was stopped during the import; its partial data was removed";

int64_t Now() { return absl::ToUnixSeconds(absl::Now()); }

// NOT_FOUND for an unknown job id, quoted printable and cut (it is the
// caller's input).
absl::Status NoSuchJob(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("no import job '", Printable(id), "'"));
}

}  // namespace

struct ImportManager::Job {
  ImportJobInfo info;  // guarded by ImportManager::mu_
  ImportSpec spec;     // set before the thread starts, then only the job's thread uses it
  CancelToken cancel;
  absl::Time last_event = absl::InfinitePast();  // guarded by ImportManager::mu_
};

// Turns what RunImport reports into the job's state, records and events.
class ImportManager::Progress final : public ImportProgress {
 public:
  Progress(ImportManager& manager, Job& job) : manager_(manager), job_(job) {}

  void EnterState(ImportState state) override {
    MutexLock lock(&manager_.mu_);
    if (job_.info.state == state) return;
    job_.info.state = state;
    manager_.RecordLocked(job_);
  }
  void SetFormat(const std::string& format) override {
    MutexLock lock(&manager_.mu_);
    job_.info.format = format;
  }
  void SetDownloaded(uint64_t bytes, uint64_t announced) override {
    MutexLock lock(&manager_.mu_);
    ImportJobInfo& info = job_.info;
    info.download_total_bytes = announced;
    info.downloaded_bytes = std::max(info.downloaded_bytes, bytes);
    if (announced > 0) info.downloaded_bytes = std::min(info.downloaded_bytes, announced);
    PublishThrottled();
  }
  void SetTotal(uint64_t total_bytes) override {
    MutexLock lock(&manager_.mu_);
    if (job_.info.total_bytes == 0) job_.info.total_bytes = total_bytes;
    PublishThrottled();
  }
  void SetWritten(uint64_t bytes) override {
    MutexLock lock(&manager_.mu_);
    ImportJobInfo& info = job_.info;
    // What a progress bar may trust: never backwards, never above total.
    info.bytes_written = std::min(std::max(info.bytes_written, bytes), info.total_bytes);
    PublishThrottled();
  }

 private:
  void PublishThrottled() ABSL_EXCLUSIVE_LOCKS_REQUIRED(manager_.mu_) {
    absl::Time now = absl::Now();
    if (now - job_.last_event < kProgressEventInterval) return;
    manager_.PublishLocked(job_);
  }

  ImportManager& manager_;
  Job& job_;
};

ImportManager::ImportManager(VolumeManager& volumes, ImportOptions options)
    : volumes_(volumes), options_(std::move(options)), store_(options_.state_dir + "/jobs") {
  volumes_.SetTemplateObserver(
      [this](const std::string& template_id, const std::optional<TemplateInfo>& info) {
        TemplateEventInfo event;
        event.template_id = template_id;
        event.timestamp = Now();
        event.template_info = info;
        template_events_.Publish(event);
      });
}

ImportManager::~ImportManager() {
  volumes_.SetTemplateObserver(nullptr);  // waits for a report in progress
  Shutdown();
}

absl::Status ImportManager::Recover() {
  if (absl::Status s = store_.Open(); !s.ok()) return s;
  // Downloads of interrupted jobs: nothing can resume them.
  const fs::path tmp = fs::path(options_.state_dir) / "tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("create download directory ", tmp.string(), ": ", ec.message()));
  }
  fs::permissions(tmp, fs::perms::owner_all, ec);
  for (const std::string& dir : options_.import_dirs) {
    if (!fs::exists(dir, ec) && fs::create_directories(dir, ec)) {
      LogInfo("created import directory ", dir);
    }
  }

  MutexLock lock(&mu_);
  for (ImportJobInfo& info : store_.LoadAll()) {
    if (!IsFinished(info.state)) {
      absl::StatusOr<TemplateInfo> tmpl = volumes_.GetTemplate(info.template_name);
      if (tmpl.ok() && tmpl->id == info.template_id) {
        // Completed in ZFS; only the record was not updated before the stop.
        info.state = ImportState::kCompleted;
        info.template_info = *tmpl;
        info.bytes_written = info.total_bytes;
      } else {
        info.state = ImportState::kFailed;
        info.error = kInterruptedByCrash;
      }
      info.completed_at = Now();
      LogWarning("import job ", info.id, " (template '", info.template_name,
                 "') was interrupted by a restart; now ", ImportStateName(info.state));
      if (absl::Status s = store_.Save(info); !s.ok()) LogError(s.message());
    }
    auto job = std::make_shared<Job>();
    job->info = std::move(info);
    jobs_[job->info.id] = std::move(job);
  }
  PruneLocked();
  return absl::OkStatus();
}

absl::Status ImportManager::WithRunningJobId(const absl::Status& refused,
                                             const std::string& template_name) {
  if (!absl::IsAlreadyExists(refused)) return refused;
  MutexLock lock(&mu_);
  for (const auto& [id, job] : jobs_) {
    if (job->info.template_name == template_name && !IsFinished(job->info.state)) {
      return absl::AlreadyExistsError(absl::StrCat(refused.message(), " (job ", id, ")"));
    }
  }
  return refused;
}

absl::StatusOr<ImportJobInfo> ImportManager::Start(const ImportRequest& request) {
  if (absl::Status s = ValidateName("template name", request.template_name); !s.ok()) return s;
  absl::StatusOr<ImportSource> source = ResolveImportSource(request.source, options_);
  if (!source.ok()) return Annotate(source.status(), "import template");
  if (request.size_bytes.has_value()) {
    if (*request.size_bytes == 0) {
      return absl::InvalidArgumentError("import template: size_bytes must be greater than 0");
    }
    if (*request.size_bytes > options_.max_image_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "import template: size_bytes ", *request.size_bytes, " exceeds the import limit of ",
          options_.max_image_bytes, " bytes (", FormatSize(options_.max_image_bytes), ")"));
    }
  }
  if (!request.sha256.empty()) {
    if (absl::Status s = ValidateSha256Hex(request.sha256); !s.ok()) {
      return Annotate(s, "import template");
    }
  }

  auto job = std::make_shared<Job>();
  ImportJobInfo& info = job->info;
  info.id = NewUuid();
  info.template_name = request.template_name;
  info.template_id = NewUuid();
  info.source = source->display;
  info.size_bytes = request.size_bytes;
  info.sha256 = absl::AsciiStrToLower(request.sha256);
  info.created_at = Now();
  job->spec = {info.id, info.template_name, info.template_id,
               *source, info.size_bytes,    info.sha256};

  // Reserved before mu_ is taken: the reservation may wait for a template
  // lock, and progress reports of running jobs must not wait behind it.
  if (absl::Status s = volumes_.ReserveTemplateName(info.template_name); !s.ok()) {
    return WithRunningJobId(s, info.template_name);
  }
  MutexLock lock(&mu_);
  auto refuse = [&](absl::Status status) {
    volumes_.ReleaseTemplateName(info.template_name);
    return status;
  };
  if (shutting_down_) return refuse(absl::UnavailableError("mvirt-zfs is shutting down"));
  if (threads_ >= kMaxUnfinishedJobs) {
    return refuse(absl::ResourceExhaustedError(
        absl::StrCat("import template '", info.template_name, "': ", threads_,
                     " imports are running or waiting already; retry when some have finished")));
  }
  if (absl::Status s = store_.Save(info); !s.ok()) {
    return refuse(Annotate(s, "import template"));
  }
  try {
    std::thread([this, job] { RunJob(job); }).detach();
  } catch (const std::system_error& e) {
    if (absl::Status s = store_.Remove(info.id); !s.ok()) LogWarning(s.message());
    return refuse(absl::ResourceExhaustedError(absl::StrCat(
        "import template '", info.template_name, "': cannot start a thread: ", e.what())));
  }
  ++threads_;  // the thread waits for mu_ before it looks at anything
  LogInfo("import job ", info.id, ": template '", info.template_name, "' from ", info.source);
  jobs_[info.id] = job;
  PublishLocked(*job);
  return info;
}

void ImportManager::RunJob(std::shared_ptr<Job> job) {
  bool run;
  {
    MutexLock lock(&mu_);
    while (running_ >= options_.max_concurrent && !job->cancel.cancelled()) changed_.Wait(&mu_);
    // Decided once, under the lock: a cancel arriving later is RunImport's.
    run = !job->cancel.cancelled();
    if (run) ++running_;
  }
  absl::StatusOr<TemplateInfo> result = absl::CancelledError("cancelled");
  if (run) {
    Progress progress(*this, *job);
    result = RunImport(job->spec, options_, volumes_, job->cancel, progress);
    MutexLock lock(&mu_);
    --running_;
  }
  job->spec.source.file.reset();  // closes a local source now, not when the record goes
  Finish(*job, result);
  MutexLock lock(&mu_);
  --threads_;
  changed_.SignalAll();
}

void ImportManager::Finish(Job& job, const absl::StatusOr<TemplateInfo>& result) {
  if (result.ok()) {
    // The completing event carries the template: publish it under the
    // template's lock, so that it cannot follow the template's deletion.
    volumes_.WithTemplateLock(job.info.template_name, [&] {
      // Deleted already (its deletion is published): the event must not
      // bring it back.
      absl::StatusOr<TemplateInfo> now = volumes_.GetTemplate(job.info.template_name);
      FinishAndRecord(job, result, /*template_exists=*/now.ok() && now->id == result->id);
    });
    return;
  }
  FinishAndRecord(job, result, /*template_exists=*/false);
}

void ImportManager::FinishAndRecord(Job& job, const absl::StatusOr<TemplateInfo>& result,
                                    bool template_exists) {
  MutexLock lock(&mu_);
  ImportJobInfo& info = job.info;
  if (result.ok()) {
    info.state = ImportState::kCompleted;
    info.template_info = *result;
    info.bytes_written = info.total_bytes;
    LogInfo("import job ", info.id, ": template '", info.template_name, "' completed");
  } else if (absl::IsCancelled(result.status()) && shutting_down_) {
    info.state = ImportState::kFailed;
    info.error = kInterruptedByStop;
  } else if (absl::IsCancelled(result.status())) {
    info.state = ImportState::kCancelled;
    LogInfo("import job ", info.id, ": cancelled");
  } else {
    info.state = ImportState::kFailed;
    info.error = std::string(result.status().message());
    LogWarning("import job ", info.id, " (template '", info.template_name,
               "') failed: ", *info.error);
  }
  info.completed_at = Now();
  volumes_.ReleaseTemplateName(info.template_name);
  RecordLocked(job, template_exists);
  PruneLocked();
}

void ImportManager::RecordLocked(Job& job, bool with_template) {
  if (absl::Status s = store_.Save(job.info); !s.ok())
    LogError("import job ", job.info.id, ": ", s.message());
  PublishLocked(job, with_template);
}

void ImportManager::PublishLocked(Job& job, bool with_template) {
  job.last_event = absl::Now();
  TemplateEventInfo event;
  event.template_id = job.info.template_id;
  event.timestamp = Now();
  if (with_template) event.template_info = job.info.template_info;
  event.import_job = job.info;
  template_events_.Publish(event);
}

void ImportManager::PruneLocked() {
  std::vector<std::shared_ptr<Job>> finished;
  for (const auto& [id, job] : jobs_) {
    if (IsFinished(job->info.state)) finished.push_back(job);
  }
  if (finished.size() <= options_.max_finished_jobs) return;
  std::sort(finished.begin(), finished.end(), [](const auto& a, const auto& b) {
    return a->info.completed_at.value_or(0) < b->info.completed_at.value_or(0);
  });
  for (size_t i = 0; i + options_.max_finished_jobs < finished.size(); ++i) {
    const std::string id = finished[i]->info.id;
    if (absl::Status s = store_.Remove(id); !s.ok()) LogWarning(s.message());
    jobs_.erase(id);
  }
}

absl::StatusOr<ImportJobInfo> ImportManager::Get(const std::string& id) {
  MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return NoSuchJob(id);
  return it->second->info;
}

std::vector<ImportJobInfo> ImportManager::List(bool include_finished) {
  std::vector<ImportJobInfo> out;
  {
    MutexLock lock(&mu_);
    for (const auto& [id, job] : jobs_) {
      if (include_finished || !IsFinished(job->info.state)) out.push_back(job->info);
    }
  }
  std::sort(out.begin(), out.end(), [](const ImportJobInfo& a, const ImportJobInfo& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  return out;
}

absl::Status ImportManager::Cancel(const std::string& id) {
  std::shared_ptr<Job> job;
  {
    MutexLock lock(&mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return NoSuchJob(id);
    job = it->second;
    if (IsFinished(job->info.state)) {
      return absl::FailedPreconditionError(
          absl::StrCat("import job '", id, "' has already finished (",
                       ImportStateName(job->info.state), "); there is nothing to cancel"));
    }
  }
  LogInfo("import job ", id, ": cancelling");
  job->cancel.Cancel();  // kills qemu-img, aborts the download
  MutexLock lock(&mu_);
  changed_.SignalAll();  // a PENDING job waits for a slot
  const absl::Time deadline = absl::Now() + kCancelWait;
  while (!IsFinished(job->info.state) && absl::Now() < deadline) {
    changed_.WaitWithTimeout(&mu_, deadline - absl::Now());
  }
  if (!IsFinished(job->info.state)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "import job '", id, "' is cancelled but still cleaning up; it will end CANCELLED"));
  }
  if (job->info.state != ImportState::kCancelled) {
    return absl::FailedPreconditionError(absl::StrCat(
        "import job '", id, "' ended ", ImportStateName(job->info.state),
        " before it could be cancelled", job->info.error ? ": " + *job->info.error : ""));
  }
  return absl::OkStatus();
}

void ImportManager::Shutdown() {
  MutexLock lock(&mu_);
  shutting_down_ = true;
  for (auto& [id, job] : jobs_) {
    if (!IsFinished(job->info.state)) job->cancel.Cancel();
  }
  changed_.SignalAll();
  while (threads_ != 0) changed_.Wait(&mu_);
  template_events_.Close();
}

}  // namespace mvirt::zfs
