// Whether the served pool can be served, at start-up and while serving.
// Pure logic over PoolProps, unit-tested. (Its settings against the seed
// document: pool/pool_standards.h.)
#ifndef MVIRT_ZFS_DAEMON_POOL_CHECK_H_
#define MVIRT_ZFS_DAEMON_POOL_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {

// OK for an ONLINE or DEGRADED pool (DEGRADED still serves data: the caller
// warns); FAILED_PRECONDITION for FAULTED, UNAVAIL, SUSPENDED and the like.
absl::Status CheckPoolHealth(const PoolProps& pool);

// Whether the daemon can serve the pool, from what reading it gave: serving
// while it is imported and ONLINE or DEGRADED; not while it is exported,
// faulted, suspended (reading it fails) or unreadable. `state` says which in
// a word or a message ("ONLINE", "SUSPENDED", "pool 'tank' is not
// imported").
struct PoolServingState {
  bool serving = false;
  std::string state;
  bool operator==(const PoolServingState&) const = default;
};
PoolServingState ServingStateOf(const absl::StatusOr<PoolProps>& pool);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DAEMON_POOL_CHECK_H_
