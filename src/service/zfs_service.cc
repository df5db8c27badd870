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
  absl::StatusOr<std::vector<VolumeInfo>> volumes = volumes_.List();
  if (!volumes.ok()) return ToGrpcStatus(volumes.status());
  for (const VolumeInfo& v : *volumes) ToProto(v, out->add_volumes());
  return grpc::Status::OK;
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

}  // namespace mvirt::zfs
