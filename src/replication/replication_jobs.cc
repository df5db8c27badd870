#include "replication/replication_jobs.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/call_context.h"
#include "common/log.h"
#include "common/names.h"

namespace mvirt::zfs {
namespace {

int64_t NowSeconds() { return absl::ToUnixSeconds(absl::Now()); }

// A snapshot name for a migration's step that `existing` does not have yet.
std::string MigrationSnapshotName(const std::string& prefix,
                                  const std::vector<SnapshotInfo>& existing) {
  const std::string base = absl::StrCat(prefix, NowSeconds());
  std::string name = base;
  for (int k = 2;; ++k) {
    bool taken = false;
    for (const SnapshotInfo& s : existing) taken = taken || s.name == name;
    if (!taken) return name;
    name = absl::StrCat(base, "-", k);
  }
}

absl::Status UnknownJob(const std::string& id) {
  return absl::NotFoundError(absl::StrCat(
      "replication job '", id, "' is not known (jobs are kept until the daemon restarts)"));
}

}  // namespace

ReplicationJobs::ReplicationJobs(VolumeManager& volumes,
                                 Broadcaster<TemplateEventInfo>& template_events,
                                 PeerOptions peer_options)
    : volumes_(volumes),
      template_events_(template_events),
      peer_options_(std::move(peer_options)) {}

void ReplicationJobs::PublishJob(const ReplicationJobInfo& info) {
  if (info.kind == kReplicateTemplateKind) {
    absl::StatusOr<TemplateInfo> current = volumes_.GetTemplate(info.volume_name);
    if (!current.ok()) return;
    TemplateEventInfo event;
    event.template_id = current->id;
    event.timestamp = NowSeconds();
    event.template_info = std::move(*current);
    event.replication_job = info;
    template_events_.Publish(event);
    return;
  }
  absl::StatusOr<VolumeInfo> current = volumes_.Get(info.volume_name);
  if (!current.ok()) return;
  VolumeEventInfo event;
  event.volume_id = current->id;
  event.timestamp = NowSeconds();
  event.volume = std::move(*current);
  event.replication_job = info;
  volumes_.volume_events().Publish(event);
}

void ReplicationJobs::UpdateJob(Job& job, const std::function<void(ReplicationJobInfo&)>& change,
                                bool progress) {
  ReplicationJobInfo now;
  {
    MutexLock lock(&mu_);
    change(job.info);
    if (progress && absl::Now() - job.last_published < absl::Seconds(1)) return;
    job.last_published = absl::Now();
    now = job.info;
  }
  PublishJob(now);
}

ReplicationJobs::~ReplicationJobs() {
  std::vector<Job*> all;
  {
    MutexLock lock(&mu_);
    for (auto& [id, job] : jobs_) all.push_back(job.get());
  }
  for (Job* job : all) job->cancel.Cancel();
  for (Job* job : all) {
    if (job->thread.joinable()) job->thread.join();
  }
}

ReplicationJobs::Job* ReplicationJobs::RunningJobOf(const std::string& volume, bool template_job) {
  for (auto& [id, job] : jobs_) {
    if (job->info.volume_name == volume &&
        (job->info.kind == kReplicateTemplateKind) == template_job &&
        job->info.state == ReplicationState::kRunning) {
      return job.get();
    }
  }
  return nullptr;
}

void ReplicationJobs::ReapFinishedJobs() {
  // A thread whose job has ended has only its last event left to publish
  // (a read of one volume; the state is set in its last critical section),
  // so these joins are short.
  for (auto& [id, job] : jobs_) {
    if (job->info.state != ReplicationState::kRunning && job->thread.joinable()) {
      job->thread.join();
    }
  }
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> ReplicationJobs::Prepare(const std::string& op,
                                                                        const std::string& volume,
                                                                        const std::string& target) {
  absl::StatusOr<VolumeInfo> source = volumes_.Get(volume);
  if (!source.ok()) return source.status();
  return Connect(op, volume, target);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> ReplicationJobs::Connect(const std::string& op,
                                                                        const std::string& object,
                                                                        const std::string& target) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = ConnectPeer(target, peer_options_);
  if (!channel.ok()) {
    return absl::Status(channel.status().code(),
                        absl::StrCat(op, " '", object, "': ", channel.status().message()));
  }
  return channel;
}

absl::StatusOr<ReplicationJobInfo> ReplicationJobs::StartTemplateReplication(
    const ReplicateTemplateParams& params) {
  const std::string op = "replicate template";
  if (absl::StatusOr<TemplateInfo> t = volumes_.GetTemplate(params.template_name); !t.ok()) {
    return t.status();
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      Connect(op, params.template_name, params.target);
  if (!channel.ok()) return channel.status();
  auto on_running = [&](const Job& running) -> absl::StatusOr<ReplicationJobInfo> {
    if (running.info.target == params.target) return running.info;
    return absl::AlreadyExistsError(absl::StrCat(op, " '", params.template_name, "': job ",
                                                 running.info.id, " sends it to ",
                                                 running.info.target, " now"));
  };
  return Launch(kReplicateTemplateKind, params.template_name, params.target, /*template_job=*/true,
                on_running, [this, params, channel = *channel](Job& job) {
                  Replicator replicator(volumes_, channel);
                  return replicator.ReplicateTemplate(params.template_name, params.bandwidth_limit,
                                                      job.cancel, ObserverFor(job));
                });
}

ReplicationObserver ReplicationJobs::ObserverFor(Job& job) {
  ReplicationObserver observer;
  observer.more_to_send = [this, &job](int64_t n) {
    UpdateJob(
        job,
        [n](ReplicationJobInfo& info) {
          // Never below what was sent: ZFS's estimates are estimates.
          const int64_t total = static_cast<int64_t>(info.total_bytes) + n;
          info.total_bytes = std::max<uint64_t>(static_cast<uint64_t>(std::max<int64_t>(total, 0)),
                                                info.bytes_sent);
        },
        /*progress=*/true);
  };
  observer.sent = [this, &job](uint64_t n) {
    UpdateJob(
        job, [n](ReplicationJobInfo& info) { info.bytes_sent += n; }, /*progress=*/true);
  };
  observer.step = [this, &job](const std::string& step) {
    UpdateJob(job, [&step](ReplicationJobInfo& info) { info.step = step; });
  };
  observer.snapshot_sent = [this, &job](const std::string& snapshot) {
    UpdateJob(job,
              [&snapshot](ReplicationJobInfo& info) { info.snapshots_sent.push_back(snapshot); });
  };
  return observer;
}

absl::StatusOr<ReplicationJobInfo> ReplicationJobs::Launch(
    const std::string& kind, const std::string& volume, const std::string& target,
    bool template_job, const OnRunning& on_running, std::function<absl::Status(Job&)> body) {
  MutexLock lock(&mu_);
  // The check and the start under one lock: of two calls at once, one
  // starts the job.
  if (Job* running = RunningJobOf(volume, template_job)) return on_running(*running);
  ReapFinishedJobs();
  auto owned = std::make_unique<Job>();
  Job& job = *owned;
  job.info.id = NewUuid();
  job.info.kind = kind;
  job.info.volume_name = volume;
  job.info.target = target;
  job.info.created_at = NowSeconds();
  order_.push_back(job.info.id);
  jobs_[job.info.id] = std::move(owned);
  LogInfo(kind, " job ", job.info.id, ": volume ", volume, " to ", target, " started");
  job.thread = std::thread([this, &job, body = std::move(body)] {
    UpdateJob(job, [](ReplicationJobInfo&) {});  // started
    absl::Status result;
    {
      // Waits inside the job (a volume's lock) end once it is cancelled.
      CallContext context;
      context.cancelled = [&job] { return job.cancel.cancelled(); };
      ScopedCallContext scope(std::move(context));
      result = body(job);
    }
    ReplicationJobInfo ended;
    {
      MutexLock lock(&mu_);
      job.info.completed_at = NowSeconds();
      if (result.ok()) {
        job.info.state = ReplicationState::kCompleted;
        job.info.step = "done";
      } else {
        job.info.state = job.cancel.cancelled() && absl::IsCancelled(result)
                             ? ReplicationState::kCancelled
                             : ReplicationState::kFailed;
        job.info.error = std::string(result.message());
      }
      ended = job.info;
    }
    LogInfo(ended.kind, " job ", ended.id, ": volume ", ended.volume_name, " to ", ended.target,
            result.ok() ? " completed" : absl::StrCat(": ", result.message()));
    // After the state is set (a joining thread waits for this call only).
    PublishJob(ended);
  });
  return job.info;
}

absl::StatusOr<ReplicationJobInfo> ReplicationJobs::StartReplication(
    const ReplicateParams& params) {
  const std::string op = "replicate volume";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      Prepare(op, params.volume, params.target);
  if (!channel.ok()) return channel.status();
  auto on_running = [&](const Job& running) -> absl::StatusOr<ReplicationJobInfo> {
    if (running.info.kind == "replicate" && running.info.target == params.target) {
      return running.info;  // the same replication, as it is
    }
    return absl::AlreadyExistsError(
        absl::StrCat(op, " '", params.volume, "': job ", running.info.id, " (", running.info.kind,
                     " to ", running.info.target, ") is running; wait for it or cancel it"));
  };
  return Launch("replicate", params.volume, params.target, /*template_job=*/false, on_running,
                [this, params, channel = *channel](Job& job) {
                  Replicator replicator(volumes_, channel);
                  return replicator.Replicate(params.volume, params.upto, params.bandwidth_limit,
                                              job.cancel, ObserverFor(job));
                });
}

absl::StatusOr<ReplicationJobInfo> ReplicationJobs::StartMigration(const MigrateParams& params) {
  const std::string op = params.final_step ? "finish the migration of volume" : "migrate volume";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      Prepare(op, params.volume, params.target);
  if (!channel.ok()) return channel.status();
  if (params.final_step) {
    // The VM must be stopped: what it writes after the last snapshot
    // would not reach the target.
    if (absl::Status s = volumes_.RequireDeviceClosed(op, params.volume); !s.ok()) return s;
  }
  auto on_running = [&](const Job& running) -> absl::StatusOr<ReplicationJobInfo> {
    return absl::AlreadyExistsError(
        absl::StrCat(op, " '", params.volume, "': job ", running.info.id, " (", running.info.kind,
                     " to ", running.info.target, ") is running; wait for it or cancel it"));
  };
  return Launch(
      "migrate", params.volume, params.target, /*template_job=*/false, on_running,
      [this, params, channel = *channel](Job& job) { return RunMigration(job, params, channel); });
}

absl::Status ReplicationJobs::RunMigration(Job& job, const MigrateParams& params,
                                           std::shared_ptr<grpc::Channel> channel) {
  Replicator replicator(volumes_, std::move(channel), /*last_streams=*/params.final_step);
  const ReplicationObserver observer = ObserverFor(job);
  const uint32_t rounds = params.final_step ? 1 : std::max<uint32_t>(params.max_rounds, 1);
  for (uint32_t round = 1; round <= rounds; ++round) {
    if (job.cancel.cancelled()) return absl::CancelledError("migration cancelled");
    if (params.final_step) {
      // Checked again: the VM may have been started since the call.
      if (absl::Status s =
              volumes_.RequireDeviceClosed("finish the migration of volume", params.volume);
          !s.ok()) {
        return s;
      }
    }
    absl::StatusOr<std::vector<SnapshotInfo>> existing = volumes_.ListSnapshots(params.volume);
    if (!existing.ok()) return existing.status();
    const std::string snapshot =
        MigrationSnapshotName(params.final_step ? "migrate-final-" : "migrate-", *existing);
    if (absl::StatusOr<SnapshotInfo> taken = volumes_.CreateSnapshot(params.volume, snapshot);
        !taken.ok()) {
      return taken.status();
    }
    uint64_t sent = 0;
    if (absl::Status s = replicator.Replicate(params.volume, snapshot, params.bandwidth_limit,
                                              job.cancel, observer, &sent);
        !s.ok()) {
      return s;
    }
    if (!params.final_step && sent <= params.small_delta_bytes) break;
  }
  if (params.final_step) {
    // Opened again meanwhile (a VM started during the last increment):
    // what it wrote may be missing on the target, so not ready.
    if (absl::Status s =
            volumes_.RequireDeviceClosed("finish the migration of volume", params.volume);
        !s.ok()) {
      return s;
    }
    MutexLock lock(&mu_);
    job.info.ready = true;  // published with the job's end
  }
  return absl::OkStatus();
}

absl::StatusOr<ReplicationJobInfo> ReplicationJobs::Get(const std::string& id) {
  MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return UnknownJob(id);
  return it->second->info;
}

std::vector<ReplicationJobInfo> ReplicationJobs::List() {
  MutexLock lock(&mu_);
  std::vector<ReplicationJobInfo> out;
  for (const std::string& id : order_) out.push_back(jobs_.at(id)->info);
  return out;
}

std::map<std::string, ReplicationJobInfo> ReplicationJobs::RunningByName(bool template_jobs) {
  MutexLock lock(&mu_);
  std::map<std::string, ReplicationJobInfo> out;
  for (const auto& [id, job] : jobs_) {
    if (job->info.state == ReplicationState::kRunning &&
        (job->info.kind == kReplicateTemplateKind) == template_jobs) {
      out[job->info.volume_name] = job->info;
    }
  }
  return out;
}

absl::StatusOr<ReplicationJobInfo> ReplicationJobs::Cancel(const std::string& id) {
  Job* job = nullptr;
  {
    MutexLock lock(&mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return UnknownJob(id);
    job = it->second.get();
  }
  job->cancel.Cancel();
  // Waits for the job's thread to record its end (it always does: every
  // wait in a job ends with its cancellation).
  while (true) {
    {
      MutexLock lock(&mu_);
      if (job->info.state != ReplicationState::kRunning) return job->info;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

}  // namespace mvirt::zfs
