// Which streams a replication sends: pure logic over the snapshots of the
// source volume and of the target's volume of the same name, matched by
// guid as ZFS matches them (names may differ or be reused).
#ifndef MVIRT_ZFS_REPLICATION_REPLICATION_PLAN_H_
#define MVIRT_ZFS_REPLICATION_REPLICATION_PLAN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "volume/volume_types.h"

namespace mvirt::zfs {

// One stream: snapshot `snapshot` of the volume, in full if `from` is "",
// else incrementally from snapshot `from`.
struct ReplicationStep {
  std::string snapshot;
  std::string from;

  bool operator==(const ReplicationStep& other) const {
    return snapshot == other.snapshot && from == other.from;
  }
};

// The streams that bring the target up to source snapshot `upto` ("": the
// newest), oldest first: every source snapshot after the newest one the
// target has (by guid), the first in full if the target has no such
// volume (`target` nullopt). Empty when the target is up to date.
// FAILED_PRECONDITION, saying what to do, when the source has no snapshot,
// when the target's volume shares no snapshot with the source, or when the
// target has snapshots newer than the newest shared one (a receive would
// have to destroy them); NOT_FOUND if `upto` is not a source snapshot.
// `source` and `target` are oldest first.
absl::StatusOr<std::vector<ReplicationStep>> PlanReplication(
    const std::string& volume, const std::vector<SnapshotInfo>& source,
    const std::optional<std::vector<SnapshotInfo>>& target, const std::string& upto);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_REPLICATION_REPLICATION_PLAN_H_
