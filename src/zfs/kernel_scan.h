// Internal to src/zfs: reads of many datasets done in the kernel in one
// call, as read-only ZFS channel programs (lzc_channel_program_nosync): they
// run in open context with the pool's configuration held, so they see one
// consistent set of datasets, make no transaction group and wait for none,
// and need no libzfs handle (so no lock shared with other calls).
#ifndef MVIRT_ZFS_ZFS_KERNEL_SCAN_H_
#define MVIRT_ZFS_ZFS_KERNEL_SCAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "zfs/zfs.h"

namespace mvirt::zfs::internal {

// Zfs::ScanVolumes: every zvol directly under `parent`, in name order.
absl::StatusOr<std::vector<VolumeDigest>> ScanVolumesInKernel(const std::string& parent,
                                                              const std::string& id_property);

// Zfs::ScanVolumesNamed: those of `names` that are zvols, in name order.
absl::StatusOr<std::vector<VolumeDigest>> ScanVolumesNamedInKernel(
    const std::string& parent, const std::vector<std::string>& names,
    const std::string& id_property);

}  // namespace mvirt::zfs::internal

#endif  // MVIRT_ZFS_ZFS_KERNEL_SCAN_H_
