#include "service/zfs_service.h"

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

// Converts every element of `result` into a new entry of `out`.
template <typename T, typename RepeatedProto>
grpc::Status ReplyAll(const absl::StatusOr<std::vector<T>>& result, RepeatedProto* out) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  for (const T& item : *result) ToProto(item, out->Add());
  return grpc::Status::OK;
}

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
  absl::Status status = volumes_.Delete(req->name());
  if (!status.ok()) return ToGrpcStatus(status);
  out->set_deleted(true);
  return grpc::Status::OK;
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
  absl::Status status = volumes_.DeleteSnapshot(req->volume_name(), req->snapshot_name());
  if (!status.ok()) return ToGrpcStatus(status);
  out->set_deleted(true);
  return grpc::Status::OK;
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
  absl::Status status = volumes_.DeleteTemplate(req->name());
  if (!status.ok()) return ToGrpcStatus(status);
  out->set_deleted(true);
  return grpc::Status::OK;
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

}  // namespace mvirt::zfs
