#include "service/zfs_service.h"

#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

// Streams `initial` and then every event of `subscription` to `writer` until
// the client goes away, the subscriber overflows, or the daemon shuts down.
template <typename Info, typename Proto>
grpc::Status StreamEvents(grpc::ServerContext* ctx, grpc::ServerWriter<Proto>* writer,
                          typename Broadcaster<Info>::Subscription& subscription,
                          const std::vector<Info>& initial, size_t buffer,
                          StallWatchdog& watchdog) {
  StallWatchdog::Watch watch(watchdog, ctx);
  auto write = [&](const Info& info) {
    Proto event;
    ToProto(info, &event);
    watch.WriteStarted();
    bool written = writer->Write(event);
    watch.WriteFinished();
    return written;
  };
  for (const Info& info : initial) {
    if (!write(info)) return grpc::Status::OK;  // client gone
  }
  while (!ctx->IsCancelled()) {
    std::optional<Info> next = subscription.Next(std::chrono::milliseconds(250));
    if (subscription.overflowed()) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          absl::StrCat("watch fell more than ", buffer,
                                       " events behind and was disconnected; resubscribe to "
                                       "receive the current state"));
    }
    if (subscription.closed()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "mvirt-zfs is shutting down");
    }
    if (next && !write(*next)) return grpc::Status::OK;
  }
  return grpc::Status::OK;
}

int64_t NowSeconds() { return absl::ToUnixSeconds(absl::Now()); }

}  // namespace

