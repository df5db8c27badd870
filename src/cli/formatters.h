// Human-readable layouts of the daemon's messages. One function per resource
// kind; new commands (snapshots, templates, jobs) add theirs here.
#ifndef MVIRT_ZFS_CLI_FORMATTERS_H_
#define MVIRT_ZFS_CLI_FORMATTERS_H_

#include <ostream>

#include "mvirt_zfs.pb.h"

namespace mvirt::zfs::cli {

// "key: value" lines (id, name, path, size, used, volblocksize,
// compression_ratio, created_at), then a table of the snapshots if any.
void PrintVolume(const Volume& volume, std::ostream& out);

// One row per volume: NAME SIZE USED VOLBLOCKSIZE RATIO SNAPSHOTS CREATED ID.
// Prints just the header when there are no volumes.
void PrintVolumeTable(const ListVolumesResponse& response, std::ostream& out);

// "key: value" lines: name, total, used, available, provisioned,
// compression_ratio.
void PrintPoolStats(const PoolStats& stats, std::ostream& out);

}  // namespace mvirt::zfs::cli

#endif  // MVIRT_ZFS_CLI_FORMATTERS_H_
