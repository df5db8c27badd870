#include "service/zfs_service.h"

#include <chrono>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "device/zvol_device.h"
#include "pool/pool_standards.h"
#include "service/call_guard.h"
#include "service/convert.h"

namespace mvirt::zfs {
namespace {

// Runs `result`, and on success converts its value into `out`.
template <typename T, typename Proto>
grpc::Status Reply(const absl::StatusOr<T>& result, Proto* out) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  ToProto(*result, out);
  return grpc::Status::OK;
}

// Reply, and on success names the reply's object (its id) in the call's
// audit event.
template <typename T, typename Proto>
grpc::Status ReplyNamingObject(CallGuard& guard, const absl::StatusOr<T>& result, Proto* out) {
  grpc::Status status = Reply(result, out);
  if (status.ok()) guard.NoteObjectId(out->id());
  return status;
}

// Sets `deleted` in the reply of a successful Delete* call.
template <typename Response>
grpc::Status ReplyDeleted(const absl::Status& status, Response* out) {
  if (!status.ok()) return ToGrpcStatus(status);
  out->set_deleted(true);
  return grpc::Status::OK;
}

// Converts every element of `result` into a new entry of `out`.
template <typename T, typename RepeatedProto>
grpc::Status ReplyAll(const absl::StatusOr<std::vector<T>>& result, RepeatedProto* out) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  for (const T& item : *result) ToProto(item, out->Add());
  return grpc::Status::OK;
}

int64_t NowSeconds() { return absl::ToUnixSeconds(absl::Now()); }

}  // namespace

