// ZfsServiceImpl: the gRPC face of mvirt-zfs. Thin by design: each handler
// converts the request, calls the VolumeManager (or the ImportManager), and
// converts the result or the Status back.
#ifndef MVIRT_ZFS_SERVICE_ZFS_SERVICE_H_
#define MVIRT_ZFS_SERVICE_ZFS_SERVICE_H_

#include "import/import_manager.h"
#include "mvirt_zfs.grpc.pb.h"
#include "service/stall_watchdog.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {

struct ServiceOptions {
  // Events a watch subscriber may fall behind by before it is disconnected
  // with RESOURCE_EXHAUSTED (it then resubscribes and gets the full state).
  size_t watch_buffer = 1024;
  // A watch subscriber that has not read for this long while an event waits
  // to be sent is disconnected (CANCELLED), freeing its server thread.
  absl::Duration watch_stall_timeout = absl::Seconds(60);
};

class ZfsServiceImpl final : public ZfsService::Service {
 public:
  ZfsServiceImpl(VolumeManager& volumes, ImportManager& imports, ServiceOptions options)
      : volumes_(volumes), imports_(imports), options_(options),
        stall_watchdog_(options.watch_stall_timeout) {}

  grpc::Status GetVersion(grpc::ServerContext*, const GetVersionRequest*, VersionInfo*) override;
  grpc::Status GetPoolStats(grpc::ServerContext*, const GetPoolStatsRequest*, PoolStats*) override;
  grpc::Status CreateVolume(grpc::ServerContext*, const CreateVolumeRequest*, Volume*) override;
  grpc::Status ListVolumes(grpc::ServerContext*, const ListVolumesRequest*,
                           ListVolumesResponse*) override;
  grpc::Status GetVolume(grpc::ServerContext*, const GetVolumeRequest*, Volume*) override;
  grpc::Status DeleteVolume(grpc::ServerContext*, const DeleteVolumeRequest*,
                            DeleteVolumeResponse*) override;
  grpc::Status ResizeVolume(grpc::ServerContext*, const ResizeVolumeRequest*, Volume*) override;
  grpc::Status CreateSnapshot(grpc::ServerContext*, const CreateSnapshotRequest*,
                              Snapshot*) override;
  grpc::Status CreateSnapshots(grpc::ServerContext*, const CreateSnapshotsRequest*,
                               CreateSnapshotsResponse*) override;
  grpc::Status ListSnapshots(grpc::ServerContext*, const ListSnapshotsRequest*,
                             ListSnapshotsResponse*) override;
  grpc::Status DeleteSnapshot(grpc::ServerContext*, const DeleteSnapshotRequest*,
                              DeleteSnapshotResponse*) override;
  grpc::Status RollbackSnapshot(grpc::ServerContext*, const RollbackSnapshotRequest*,
                                Volume*) override;
  grpc::Status CloneVolume(grpc::ServerContext*, const CloneVolumeRequest*, Volume*) override;
  grpc::Status ListTemplates(grpc::ServerContext*, const ListTemplatesRequest*,
                             ListTemplatesResponse*) override;
  grpc::Status DeleteTemplate(grpc::ServerContext*, const DeleteTemplateRequest*,
                              DeleteTemplateResponse*) override;
  grpc::Status CloneFromTemplate(grpc::ServerContext*, const CloneFromTemplateRequest*,
                                 Volume*) override;
  grpc::Status PromoteSnapshotToTemplate(grpc::ServerContext*, const PromoteSnapshotRequest*,
                                         Template*) override;
  grpc::Status ImportTemplate(grpc::ServerContext*, const ImportTemplateRequest*,
                              ImportJob*) override;
  grpc::Status GetImportJob(grpc::ServerContext*, const GetImportJobRequest*, ImportJob*) override;
  grpc::Status ListImportJobs(grpc::ServerContext*, const ListImportJobsRequest*,
                              ListImportJobsResponse*) override;
  // Returns once the job has stopped and removed what it created.
  grpc::Status CancelImportJob(grpc::ServerContext*, const CancelImportJobRequest*,
                               CancelImportJobResponse*) override;

  // A new subscriber first receives the current state of every object
  // (for templates: every template, then every import still running), then
  // every change; it is subscribed before the state is read, so nothing
  // falls between (an object may arrive twice, each time in full).
  grpc::Status WatchVolumes(grpc::ServerContext*, const WatchVolumesRequest*,
                            grpc::ServerWriter<VolumeEvent>*) override;
  grpc::Status WatchTemplates(grpc::ServerContext*, const WatchTemplatesRequest*,
                              grpc::ServerWriter<TemplateEvent>*) override;

 private:
  VolumeManager& volumes_;
  ImportManager& imports_;
  const ServiceOptions options_;
  StallWatchdog stall_watchdog_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_SERVICE_ZFS_SERVICE_H_
