// `mvirt-zfs pool init --pool NAME DEVICE...`: creates the pool the seed
// document prescribes (ashift=12, autotrim=on; root dataset compression=lz4,
// xattr=sa, atime=off), striped over the devices or files as given (no
// partition table is written), after showing the plan and reading "yes"
// from stdin (--yes for scripts). Refuses a device that is mounted, swap,
// held by dm/md/LVM, a vdev of an imported pool, smaller than 64 MiB or
// missing; and, unless --force, one carrying a filesystem, partition table
// or another pool's ZFS label. Afterwards reads the pool back and checks it
// against the standards.
#ifndef MVIRT_ZFS_POOL_POOL_INIT_COMMAND_H_
#define MVIRT_ZFS_POOL_POOL_INIT_COMMAND_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace mvirt::zfs {

// `args` are the words after "mvirt-zfs" ("pool", "init", ...). Exit code:
// 0 created (or help shown), 1 refused, not confirmed or failed, 2 usage.
int RunPoolCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_POOL_POOL_INIT_COMMAND_H_
