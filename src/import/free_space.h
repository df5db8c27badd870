// Room for the private copy of a qcow2 image: it is copied (or downloaded)
// into <state_dir>/tmp before qemu-img reads it, and must not fill that
// filesystem (the daemon's job records and other services live there too).
#ifndef MVIRT_ZFS_IMPORT_FREE_SPACE_H_
#define MVIRT_ZFS_IMPORT_FREE_SPACE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace mvirt::zfs {

// The space left free besides a copy on a filesystem of `total_bytes`: 5%
// of it, at most 1 GiB.
uint64_t FreeSpaceMargin(uint64_t total_bytes);

// OK if a copy of `bytes` fits in the `available_bytes` (to unprivileged
// users) of the filesystem of `total_bytes` holding `dir`, with the margin
// left over; RESOURCE_EXHAUSTED naming the figures otherwise. Pure.
absl::Status CheckRoomForCopy(const std::string& dir, uint64_t bytes, uint64_t available_bytes,
                              uint64_t total_bytes);

// CheckRoomForCopy with the figures statvfs gives for `dir` now
// (UNAVAILABLE if it cannot be asked).
absl::Status CheckFreeSpaceFor(const std::string& dir, uint64_t bytes);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_FREE_SPACE_H_
