// TakeMetricsCensus: the figures a metrics scrape reports about the pool and
// the daemon's objects, read the way the RPCs read them (GetPoolStats,
// ListVolumes, ListTemplates, ListImportJobs). A figure that cannot be read
// (the pool is gone) is left out.
#ifndef MVIRT_ZFS_DAEMON_METRICS_CENSUS_H_
#define MVIRT_ZFS_DAEMON_METRICS_CENSUS_H_

#include "import/import_manager.h"
#include "metrics/metrics.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {

MetricsCensus TakeMetricsCensus(VolumeManager& volumes, ImportManager& imports);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DAEMON_METRICS_CENSUS_H_
