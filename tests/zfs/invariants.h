// The invariants of a pool the daemon manages, checked the way an operator
// would (zfs list, device nodes, ListVolumes): shared by the crash-torture
// and the concurrency suites.
#ifndef MVIRT_ZFS_TESTS_ZFS_INVARIANTS_H_
#define MVIRT_ZFS_TESTS_ZFS_INVARIANTS_H_

#include <string>
#include <vector>

#include "zfs_test_env.h"

namespace mvirt::zfs::testing {

// Every violation, as text (empty if none):
//  - nothing half-made under <pool>/.mvirt/creating, incoming or imports,
//    and nothing complete left under receiving (only receives cut short);
//  - every zvol directly in the pool that carries mvirt:id also carries
//    mvirt:kind=volume, except `unmanaged` ones (the test's own, e.g. a
//    sentinel); one without mvirt:id is not the daemon's (made by hand, or
//    released);
//  - every template has its marks and its @template snapshot;
//  - every volume ListVolumes reports has a device whose BLKZNAME names it;
//  - no temporary files in the daemon's state dir.
std::vector<std::string> PoolViolations(const std::string& pool, ZfsService::Stub& stub,
                                        const std::vector<std::string>& unmanaged = {});

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_ZFS_INVARIANTS_H_
