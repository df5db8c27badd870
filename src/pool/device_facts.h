// What `mvirt-zfs pool init` must know about a device before it writes a
// pool onto it, and the rule that decides whether it may: a device that is
// mounted, swap, held by another block device (dm, md, LVM) or busy is never
// used; one that carries a filesystem, partition table or ZFS label of
// another pool is used only with --force. InspectDevice reads the system;
// ReasonsToRefuse is pure logic (unit-tested).
#ifndef MVIRT_ZFS_POOL_DEVICE_FACTS_H_
#define MVIRT_ZFS_POOL_DEVICE_FACTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "zfs/pool_creation.h"

namespace mvirt::zfs {

// The smallest vdev ZFS accepts (SPA_MINDEVSIZE).
inline constexpr uint64_t kMinVdevBytes = uint64_t{64} << 20;

struct DeviceFacts {
  enum class Kind { kMissing, kFile, kBlockDevice, kOther };
  std::string path;  // absolute
  Kind kind = Kind::kMissing;
  uint64_t size_bytes = 0;
  // Why it is in use now: "mounted at /boot", "swap", "held by dm-0",
  // "busy (opened exclusively by the kernel)". Never overridden.
  std::vector<std::string> uses;
  // What is written on it: "ext4 filesystem", "gpt partition table", "ZFS
  // label of pool 'old' (exported)". Overridden by --force.
  std::vector<std::string> signatures;
  // A device or file that could not be read.
  std::string unreadable;
};

// Reads what the kernel, libblkid and the ZFS label say about `path`
// (made absolute against the working directory).
DeviceFacts InspectDevice(const std::string& path, PoolCreator& zfs);

// Each reason not to write a pool onto the device; empty if it may be used.
// Signatures count only without `force`.
std::vector<std::string> ReasonsToRefuse(const DeviceFacts& device, bool force);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_POOL_DEVICE_FACTS_H_
