// The /dev/zvol/<pool>/<name> block devices of volumes (Linux).
//
// udev creates the link asynchronously after the create ioctl, and a stale
// link can point at another /dev/zdN; so a device counts as ready only when
// the link resolves to a block device whose BLKZNAME ioctl names exactly the
// expected dataset.
#ifndef MVIRT_ZFS_DEVICE_ZVOL_DEVICE_H_
#define MVIRT_ZFS_DEVICE_ZVOL_DEVICE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mvirt::zfs {

// "/dev/zvol/<dataset>"; udev writes spaces as '+' (names here have none).
std::string ZvolDevicePath(const std::string& dataset);

// The dataset name the zvol behind `path` reports through BLKZNAME.
// NOT_FOUND if `path` does not exist; FAILED_PRECONDITION if it is not a zvol.
absl::StatusOr<std::string> ReadZvolDatasetName(const std::string& path);

// Polls (5 ms doubling to 100 ms) until `path` is a block device that
// BLKZNAME identifies as `dataset`. DEADLINE_EXCEEDED after `timeout`.
absl::Status WaitForZvolDevice(const std::string& path, const std::string& dataset,
                               absl::Duration timeout);

// Polls until `path` no longer exists. DEADLINE_EXCEEDED after `timeout`.
absl::Status WaitForDeviceGone(const std::string& path, absl::Duration timeout);

// A user of a block device.
struct DeviceHolder {
  int pid = 0;          // 0 for kernel users (mounts, device-mapper)
  std::string command;  // process name, or what the kernel user is
};

// What can be seen to have the device behind `path`, or one of its
// partitions, open: processes in any namespace (their /proc/<pid>/fd links
// are read, and stat()ed only when they point under /dev), mounts in any
// mount namespace, stacked kernel devices (device-mapper, md), loop devices
// and LIO/iSCSI backstores backed by it. For naming users in a refusal: the
// kernel, not this scan, decides whether the device is in use. Empty if
// `path` does not exist.
std::vector<DeviceHolder> FindDeviceHolders(const std::string& path);

// Drops the kernel's page cache of the device (BLKFLSBUF), so that no reader
// sees data cached from before a rollback. OK if `path` does not exist.
absl::Status InvalidateDeviceCache(const std::string& path);

// "pid 4242 (qemu-system-x86), mount of /dev/zd0p1 on /mnt"
std::string DescribeHolders(const std::vector<DeviceHolder>& holders);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DEVICE_ZVOL_DEVICE_H_
