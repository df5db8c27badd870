// ImportManager: the image import jobs of the daemon (ImportTemplate,
// GetImportJob, ListImportJobs, CancelImportJob). Each job runs RunImport on
// its own thread, at most ImportOptions::max_concurrent at once (the others
// wait as PENDING). Every change of a job is published as a TemplateEvent
// (progress at most 4 times a second). Job records are kept in a JobStore,
// so they survive restarts; a job that a crash or restart interrupted reads
// FAILED ("interrupted ...") afterwards. Thread-safe.
#ifndef MVIRT_ZFS_IMPORT_IMPORT_MANAGER_H_
#define MVIRT_ZFS_IMPORT_IMPORT_MANAGER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "import/import_options.h"
#include "import/job_store.h"
#include "import/template_event.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {

struct ImportRequest {
  std::string template_name;
  std::string source;                  // an https:// URL or an absolute path
  std::optional<uint64_t> size_bytes;  // the template's size, if larger than the image
  std::string sha256;                  // the source's expected SHA-256 (hex); empty: none
};

class ImportManager {
 public:
  ImportManager(VolumeManager& volumes, ImportOptions options);
  ~ImportManager();  // Shutdown()
  ImportManager(const ImportManager&) = delete;
  ImportManager& operator=(const ImportManager&) = delete;

  // Call once at start-up, after VolumeManager::CollectGarbage(true) has
  // removed the partial datasets of interrupted imports: prepares the state
  // directory, removes leftover downloads, loads the job records and settles
  // the jobs that were running when the daemon stopped: COMPLETED if their
  // template was completed, else FAILED with "interrupted ...".
  absl::Status Recover();

  // Validates `request` and starts a job (returned PENDING). Errors, with
  // nothing started: INVALID_ARGUMENT for a bad name, source, size or sha256;
  // PERMISSION_DENIED / NOT_FOUND for a local path outside the import
  // directories / missing inside them, or plain http when not allowed
  // (see ResolveImportSource); ALREADY_EXISTS if a template or a running
  // import has the name; RESOURCE_EXHAUSTED when 64 imports are running or
  // waiting already; UNAVAILABLE while shutting down.
  absl::StatusOr<ImportJobInfo> Start(const ImportRequest& request);

  // NOT_FOUND for an unknown id.
  absl::StatusOr<ImportJobInfo> Get(const std::string& id);

  // Jobs ordered by creation (oldest first); only those still running
  // unless `include_finished`.
  std::vector<ImportJobInfo> List(bool include_finished);

  // Cancels a running job and returns once it has stopped and removed what
  // it created (state CANCELLED). NOT_FOUND for an unknown id;
  // FAILED_PRECONDITION, naming the state, for a job that already finished
  // (also if it completed or failed before the cancellation took effect).
  absl::Status Cancel(const std::string& id);

  // Stops every running job (each ends FAILED, "interrupted: mvirt-zfs was
  // stopped", after removing its partial data), waits for them, refuses new
  // ones and ends the template event subscriptions. Idempotent.
  void Shutdown();

  // Every change of a template (reported by VolumeManager) and of an import
  // job, published in the order they happened (see Broadcaster).
  Broadcaster<TemplateEventInfo>& template_events() { return template_events_; }

 private:
  struct Job;
  class Progress;

  // The job thread: waits for a slot, runs the import, records the result.
  void RunJob(std::shared_ptr<Job> job);
  void Finish(Job& job, const absl::StatusOr<TemplateInfo>& result);
  // `refused` (a refused name reservation) naming the unfinished job that
  // imports `template_name`, if there is one, so the caller can follow it.
  absl::Status WithRunningJobId(const absl::Status& refused, const std::string& template_name);
  // Sets the final state, records and publishes it (Finish decides under
  // which lock).
  void FinishAndRecord(Job& job, const absl::StatusOr<TemplateInfo>& result, bool template_exists);
  // Saves the job's record and publishes it (its template too, if asked).
  void RecordLocked(Job& job, bool with_template = true) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishLocked(Job& job, bool with_template = true) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets the oldest finished jobs beyond options_.max_finished_jobs.
  void PruneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  VolumeManager& volumes_;
  const ImportOptions options_;
  JobStore store_;
  Broadcaster<TemplateEventInfo> template_events_;

  Mutex mu_;
  CondVar changed_;  // a job finished, a slot freed, shutdown
  std::map<std::string, std::shared_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;  // jobs past PENDING
  int threads_ ABSL_GUARDED_BY(mu_) = 0;  // job threads alive
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_IMPORT_MANAGER_H_