grpc::Status ZfsServiceImpl::GetVersion(grpc::ServerContext* ctx, const GetVersionRequest*,
                                        VersionInfo* out) {
  CallGuard guard(ctx, authorizer_, audit_, "GetVersion");
  if (!guard.allowed()) return guard.status();
  out->set_version(MVIRT_ZFS_VERSION);
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::GetPoolStats(grpc::ServerContext* ctx, const GetPoolStatsRequest*,
                                          PoolStats* out) {
  CallGuard guard(ctx, authorizer_, audit_, "GetPoolStats");
  if (!guard.allowed()) return guard.status();
  return Reply(volumes_.GetPoolStats(), out);
}

grpc::Status ZfsServiceImpl::CheckPool(grpc::ServerContext* ctx, const CheckPoolRequest*,
                                       PoolCheck* out) {
  CallGuard guard(ctx, authorizer_, audit_, "CheckPool");
  if (!guard.allowed()) return guard.status();
  absl::StatusOr<PoolProps> pool = volumes_.ReadPool();
  if (!pool.ok()) return ToGrpcStatus(pool.status());
  out->set_pool(pool->name);
  out->set_health(pool->health);
  for (const StandardsFinding& finding : CheckPoolStandards(*pool)) {
    ToProto(finding, out->add_findings());
  }
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::CreateVolume(grpc::ServerContext* ctx, const CreateVolumeRequest* req,
                                          Volume* out) {
  CallGuard guard(ctx, authorizer_, audit_, "CreateVolume",
                  absl::StrCat("volume '", req->name(), "'"));
  if (!guard.allowed()) return guard.status();
  CreateVolumeParams params;
  params.name = req->name();
  params.size_bytes = req->size_bytes();
  if (req->has_volblocksize()) params.volblocksize = req->volblocksize();
  params.id = req->id();
  params.thick = req->thick();
  return ReplyNamingObject(guard, volumes_.Create(params), out);
}

grpc::Status ZfsServiceImpl::ListVolumes(grpc::ServerContext* ctx, const ListVolumesRequest*,
                                         ListVolumesResponse* out) {
  CallGuard guard(ctx, authorizer_, audit_, "ListVolumes");
  if (!guard.allowed()) return guard.status();
  return ReplyAll(volumes_.List(), out->mutable_volumes());
}

grpc::Status ZfsServiceImpl::GetVolume(grpc::ServerContext* ctx, const GetVolumeRequest* req,
                                       Volume* out) {
  CallGuard guard(ctx, authorizer_, audit_, "GetVolume");
  if (!guard.allowed()) return guard.status();
  return Reply(volumes_.Get(req->name()), out);
}

grpc::Status ZfsServiceImpl::DeleteVolume(grpc::ServerContext* ctx, const DeleteVolumeRequest* req,
                                          DeleteVolumeResponse* out) {
  CallGuard guard(ctx, authorizer_, audit_, "DeleteVolume",
                  absl::StrCat("volume '", req->name(), "'"));
  if (!guard.allowed()) return guard.status();
  return ReplyDeleted(volumes_.Delete(req->name(), req->release_holds()), out);
}

grpc::Status ZfsServiceImpl::ResizeVolume(grpc::ServerContext* ctx, const ResizeVolumeRequest* req,
                                          Volume* out) {
  CallGuard guard(ctx, authorizer_, audit_, "ResizeVolume",
                  absl::StrCat("volume '", req->name(), "' to ", req->new_size_bytes(), " bytes"));
  if (!guard.allowed()) return guard.status();
  return ReplyNamingObject(guard, volumes_.Resize(req->name(), req->new_size_bytes()), out);
}

grpc::Status ZfsServiceImpl::CreateSnapshot(grpc::ServerContext* ctx,
                                            const CreateSnapshotRequest* req, Snapshot* out) {
  CallGuard guard(ctx, authorizer_, audit_, "CreateSnapshot",
                  absl::StrCat("snapshot '", req->volume_name(), "@", req->snapshot_name(), "'"));
  if (!guard.allowed()) return guard.status();
  return ReplyNamingObject(guard, volumes_.CreateSnapshot(req->volume_name(), req->snapshot_name()),
                           out);
}

grpc::Status ZfsServiceImpl::CreateSnapshots(grpc::ServerContext* ctx,
                                             const CreateSnapshotsRequest* req,
                                             CreateSnapshotsResponse* out) {
  CallGuard guard(ctx, authorizer_, audit_, "CreateSnapshots",
                  absl::StrCat("snapshot '", req->snapshot_name(), "' of ",
                               req->volume_names_size(), " volumes"));
  if (!guard.allowed()) return guard.status();
  std::vector<std::string> volumes(req->volume_names().begin(), req->volume_names().end());
  grpc::Status status =
      ReplyAll(volumes_.CreateSnapshots(volumes, req->snapshot_name()), out->mutable_snapshots());
  for (const Snapshot& snapshot : out->snapshots()) guard.NoteObjectId(snapshot.id());
  return status;
}

grpc::Status ZfsServiceImpl::ListSnapshots(grpc::ServerContext* ctx,
                                           const ListSnapshotsRequest* req,
                                           ListSnapshotsResponse* out) {
  CallGuard guard(ctx, authorizer_, audit_, "ListSnapshots");
  if (!guard.allowed()) return guard.status();
  return ReplyAll(volumes_.ListSnapshots(req->volume_name()), out->mutable_snapshots());
}

grpc::Status ZfsServiceImpl::DeleteSnapshot(grpc::ServerContext* ctx,
                                            const DeleteSnapshotRequest* req,
                                            DeleteSnapshotResponse* out) {
  CallGuard guard(ctx, authorizer_, audit_, "DeleteSnapshot",
                  absl::StrCat("snapshot '", req->volume_name(), "@", req->snapshot_name(), "'"));
  if (!guard.allowed()) return guard.status();
  return ReplyDeleted(volumes_.DeleteSnapshot(req->volume_name(), req->snapshot_name()), out);
}

grpc::Status ZfsServiceImpl::RollbackSnapshot(grpc::ServerContext* ctx,
                                              const RollbackSnapshotRequest* req, Volume* out) {
  CallGuard guard(
      ctx, authorizer_, audit_, "RollbackSnapshot",
      absl::StrCat("volume '", req->volume_name(), "' to '", req->snapshot_name(), "'"));
  if (!guard.allowed()) return guard.status();
  return ReplyNamingObject(guard, volumes_.Rollback(req->volume_name(), req->snapshot_name()), out);
}

grpc::Status ZfsServiceImpl::CloneVolume(grpc::ServerContext* ctx, const CloneVolumeRequest* req,
                                         Volume* out) {
  CallGuard guard(ctx, authorizer_, audit_, "CloneVolume",
                  absl::StrCat("'", req->source_volume(), "@", req->snapshot_name(), "' as '",
                               req->new_volume_name(), "'"));
  if (!guard.allowed()) return guard.status();
  CloneVolumeParams params;
  params.name = req->new_volume_name();
  if (req->has_size_bytes()) params.size_bytes = req->size_bytes();
  params.id = req->id();
  params.thick = req->thick();
  return ReplyNamingObject(
      guard, volumes_.CloneVolume(req->source_volume(), req->snapshot_name(), params), out);
}

grpc::Status ZfsServiceImpl::RenameVolume(grpc::ServerContext* ctx, const RenameVolumeRequest* req,
                                          Volume* out) {
  CallGuard guard(ctx, authorizer_, audit_, "RenameVolume",
                  absl::StrCat("volume '", req->name(), "' to '", req->new_name(), "'"));
  if (!guard.allowed()) return guard.status();
  return ReplyNamingObject(guard, volumes_.RenameVolume(req->name(), req->new_name(), req->id()),
                           out);
}

grpc::Status ZfsServiceImpl::AdoptVolume(grpc::ServerContext* ctx, const AdoptVolumeRequest* req,
                                         Volume* out) {
  CallGuard guard(ctx, authorizer_, audit_, "AdoptVolume",
                  absl::StrCat("zvol '", req->dataset(), "'",
                               req->new_name().empty() ? "" : " as '" + req->new_name() + "'"));
  if (!guard.allowed()) return guard.status();
  AdoptVolumeParams params;
  params.dataset = req->dataset();
  params.new_name = req->new_name();
  params.id = req->id();
  params.allow_unmanaged_origin = req->allow_unmanaged_origin();
  params.allow_open = req->allow_open();
  return ReplyNamingObject(guard, volumes_.AdoptVolume(params), out);
}

namespace {

// The volume layer's policy as the reply of its volume's policy calls.
void PolicyReply(const std::string& volume, const SnapshotPolicyInfo& in, SnapshotPolicy* out) {
  out->set_volume_name(volume);
  out->set_hourly_keep(in.Keep(SnapshotClass::kHourly));
  out->set_daily_keep(in.Keep(SnapshotClass::kDaily));
  out->set_weekly_keep(in.Keep(SnapshotClass::kWeekly));
  out->set_group(in.group);
}

}  // namespace

grpc::Status ZfsServiceImpl::SetSnapshotPolicy(grpc::ServerContext* ctx,
                                               const SetSnapshotPolicyRequest* req,
                                               SnapshotPolicy* out) {
  const SnapshotPolicy& wanted = req->policy();
  SnapshotPolicyInfo policy;
  policy.keep = {wanted.hourly_keep(), wanted.daily_keep(), wanted.weekly_keep()};
  policy.group = wanted.group();
  CallGuard guard(ctx, authorizer_, audit_, "SetSnapshotPolicy",
                  absl::StrCat("volume '", wanted.volume_name(), "' to '",
                               policy.empty() ? "none" : FormatSnapshotPolicy(policy), "'"));
  if (!guard.allowed()) return guard.status();
  absl::StatusOr<SnapshotPolicyInfo> set = volumes_.SetSnapshotPolicy(wanted.volume_name(), policy);
  if (!set.ok()) return ToGrpcStatus(set.status());
  PolicyReply(wanted.volume_name(), *set, out);
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::GetSnapshotPolicy(grpc::ServerContext* ctx,
                                               const GetSnapshotPolicyRequest* req,
                                               SnapshotPolicy* out) {
  CallGuard guard(ctx, authorizer_, audit_, "GetSnapshotPolicy");
  if (!guard.allowed()) return guard.status();
  absl::StatusOr<SnapshotPolicyInfo> policy = volumes_.GetSnapshotPolicy(req->volume_name());
  if (!policy.ok()) return ToGrpcStatus(policy.status());
  PolicyReply(req->volume_name(), *policy, out);
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::ReleaseVolume(grpc::ServerContext* ctx,
                                           const ReleaseVolumeRequest* req,
                                           ReleaseVolumeResponse* out) {
  CallGuard guard(ctx, authorizer_, audit_, "ReleaseVolume",
                  absl::StrCat("volume '", req->name(), "'"));
  if (!guard.allowed()) return guard.status();
  absl::StatusOr<std::string> dataset = volumes_.ReleaseVolume(req->name(), req->id());
  if (!dataset.ok()) return ToGrpcStatus(dataset.status());
  out->set_dataset(*dataset);
  out->set_path(ZvolDevicePath(*dataset));
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::RenameSnapshot(grpc::ServerContext* ctx,
                                            const RenameSnapshotRequest* req, Snapshot* out) {
  CallGuard guard(ctx, authorizer_, audit_, "RenameSnapshot",
                  absl::StrCat("snapshot '", req->volume_name(), "@", req->snapshot_name(),
                               "' to '", req->new_name(), "'"));
  if (!guard.allowed()) return guard.status();
  return ReplyNamingObject(
      guard,
      volumes_.RenameSnapshot(req->volume_name(), req->snapshot_name(), req->new_name(), req->id()),
      out);
}

grpc::Status ZfsServiceImpl::ListTemplates(grpc::ServerContext* ctx, const ListTemplatesRequest*,
                                           ListTemplatesResponse* out) {
  CallGuard guard(ctx, authorizer_, audit_, "ListTemplates");
  if (!guard.allowed()) return guard.status();
  return ReplyAll(volumes_.ListTemplates(), out->mutable_templates());
}

grpc::Status ZfsServiceImpl::DeleteTemplate(grpc::ServerContext* ctx,
                                            const DeleteTemplateRequest* req,
                                            DeleteTemplateResponse* out) {
  CallGuard guard(ctx, authorizer_, audit_, "DeleteTemplate",
                  absl::StrCat("template '", req->name(), "'"));
  if (!guard.allowed()) return guard.status();
  return ReplyDeleted(volumes_.DeleteTemplate(req->name()), out);
}

grpc::Status ZfsServiceImpl::CloneFromTemplate(grpc::ServerContext* ctx,
                                               const CloneFromTemplateRequest* req, Volume* out) {
  CallGuard guard(
      ctx, authorizer_, audit_, "CloneFromTemplate",
      absl::StrCat("template '", req->template_name(), "' as '", req->new_volume_name(), "'"));
  if (!guard.allowed()) return guard.status();
  CloneVolumeParams params;
  params.name = req->new_volume_name();
  if (req->has_size_bytes()) params.size_bytes = req->size_bytes();
  params.id = req->id();
  params.thick = req->thick();
  return ReplyNamingObject(guard, volumes_.CloneFromTemplate(req->template_name(), params), out);
}

grpc::Status ZfsServiceImpl::PromoteSnapshotToTemplate(grpc::ServerContext* ctx,
                                                       const PromoteSnapshotRequest* req,
                                                       Template* out) {
  CallGuard guard(ctx, authorizer_, audit_, "PromoteSnapshotToTemplate",
                  absl::StrCat("'", req->volume_name(), "@", req->snapshot_name(),
                               "' to template '", req->template_name(), "'"));
  if (!guard.allowed()) return guard.status();
  return ReplyNamingObject(
      guard,
      volumes_.PromoteToTemplate(req->volume_name(), req->snapshot_name(), req->template_name()),
      out);
}

grpc::Status ZfsServiceImpl::ImportTemplate(grpc::ServerContext* ctx,
                                            const ImportTemplateRequest* req, ImportJob* out) {
  CallGuard guard(ctx, authorizer_, audit_, "ImportTemplate",
                  absl::StrCat("template '", req->name(), "'"));
  if (!guard.allowed()) return guard.status();
  ImportRequest request;
  request.template_name = req->name();
  request.source = req->source();
  if (req->has_size_bytes()) request.size_bytes = req->size_bytes();
  request.sha256 = req->sha256();
  return ReplyNamingObject(guard, imports_.Start(request), out);
}

grpc::Status ZfsServiceImpl::GetImportJob(grpc::ServerContext* ctx, const GetImportJobRequest* req,
                                          ImportJob* out) {
  CallGuard guard(ctx, authorizer_, audit_, "GetImportJob");
  if (!guard.allowed()) return guard.status();
  return Reply(imports_.Get(req->id()), out);
}

grpc::Status ZfsServiceImpl::ListImportJobs(grpc::ServerContext* ctx,
                                            const ListImportJobsRequest* req,
                                            ListImportJobsResponse* out) {
  CallGuard guard(ctx, authorizer_, audit_, "ListImportJobs");
  if (!guard.allowed()) return guard.status();
  for (const ImportJobInfo& job : imports_.List(req->include_completed())) {
    ToProto(job, out->add_jobs());
  }
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::CancelImportJob(grpc::ServerContext* ctx,
                                             const CancelImportJobRequest* req,
                                             CancelImportJobResponse* out) {
  CallGuard guard(ctx, authorizer_, audit_, "CancelImportJob", absl::StrCat("job ", req->id()));
  if (!guard.allowed()) return guard.status();
  absl::Status status = imports_.Cancel(req->id());
  if (!status.ok()) return ToGrpcStatus(status);
  out->set_cancelled(true);
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<VolumeEvent>* ZfsServiceImpl::WatchVolumes(
    grpc::CallbackServerContext* ctx, const WatchVolumesRequest*) {
  CallGuard guard(ctx, authorizer_, audit_, "WatchVolumes");
  if (!guard.allowed()) return new RefusedStream<VolumeEvent>(guard.status());
  return WatchStream<VolumeEventInfo, VolumeEvent>::Start(ctx, volumes_.volume_events(),
                                                          options_.watch_buffer, watchers_,
                                                          stall_watchdog_, volume_state_);
}

grpc::ServerWriteReactor<TemplateEvent>* ZfsServiceImpl::WatchTemplates(
    grpc::CallbackServerContext* ctx, const WatchTemplatesRequest*) {
  CallGuard guard(ctx, authorizer_, audit_, "WatchTemplates");
  if (!guard.allowed()) return new RefusedStream<TemplateEvent>(guard.status());
  return WatchStream<TemplateEventInfo, TemplateEvent>::Start(ctx, imports_.template_events(),
                                                              options_.watch_buffer, watchers_,
                                                              stall_watchdog_, template_state_);
}

absl::StatusOr<WatchStream<VolumeEventInfo, VolumeEvent>::SharedState>
ZfsServiceImpl::ReadVolumeState() {
  absl::StatusOr<std::vector<VolumeInfo>> current = volumes_.List();
  if (!current.ok()) return current.status();
  // A volume with a running replication job comes with it.
  const std::map<std::string, ReplicationJobInfo> running =
      replications_.RunningByName(/*template_jobs=*/false);
  auto state = std::make_shared<std::vector<VolumeEventInfo>>();
  for (VolumeInfo& v : *current) {
    VolumeEventInfo event{v.id, NowSeconds(), std::move(v), std::nullopt};
    if (auto job = running.find(event.volume->name); job != running.end()) {
      event.replication_job = job->second;
    }
    state->push_back(std::move(event));
  }
  return state;
}

absl::StatusOr<WatchStream<TemplateEventInfo, TemplateEvent>::SharedState>
ZfsServiceImpl::ReadTemplateState() {
  absl::StatusOr<std::vector<TemplateInfo>> current = volumes_.ListTemplates();
  if (!current.ok()) return current.status();
  auto state = std::make_shared<std::vector<TemplateEventInfo>>();
  const std::map<std::string, ReplicationJobInfo> running =
      replications_.RunningByName(/*template_jobs=*/true);
  for (TemplateInfo& t : *current) {
    TemplateEventInfo event;
    event.template_id = t.id;
    event.timestamp = NowSeconds();
    if (auto job = running.find(t.name); job != running.end()) {
      event.replication_job = job->second;
    }
    event.template_info = std::move(t);
    state->push_back(std::move(event));
  }
  for (ImportJobInfo& job : imports_.List(/*include_finished=*/false)) {
    TemplateEventInfo event;
    event.template_id = job.template_id;
    event.timestamp = NowSeconds();
    event.import_job = std::move(job);
    state->push_back(std::move(event));
  }
  return state;
}

}  // namespace mvirt::zfs
