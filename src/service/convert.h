// Conversions between the volume layer's plain types and the wire messages,
// and the one absl::Status -> grpc::Status mapping (the codes are the same
// canonical set; the message is kept).
#ifndef MVIRT_ZFS_SERVICE_CONVERT_H_
#define MVIRT_ZFS_SERVICE_CONVERT_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "import/import_job.h"
#include "import/template_event.h"
#include "mvirt_zfs.pb.h"
#include "pool/pool_standards.h"
#include "replication/replication_jobs.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {

grpc::Status ToGrpcStatus(const absl::Status& status);

void ToProto(const SnapshotInfo& in, Snapshot* out);
void ToProto(const VolumeInfo& in, Volume* out);
void ToProto(const PoolStatsInfo& in, PoolStats* out);
void ToProto(const StandardsFinding& in, PoolFinding* out);
void ToProto(const TemplateInfo& in, Template* out);
void ToProto(const ImportJobInfo& in, ImportJob* out);
ImportJobState ToProto(ImportState state);
void ToProto(const VolumeEventInfo& in, VolumeEvent* out);
void ToProto(const TemplateEventInfo& in, TemplateEvent* out);
void ToProto(const SendPlan& in, SendStreamInfo* out);
void ToProto(const ReceiveStateInfo& in, ReceiveState* out);
void ToProto(const ReplicationJobInfo& in, ReplicationJob* out);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_SERVICE_CONVERT_H_
