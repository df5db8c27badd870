// ReplicationJobs: replications and migrations to other mvirt-zfs daemons,
// each a job on a thread of its own that outlives the call that started
// it. Jobs live in memory: after a restart of this daemon a job is gone,
// and starting it again continues where the target stopped (an interrupted
// receive there is resumed, received snapshots are not sent again).
#ifndef MVIRT_ZFS_REPLICATION_REPLICATION_JOBS_H_
#define MVIRT_ZFS_REPLICATION_REPLICATION_JOBS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/broadcaster.h"
#include "common/cancel_token.h"
#include "common/mutex.h"
#include "import/template_event.h"
#include "replication/peer_channel.h"
#include "replication/replication_job_info.h"
#include "replication/replicator.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {

struct ReplicateParams {
  std::string volume;
  std::string target;
  std::string upto;  // "": the newest snapshot
  uint64_t bandwidth_limit = 0;
};

struct ReplicateTemplateParams {
  std::string template_name;
  std::string target;
  uint64_t bandwidth_limit = 0;
};

struct MigrateParams {
  std::string volume;
  std::string target;
  bool final_step = false;
  uint64_t bandwidth_limit = 0;
  uint64_t small_delta_bytes = 64ull << 20;
  uint32_t max_rounds = 5;
};

class ReplicationJobs {
 public:
  // `volumes` and `template_events` must outlive this object. A job's
  // start, steps, snapshots sent, end and (about once a second) its bytes
  // are published on the volume's events (volumes.volume_events()) or, for
  // a template, on `template_events`, with the object's current state.
  ReplicationJobs(VolumeManager& volumes, Broadcaster<TemplateEventInfo>& template_events,
                  PeerOptions peer_options);
  // Cancels the running jobs and waits for them.
  ~ReplicationJobs();

  // Starts replicating params.volume to params.target. Checked before the
  // job starts: the volume exists (NOT_FOUND), the target is well-formed
  // and this daemon's TLS settings allow it (INVALID_ARGUMENT,
  // FAILED_PRECONDITION); whether it answers shows in the job. The same
  // replication still running is returned as it is; any other running job
  // of the volume (to another target, a migration) is refused with
  // ALREADY_EXISTS.
  absl::StatusOr<ReplicationJobInfo> StartReplication(const ReplicateParams& params);

  // Starts sending template params.template_name to params.target,
  // checked as StartReplication (NOT_FOUND for an unknown template).
  absl::StatusOr<ReplicationJobInfo> StartTemplateReplication(
      const ReplicateTemplateParams& params);

  // Starts a migration round (see MigrateVolume in the proto), checked as
  // StartReplication except that any running job of the volume is refused
  // (ALREADY_EXISTS); the final step is refused with FAILED_PRECONDITION,
  // naming who, while the source device is open, and the job fails if it
  // is open again after the last increment.
  absl::StatusOr<ReplicationJobInfo> StartMigration(const MigrateParams& params);

  // NOT_FOUND for an unknown id.
  absl::StatusOr<ReplicationJobInfo> Get(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);
  // Every job of this daemon's life, oldest first.
  std::vector<ReplicationJobInfo> List() ABSL_LOCKS_EXCLUDED(mu_);
  // The running jobs of volumes (of templates if `template_jobs`), by the
  // volume's (template's) name.
  std::map<std::string, ReplicationJobInfo> RunningByName(bool template_jobs)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Cancels a running job and waits until it has stopped; a job that has
  // ended is returned as it is.
  absl::StatusOr<ReplicationJobInfo> Cancel(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Job {
    ReplicationJobInfo info;
    CancelToken cancel;
    std::thread thread;
    absl::Time last_published;  // of a progress event (guarded by mu_)
  };
  // Publishes `info` with the current state of its volume or template
  // (nothing if that is gone). Call without mu_ held.
  void PublishJob(const ReplicationJobInfo& info) ABSL_LOCKS_EXCLUDED(mu_);
  // Updates job.info with `change` and publishes it; a `progress` change at
  // most once a second.
  void UpdateJob(Job& job, const std::function<void(ReplicationJobInfo&)>& change,
                 bool progress = false) ABSL_LOCKS_EXCLUDED(mu_);
  // The checks both starts share; the running job of the volume, if any.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Prepare(const std::string& op,
                                                         const std::string& volume,
                                                         const std::string& target);
  // The channel to `target`, or why not (`op` and `object` first).
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const std::string& op,
                                                         const std::string& object,
                                                         const std::string& target);
  // What to answer when a job of the volume runs already.
  using OnRunning = std::function<absl::StatusOr<ReplicationJobInfo>(const Job& running)>;
  // Registers a new job and runs `body` on its thread (the job ends with
  // the status `body` returns), unless a job of `volume` (of the template
  // if `template_job`) runs: then what `on_running` says. Checked and
  // started under one lock.
  absl::StatusOr<ReplicationJobInfo> Launch(const std::string& kind, const std::string& volume,
                                            const std::string& target, bool template_job,
                                            const OnRunning& on_running,
                                            std::function<absl::Status(Job&)> body)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Joins the threads of jobs that have ended.
  void ReapFinishedJobs() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The running job of volume `volume` (of template `volume` if
  // `template_job`), if any.
  Job* RunningJobOf(const std::string& volume, bool template_job = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // An observer that records a job's progress in its info.
  ReplicationObserver ObserverFor(Job& job);
  // One migration round or the final step.
  absl::Status RunMigration(Job& job, const MigrateParams& params,
                            std::shared_ptr<grpc::Channel> channel);

  VolumeManager& volumes_;
  Broadcaster<TemplateEventInfo>& template_events_;
  const PeerOptions peer_options_;
  Mutex mu_;
  std::map<std::string, std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_REPLICATION_REPLICATION_JOBS_H_