grpc::Status ZfsServiceImpl::GetVersion(grpc::ServerContext*, const GetVersionRequest*,
                                        VersionInfo* out) {
  out->set_version(MVIRT_ZFS_VERSION);
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::GetPoolStats(grpc::ServerContext*, const GetPoolStatsRequest*,
                                          PoolStats* out) {
  return Reply(volumes_.GetPoolStats(), out);
}

grpc::Status ZfsServiceImpl::CreateVolume(grpc::ServerContext*, const CreateVolumeRequest* req,
                                          Volume* out) {
  CreateVolumeParams params;
  params.name = req->name();
  params.size_bytes = req->size_bytes();
  if (req->has_volblocksize()) params.volblocksize = req->volblocksize();
  params.id = req->id();
  return Reply(volumes_.Create(params), out);
}

grpc::Status ZfsServiceImpl::ListVolumes(grpc::ServerContext*, const ListVolumesRequest*,
                                         ListVolumesResponse* out) {
  return ReplyAll(volumes_.List(), out->mutable_volumes());
}

grpc::Status ZfsServiceImpl::GetVolume(grpc::ServerContext*, const GetVolumeRequest* req,
                                       Volume* out) {
  return Reply(volumes_.Get(req->name()), out);
}

grpc::Status ZfsServiceImpl::DeleteVolume(grpc::ServerContext*, const DeleteVolumeRequest* req,
                                          DeleteVolumeResponse* out) {
  return ReplyDeleted(volumes_.Delete(req->name()), out);
}

grpc::Status ZfsServiceImpl::ResizeVolume(grpc::ServerContext*, const ResizeVolumeRequest* req,
                                          Volume* out) {
  return Reply(volumes_.Resize(req->name(), req->new_size_bytes()), out);
}

grpc::Status ZfsServiceImpl::CreateSnapshot(grpc::ServerContext*,
                                            const CreateSnapshotRequest* req, Snapshot* out) {
  return Reply(volumes_.CreateSnapshot(req->volume_name(), req->snapshot_name()), out);
}

grpc::Status ZfsServiceImpl::CreateSnapshots(grpc::ServerContext*,
                                             const CreateSnapshotsRequest* req,
                                             CreateSnapshotsResponse* out) {
  std::vector<std::string> volumes(req->volume_names().begin(), req->volume_names().end());
  return ReplyAll(volumes_.CreateSnapshots(volumes, req->snapshot_name()), out->mutable_snapshots());
}

grpc::Status ZfsServiceImpl::ListSnapshots(grpc::ServerContext*, const ListSnapshotsRequest* req,
                                           ListSnapshotsResponse* out) {
  return ReplyAll(volumes_.ListSnapshots(req->volume_name()), out->mutable_snapshots());
}

grpc::Status ZfsServiceImpl::DeleteSnapshot(grpc::ServerContext*,
                                            const DeleteSnapshotRequest* req,
                                            DeleteSnapshotResponse* out) {
  return ReplyDeleted(volumes_.DeleteSnapshot(req->volume_name(), req->snapshot_name()), out);
}

grpc::Status ZfsServiceImpl::RollbackSnapshot(grpc::ServerContext*,
                                              const RollbackSnapshotRequest* req, Volume* out) {
  return Reply(volumes_.Rollback(req->volume_name(), req->snapshot_name()), out);
}

grpc::Status ZfsServiceImpl::CloneVolume(grpc::ServerContext*, const CloneVolumeRequest* req,
                                         Volume* out) {
  CloneVolumeParams params;
  params.name = req->new_volume_name();
  if (req->has_size_bytes()) params.size_bytes = req->size_bytes();
  params.id = req->id();
  return Reply(volumes_.CloneVolume(req->source_volume(), req->snapshot_name(), params), out);
}

grpc::Status ZfsServiceImpl::ListTemplates(grpc::ServerContext*, const ListTemplatesRequest*,
                                           ListTemplatesResponse* out) {
  return ReplyAll(volumes_.ListTemplates(), out->mutable_templates());
}

grpc::Status ZfsServiceImpl::DeleteTemplate(grpc::ServerContext*, const DeleteTemplateRequest* req,
                                            DeleteTemplateResponse* out) {
  return ReplyDeleted(volumes_.DeleteTemplate(req->name()), out);
}

grpc::Status ZfsServiceImpl::CloneFromTemplate(grpc::ServerContext*,
                                               const CloneFromTemplateRequest* req, Volume* out) {
  CloneVolumeParams params;
  params.name = req->new_volume_name();
  if (req->has_size_bytes()) params.size_bytes = req->size_bytes();
  params.id = req->id();
  return Reply(volumes_.CloneFromTemplate(req->template_name(), params), out);
}

grpc::Status ZfsServiceImpl::PromoteSnapshotToTemplate(grpc::ServerContext*,
                                                       const PromoteSnapshotRequest* req,
                                                       Template* out) {
  return Reply(
      volumes_.PromoteToTemplate(req->volume_name(), req->snapshot_name(), req->template_name()),
      out);
}

grpc::Status ZfsServiceImpl::ImportTemplate(grpc::ServerContext*, const ImportTemplateRequest* req,
                                            ImportJob* out) {
  ImportRequest request;
  request.template_name = req->name();
  request.source = req->source();
  if (req->has_size_bytes()) request.size_bytes = req->size_bytes();
  request.sha256 = req->sha256();
  return Reply(imports_.Start(request), out);
}

grpc::Status ZfsServiceImpl::GetImportJob(grpc::ServerContext*, const GetImportJobRequest* req,
                                          ImportJob* out) {
  return Reply(imports_.Get(req->id()), out);
}

grpc::Status ZfsServiceImpl::ListImportJobs(grpc::ServerContext*, const ListImportJobsRequest* req,
                                            ListImportJobsResponse* out) {
  for (const ImportJobInfo& job : imports_.List(req->include_completed())) {
    ToProto(job, out->add_jobs());
  }
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::CancelImportJob(grpc::ServerContext*,
                                             const CancelImportJobRequest* req,
                                             CancelImportJobResponse* out) {
  absl::Status status = imports_.Cancel(req->id());
  if (!status.ok()) return ToGrpcStatus(status);
  out->set_cancelled(true);
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::WatchVolumes(grpc::ServerContext* ctx, const WatchVolumesRequest*,
                                          grpc::ServerWriter<VolumeEvent>* writer) {
  auto subscription = volumes_.volume_events().Subscribe(options_.watch_buffer);
  absl::StatusOr<std::vector<VolumeInfo>> current = volumes_.List();
  if (!current.ok()) return ToGrpcStatus(current.status());
  std::vector<VolumeEventInfo> initial;
  for (VolumeInfo& v : *current) initial.push_back({v.id, NowSeconds(), std::move(v)});
  return StreamEvents<VolumeEventInfo>(ctx, writer, *subscription, initial, options_.watch_buffer,
                                       stall_watchdog_);
}

grpc::Status ZfsServiceImpl::WatchTemplates(grpc::ServerContext* ctx, const WatchTemplatesRequest*,
                                            grpc::ServerWriter<TemplateEvent>* writer) {
  auto subscription = volumes_.template_events().Subscribe(options_.watch_buffer);
  absl::StatusOr<std::vector<TemplateInfo>> current = volumes_.ListTemplates();
  if (!current.ok()) return ToGrpcStatus(current.status());
  std::vector<TemplateEventInfo> initial;
  for (TemplateInfo& t : *current) {
    TemplateEventInfo event;
    event.template_id = t.id;
    event.timestamp = NowSeconds();
    event.template_info = std::move(t);
    initial.push_back(std::move(event));
  }
  for (ImportJobInfo& job : imports_.List(/*include_finished=*/false)) {
    TemplateEventInfo event;
    event.template_id = job.template_id;
    event.timestamp = NowSeconds();
    event.import_job = std::move(job);
    initial.push_back(std::move(event));
  }
  return StreamEvents<TemplateEventInfo>(ctx, writer, *subscription, initial,
                                         options_.watch_buffer, stall_watchdog_);
}

}  // namespace mvirt::zfs
