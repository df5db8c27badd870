// What libblkid finds on a device or file: filesystem, RAID, LVM, swap and
// partition-table signatures ("ext4 filesystem", "gpt partition table"),
// the way wipefs lists them. A thin adapter over libblkid.
#ifndef MVIRT_ZFS_POOL_BLOCK_SIGNATURES_H_
#define MVIRT_ZFS_POOL_BLOCK_SIGNATURES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mvirt::zfs {

// Each signature found, as "<type> <kind>" ("xfs filesystem", "LVM2_member
// raid", "swap other", "dos partition table"); empty if none.
absl::StatusOr<std::vector<std::string>> ProbeSignatures(const std::string& path);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_POOL_BLOCK_SIGNATURES_H_
