// ZfsServiceImpl: the gRPC face of mvirt-zfs. Thin by design: each handler
// converts the request, calls the VolumeManager (or the ImportManager), and
// converts the result or the Status back.
#ifndef MVIRT_ZFS_SERVICE_ZFS_SERVICE_H_
#define MVIRT_ZFS_SERVICE_ZFS_SERVICE_H_

#include "access/authorizer.h"
#include "audit/audit_trail.h"
#include "common/coalesced_read.h"
#include "import/import_manager.h"
#include "mvirt_zfs.grpc.pb.h"
#include "replication/replication_jobs.h"
#include "service/stall_watchdog.h"
#include "service/watch_stream.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {

struct ServiceOptions {
  // Events a watch subscriber may fall behind by before it is disconnected
  // with RESOURCE_EXHAUSTED (it then resubscribes and gets the full state).
  size_t watch_buffer = 1024;
  // A watch subscriber that has not read for this long while an event waits
  // to be sent is disconnected (CANCELLED), freeing what it holds.
  absl::Duration watch_stall_timeout = absl::Seconds(60);
  // Watch streams open at once; more are refused with RESOURCE_EXHAUSTED.
  size_t max_watchers = 256;
};

// The watch RPCs use gRPC's callback API (no thread per subscriber, and a
// clear status for one that falls behind: see WatchStream); the others the
// synchronous API.
using ZfsServiceBase = ZfsService::WithCallbackMethod_WatchVolumes<
    ZfsService::WithCallbackMethod_WatchTemplates<ZfsService::Service>>;

class ZfsServiceImpl final : public ZfsServiceBase {
 public:
  // Every call is first checked by `authorizer` (PERMISSION_DENIED).
  ZfsServiceImpl(VolumeManager& volumes, ImportManager& imports, ReplicationJobs& replications,
                 const Authorizer& authorizer, ServiceOptions options)
      : volumes_(volumes),
        imports_(imports),
        replications_(replications),
        authorizer_(authorizer),
        options_(options),
        stall_watchdog_(options.watch_stall_timeout),
        watchers_(options.max_watchers),
        volume_state_([this] { return ReadVolumeState(); }),
        template_state_([this] { return ReadTemplateState(); }) {}

  grpc::Status GetVersion(grpc::ServerContext*, const GetVersionRequest*, VersionInfo*) override;
  grpc::Status GetPoolStats(grpc::ServerContext*, const GetPoolStatsRequest*, PoolStats*) override;
  grpc::Status CheckPool(grpc::ServerContext*, const CheckPoolRequest*, PoolCheck*) override;
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
  grpc::Status RenameVolume(grpc::ServerContext*, const RenameVolumeRequest*, Volume*) override;
  grpc::Status AdoptVolume(grpc::ServerContext*, const AdoptVolumeRequest*, Volume*) override;
  grpc::Status SetSnapshotPolicy(grpc::ServerContext*, const SetSnapshotPolicyRequest*,
                                 SnapshotPolicy*) override;
  grpc::Status GetSnapshotPolicy(grpc::ServerContext*, const GetSnapshotPolicyRequest*,
                                 SnapshotPolicy*) override;
  grpc::Status ReleaseVolume(grpc::ServerContext*, const ReleaseVolumeRequest*,
                             ReleaseVolumeResponse*) override;
  grpc::Status RenameSnapshot(grpc::ServerContext*, const RenameSnapshotRequest*,
                              Snapshot*) override;
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

  // Send and receive streams (stream_rpcs.cc). SendVolume writes the
  // stream as ZFS makes it, in messages of up to kStreamChunkBytes;
  // ReceiveVolume feeds what arrives to ZFS as it arrives. Either way a
  // pipe sits between gRPC and ZFS, pumped by the handler's thread while a
  // thread of the call's own runs the ZFS side; when either side stops, the
  // other sees the pipe closed and stops too.
  grpc::Status SendVolume(grpc::ServerContext*, const SendVolumeRequest*,
                          grpc::ServerWriter<SendVolumeResponse>*) override;
  grpc::Status ReceiveVolume(grpc::ServerContext*, grpc::ServerReader<ReceiveVolumeRequest>*,
                             ReceiveVolumeResponse*) override;
  grpc::Status GetReceiveState(grpc::ServerContext*, const GetReceiveStateRequest*,
                               ReceiveState*) override;
  grpc::Status AbortReceive(grpc::ServerContext*, const AbortReceiveRequest*,
                            AbortReceiveResponse*) override;
  static constexpr size_t kStreamChunkBytes = 1024 * 1024;

  // Replication and migration jobs (stream_rpcs.cc).
  grpc::Status ReplicateVolume(grpc::ServerContext*, const ReplicateVolumeRequest*,
                               ReplicationJob*) override;
  grpc::Status MigrateVolume(grpc::ServerContext*, const MigrateVolumeRequest*,
                             ReplicationJob*) override;
  grpc::Status ReplicateTemplate(grpc::ServerContext*, const ReplicateTemplateRequest*,
                                 ReplicationJob*) override;
  grpc::Status GetReplicationJob(grpc::ServerContext*, const GetReplicationJobRequest*,
                                 ReplicationJob*) override;
  grpc::Status ListReplicationJobs(grpc::ServerContext*, const ListReplicationJobsRequest*,
                                   ListReplicationJobsResponse*) override;
  grpc::Status CancelReplicationJob(grpc::ServerContext*, const CancelReplicationJobRequest*,
                                    ReplicationJob*) override;

  // A new subscriber first receives the current state of every object
  // (for templates: every template, then every import still running), then
  // every change; it is subscribed before the state is read, so nothing
  // falls between (an object may arrive twice, each time in full). The
  // state is read on a thread of its own, once for all the subscribers that
  // arrived meanwhile (CoalescedRead), so that many subscribers connecting
  // at once neither block gRPC's threads nor cost a read each. How a stream
  // ends: see WatchStream.
  grpc::ServerWriteReactor<VolumeEvent>* WatchVolumes(grpc::CallbackServerContext*,
                                                      const WatchVolumesRequest*) override;
  grpc::ServerWriteReactor<TemplateEvent>* WatchTemplates(grpc::CallbackServerContext*,
                                                          const WatchTemplatesRequest*) override;

  // Watch streams open now.
  size_t watchers() const { return watchers_.in_use(); }
  // The audit of mutations; its interceptor must be installed on the server
  // (NewAuditInterceptorFactory) for the lines to be written.
  AuditTrail& audit_trail() { return audit_; }

 private:
  VolumeManager& volumes_;
  ImportManager& imports_;
  ReplicationJobs& replications_;
  const Authorizer& authorizer_;
  const ServiceOptions options_;
  StallWatchdog stall_watchdog_;
  WatcherSlots watchers_;
  AuditTrail audit_;

  // The current state for new watch streams, as events.
  absl::StatusOr<WatchStream<VolumeEventInfo, VolumeEvent>::SharedState> ReadVolumeState();
  absl::StatusOr<WatchStream<TemplateEventInfo, TemplateEvent>::SharedState> ReadTemplateState();
  // Last: their threads stop before anything they read is destroyed.
  CoalescedRead<WatchStream<VolumeEventInfo, VolumeEvent>::SharedState> volume_state_;
  CoalescedRead<WatchStream<TemplateEventInfo, TemplateEvent>::SharedState> template_state_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_SERVICE_ZFS_SERVICE_H_
