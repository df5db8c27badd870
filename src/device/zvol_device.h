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
  int pid = 0;           // 0 for kernel users (mounts, device-mapper)
  std::string command;   // process name, or what the kernel user is
};

// Everything that has the device behind `path`, or one of its partitions,
// open: processes (via /proc/<pid>/fd), mounts, and stacked kernel devices
// (/sys/block/<dev>/holders). Empty if `path` does not exist.
std::vector<DeviceHolder> FindDeviceHolders(const std::string& path);

// FindDeviceHolders, polled for up to `grace` until nothing holds the
// device: udev opens a zvol briefly to probe it after every close that
// followed a write, and such a transient holder must not count as a user.
// Returns the holders still present after `grace`.
std::vector<DeviceHolder> FindLastingDeviceHolders(const std::string& path, absl::Duration grace);

// Drops the kernel's page cache of the device (BLKFLSBUF), so that no reader
// sees data cached from before a rollback. OK if `path` does not exist.
absl::Status InvalidateDeviceCache(const std::string& path);

// "pid 4242 (qemu-system-x86), mount of /dev/zd0p1 on /mnt"
std::string DescribeHolders(const std::vector<DeviceHolder>& holders);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DEVICE_ZVOL_DEVICE_H_
