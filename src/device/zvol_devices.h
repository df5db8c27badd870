// ZvolDevices: the seam between the volume logic and the zvol block devices,
// so that tests can drive device readiness, removal and holders on purpose
// (like LevelDB's Env: one interface, the real implementation behind it, a
// fake for tests in fake_zvol_devices.h).
#ifndef MVIRT_ZFS_DEVICE_ZVOL_DEVICES_H_
#define MVIRT_ZFS_DEVICE_ZVOL_DEVICES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "device/zvol_device.h"

namespace mvirt::zfs {

// What VolumeManager needs of /dev/zvol. Implementations are thread-safe.
class ZvolDevices {
 public:
  virtual ~ZvolDevices() = default;

  // Returns once `path` is a block device that BLKZNAME identifies as
  // `dataset`. DEADLINE_EXCEEDED after `timeout`, the message ending in "the
  // volume exists, retry the call"; the current call's deadline or
  // cancellation (CallContext) ends the wait early with that status.
  virtual absl::Status WaitReady(const std::string& path, const std::string& dataset,
                                 absl::Duration timeout) = 0;

  // Returns once `path` no longer exists. DEADLINE_EXCEEDED after `timeout`.
  virtual absl::Status WaitGone(const std::string& path, absl::Duration timeout) = 0;

  // Who can be seen to have the device behind `path` open (processes, mounts,
  // loop, dm, md, LIO), for naming them in a refusal; empty if `path` does
  // not exist. The kernel, not this list, decides whether it is in use.
  virtual std::vector<DeviceHolder> Holders(const std::string& path) = 0;

  // Drops the kernel's page cache of the device, so that no reader sees data
  // cached from before a rollback. OK if `path` does not exist.
  virtual absl::Status InvalidateCache(const std::string& path) = 0;
};

// The devices of this Linux host: the functions of zvol_device.h. Stateless.
class LinuxZvolDevices final : public ZvolDevices {
 public:
  // The process's one instance.
  static LinuxZvolDevices& Get();

  absl::Status WaitReady(const std::string& path, const std::string& dataset,
                         absl::Duration timeout) override;
  absl::Status WaitGone(const std::string& path, absl::Duration timeout) override;
  std::vector<DeviceHolder> Holders(const std::string& path) override;
  absl::Status InvalidateCache(const std::string& path) override;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DEVICE_ZVOL_DEVICES_H_
