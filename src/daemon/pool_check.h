// Start-up checks of the served pool. Pure logic over PoolProps, unit-tested.
#ifndef MVIRT_ZFS_DAEMON_POOL_CHECK_H_
#define MVIRT_ZFS_DAEMON_POOL_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {

// OK for an ONLINE or DEGRADED pool (DEGRADED still serves data: the caller
// warns); FAILED_PRECONDITION for FAULTED, UNAVAIL, SUSPENDED and the like.
absl::Status CheckPoolHealth(const PoolProps& pool);

// One warning for each of the seed document's pool settings that differs:
// ashift=12, autotrim=on, compression=lz4, xattr=sa, atime=off.
std::vector<std::string> SeedSettingWarnings(const PoolProps& pool);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DAEMON_POOL_CHECK_H_
