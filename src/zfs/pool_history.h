// Internal to src/zfs: Zfs::ReadPoolHistory through libzfs's
// zpool_get_history. Includes libzfs (libspl): include it after every
// C++/abseil header, as nvlist.h.
#ifndef MVIRT_ZFS_ZFS_POOL_HISTORY_H_
#define MVIRT_ZFS_ZFS_POOL_HISTORY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "zfs/zfs.h"

// libzfs last (its macros break abseil headers included after it).
#include <libzfs.h>

namespace mvirt::zfs::internal {

// Reads pool `pool`'s history log from `from` to its end with handle `h`
// (the caller's alone while this runs), keeping up to `max_events` events.
// Every internal record that names a
// dataset becomes an event (internal records of the old numeric format
// become events with no name, which a reader cannot interpret), every user
// command's record an event with `command` set; ioctl records and
// pool-level internal records are skipped.
// Records lost to the ring are detected by size: the offset advances by
// exactly the encoded size of the records returned unless the kernel moved
// a read that started before the log's oldest record. A position of
// another import of the pool (another load_guid) is never applied: the
// kernel does not check offsets, and one past the log's end would read
// from the middle of a record.
absl::StatusOr<PoolHistoryPage> ReadPoolHistoryWith(libzfs_handle_t* h, const std::string& pool,
                                                    const PoolHistoryPosition& from,
                                                    size_t max_events);

}  // namespace mvirt::zfs::internal

#endif  // MVIRT_ZFS_ZFS_POOL_HISTORY_H_
