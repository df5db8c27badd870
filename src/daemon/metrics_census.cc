#include "daemon/metrics_census.h"

#include <string>
#include <vector>

#include "import/import_job.h"

namespace mvirt::zfs {

MetricsCensus TakeMetricsCensus(VolumeManager& volumes, ImportManager& imports) {
  MetricsCensus c;
  if (absl::StatusOr<PoolStatsInfo> pool = volumes.GetPoolStats(); pool.ok()) {
    c.pool_size_bytes = pool->total_bytes;
    c.pool_used_bytes = pool->used_bytes;
    c.pool_available_bytes = pool->available_bytes;
    c.pool_provisioned_bytes = pool->provisioned_bytes;
    c.pool_compression_ratio = pool->compression_ratio;
    c.pool_reserve_bytes = pool->reserve_bytes;
    c.pool_overcommit_ratio = pool->overcommit_ratio;
    c.pool_capacity_percent = pool->capacity_percent;
    c.pool_fragmentation_percent = pool->fragmentation_percent;
    for (const PoolStatsInfo::Vdev& vdev : pool->vdevs) {
      c.pool_vdevs_online[vdev.name] = vdev.state == "ONLINE";
    }
  }
  if (absl::StatusOr<std::vector<VolumeInfo>> list = volumes.List(); list.ok()) {
    c.volumes = list->size();
    uint64_t snapshots = 0;
    for (const VolumeInfo& v : *list) snapshots += v.snapshots.size();
    c.snapshots = snapshots;
  }
  if (absl::StatusOr<std::vector<TemplateInfo>> list = volumes.ListTemplates(); list.ok()) {
    c.templates = list->size();
  }
  for (int s = 0; s <= static_cast<int>(ImportState::kCancelled); ++s) {
    c.import_jobs[std::string(ImportStateName(static_cast<ImportState>(s)))] = 0;
  }
  uint64_t written = 0;
  for (const ImportJobInfo& job : imports.List(/*include_finished=*/true)) {
    ++c.import_jobs[std::string(ImportStateName(job.state))];
    written += job.bytes_written;
  }
  c.import_written_bytes = written;
  return c;
}

}  // namespace mvirt::zfs
