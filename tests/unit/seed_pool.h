// A pool as the seed document describes it (ashift 12 on every vdev,
// autotrim, lz4, xattr=sa, atime=off), for the tests of the pool checks.
#ifndef MVIRT_ZFS_TESTS_UNIT_SEED_POOL_H_
#define MVIRT_ZFS_TESTS_UNIT_SEED_POOL_H_

#include "zfs/zfs.h"

namespace mvirt::zfs::testing {

inline PoolProps SeedPool() {
  PoolProps p;
  p.name = "vmpool";
  p.health = "ONLINE";
  p.ashift = 12;
  p.top_level_vdevs = {{"nvme0n1p2", 12, "ONLINE"}, {"nvme1n1", 12, "ONLINE"}};
  p.autotrim = true;
  p.compression = "lz4";
  p.xattr = "sa";
  p.atime = "off";
  return p;
}

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_UNIT_SEED_POOL_H_
