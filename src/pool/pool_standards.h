// The seed document's pool standards, checked against a pool as it is:
// ashift=12 on every top-level vdev, autotrim=on, and on the root dataset
// compression=lz4, xattr=sa, atime=off. Pure logic over PoolProps, used by
// the daemon's start-up warnings, the CheckPool RPC (`mvirt-zfsctl pool
// check`) and `mvirt-zfs pool init`.
#ifndef MVIRT_ZFS_POOL_POOL_STANDARDS_H_
#define MVIRT_ZFS_POOL_POOL_STANDARDS_H_

#include <string>
#include <vector>

#include "zfs/zfs.h"

namespace mvirt::zfs {

// One setting of the pool that differs from the seed's standards.
struct StandardsFinding {
  std::string setting;  // "ashift", "autotrim", "compression", "xattr", "atime"
  std::string vdev;     // for ashift: the top-level vdev; empty otherwise
  std::string actual;   // what the pool has ("9", "off", "unknown")
  std::string wanted;   // what the seed prescribes ("12", "on", "lz4", ...)
  std::string reason;   // why the seed prescribes it
  std::string fix;      // the command that fixes it, or what to do if none can
  bool operator==(const StandardsFinding&) const = default;
};

// The pool properties `mvirt-zfs pool init` creates a pool with, in the
// order the seed lists them: pool properties and root-dataset properties.
struct SeedPoolSettings {
  std::vector<std::pair<std::string, std::string>> pool_props;
  std::vector<std::pair<std::string, std::string>> root_props;
};
const SeedPoolSettings& SeedSettings();

// Every difference, in the order ashift (each vdev), autotrim, compression,
// xattr, atime; empty if the pool follows the standards. A pool whose vdevs
// could not be read has one ashift finding with vdev "" and actual
// "unknown".
std::vector<StandardsFinding> CheckPoolStandards(const PoolProps& pool);

// One line for the log:
//   pool 'tank': compression is off, recommended lz4 (saves I/O and space);
//   zfs set compression=lz4 tank
std::string DescribeFinding(const std::string& pool, const StandardsFinding& finding);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_POOL_POOL_STANDARDS_H_
