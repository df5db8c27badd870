#include "service/convert.h"

#include "common/time_format.h"

namespace mvirt::zfs {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

void ToProto(const SnapshotInfo& in, Snapshot* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  out->set_full_name(in.full_name);
  out->set_used_bytes(in.used_bytes);
  out->set_created_at(FormatRfc3339(in.created_at));
  out->set_guid(in.guid);
}

void ToProto(const VolumeInfo& in, Volume* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  out->set_path(in.path);
  out->set_volsize_bytes(in.volsize_bytes);
  out->set_used_bytes(in.used_bytes);
  out->set_volblocksize(in.volblocksize);
  out->set_compression_ratio(in.compression_ratio);
  out->set_created_at(FormatRfc3339(in.created_at));
  for (const SnapshotInfo& s : in.snapshots) ToProto(s, out->add_snapshots());
  out->set_encrypted(in.encrypted);
  out->set_key_loaded(in.key_loaded);
  out->set_refreservation_bytes(in.refreservation_bytes);
  out->set_thick(in.thick);
  out->set_referenced_bytes(in.referenced_bytes);
  out->set_written_bytes(in.written_bytes);
  out->set_used_by_snapshots_bytes(in.used_by_snapshots_bytes);
  out->set_logical_used_bytes(in.logical_used_bytes);
}

void ToProto(const StandardsFinding& in, PoolFinding* out) {
  out->set_setting(in.setting);
  out->set_vdev(in.vdev);
  out->set_actual(in.actual);
  out->set_wanted(in.wanted);
  out->set_reason(in.reason);
  out->set_fix(in.fix);
}

void ToProto(const PoolStatsInfo& in, PoolStats* out) {
  out->set_name(in.name);
  out->set_total_bytes(in.total_bytes);
  out->set_available_bytes(in.available_bytes);
  out->set_used_bytes(in.used_bytes);
  out->set_provisioned_bytes(in.provisioned_bytes);
  out->set_compression_ratio(in.compression_ratio);
  out->set_volume_count(in.volume_count);
  out->set_health(in.health);
  out->set_pool_size_bytes(in.pool_size_bytes);
  out->set_pool_allocated_bytes(in.pool_allocated_bytes);
  out->set_pool_free_bytes(in.pool_free_bytes);
  out->set_capacity_percent(static_cast<uint32_t>(in.capacity_percent));
  if (in.fragmentation_percent) {
    out->set_fragmentation_percent(static_cast<uint32_t>(*in.fragmentation_percent));
  }
  for (const PoolStatsInfo::Vdev& vdev : in.vdevs) {
    PoolVdev* v = out->add_vdevs();
    v->set_name(vdev.name);
    v->set_state(vdev.state);
  }
  out->set_overcommit_ratio(in.overcommit_ratio);
  out->set_max_overcommit(in.max_overcommit);
  out->set_reserve_bytes(in.reserve_bytes);
}

void ToProto(const TemplateInfo& in, Template* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  out->set_snapshot_path(in.snapshot_path);
  out->set_source_volume(in.source_volume);
  out->set_size_bytes(in.size_bytes);
  out->set_created_at(FormatRfc3339(in.created_at));
  out->set_clone_count(in.clone_count);
  out->set_import_source(in.import_source);
}

void ToProto(const ImportJobInfo& in, ImportJob* out) {
  out->set_id(in.id);
  out->set_template_name(in.template_name);
  out->set_source(in.source);
  out->set_state(ToProto(in.state));
  out->set_bytes_written(in.bytes_written);
  out->set_total_bytes(in.total_bytes);
  if (in.error) out->set_error(*in.error);
  if (in.template_info) ToProto(*in.template_info, out->mutable_template_());
  out->set_created_at(FormatRfc3339(in.created_at));
  if (in.completed_at) out->set_completed_at(FormatRfc3339(*in.completed_at));
  out->set_downloaded_bytes(in.downloaded_bytes);
  out->set_download_total_bytes(in.download_total_bytes);
  out->set_format(in.format);
  out->set_sha256(in.sha256);
  if (in.size_bytes) out->set_size_bytes(*in.size_bytes);
}

ImportJobState ToProto(ImportState state) {
  switch (state) {
    case ImportState::kPending:
      return IMPORT_JOB_STATE_PENDING;
    case ImportState::kDownloading:
      return IMPORT_JOB_STATE_DOWNLOADING;
    case ImportState::kConverting:
      return IMPORT_JOB_STATE_CONVERTING;
    case ImportState::kWriting:
      return IMPORT_JOB_STATE_WRITING;
    case ImportState::kCompleted:
      return IMPORT_JOB_STATE_COMPLETED;
    case ImportState::kFailed:
      return IMPORT_JOB_STATE_FAILED;
    case ImportState::kCancelled:
      return IMPORT_JOB_STATE_CANCELLED;
  }
  return IMPORT_JOB_STATE_UNSPECIFIED;
}

void ToProto(const VolumeEventInfo& in, VolumeEvent* out) {
  out->set_volume_id(in.volume_id);
  out->set_timestamp(in.timestamp);
  if (in.volume) ToProto(*in.volume, out->mutable_volume());
  if (in.replication_job) ToProto(*in.replication_job, out->mutable_replication_job());
}

void ToProto(const TemplateEventInfo& in, TemplateEvent* out) {
  out->set_template_id(in.template_id);
  out->set_timestamp(in.timestamp);
  if (in.template_info) ToProto(*in.template_info, out->mutable_template_());
  if (in.import_job) ToProto(*in.import_job, out->mutable_import_job());
  if (in.replication_job) ToProto(*in.replication_job, out->mutable_replication_job());
}

void ToProto(const SendPlan& in, SendStreamInfo* out) {
  out->set_volume_id(in.volume_id);
  out->set_volume_name(in.volume_name);  // empty for a template
  ToProto(in.snapshot, out->mutable_snapshot());
  out->set_snapshot_guid(in.snapshot_guid);
  out->set_from_snapshot(in.from_snapshot);
  out->set_from_guid(in.from_guid);
  out->set_estimated_bytes(in.estimated_bytes);
  out->set_resuming(in.resuming);
  out->set_volsize_bytes(in.volsize_bytes);
  out->set_volblocksize(in.volblocksize);
  out->set_raw(in.raw);
  out->set_template_name(in.template_name);
}

void ToProto(const ReceiveStateInfo& in, ReceiveState* out) {
  out->set_volume_name(in.volume_name);
  out->set_resume_token(in.resume_token);
  out->set_creating(in.creating);
}

void ToProto(const ReplicationJobInfo& in, ReplicationJob* out) {
  out->set_id(in.id);
  out->set_kind(in.kind);
  out->set_volume_name(in.volume_name);
  out->set_target(in.target);
  switch (in.state) {
    case ReplicationState::kRunning:
      out->set_state(REPLICATION_JOB_STATE_RUNNING);
      break;
    case ReplicationState::kCompleted:
      out->set_state(REPLICATION_JOB_STATE_COMPLETED);
      break;
    case ReplicationState::kFailed:
      out->set_state(REPLICATION_JOB_STATE_FAILED);
      break;
    case ReplicationState::kCancelled:
      out->set_state(REPLICATION_JOB_STATE_CANCELLED);
      break;
  }
  out->set_bytes_sent(in.bytes_sent);
  out->set_total_bytes(in.total_bytes);
  if (in.error) out->set_error(*in.error);
  for (const std::string& s : in.snapshots_sent) out->add_snapshots_sent(s);
  out->set_created_at(FormatRfc3339(in.created_at));
  if (in.completed_at) out->set_completed_at(FormatRfc3339(*in.completed_at));
  out->set_step(in.step);
  out->set_ready(in.ready);
}

}  // namespace mvirt::zfs
