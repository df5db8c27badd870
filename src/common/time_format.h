#ifndef MVIRT_ZFS_COMMON_TIME_FORMAT_H_
#define MVIRT_ZFS_COMMON_TIME_FORMAT_H_

#include <cstdint>
#include <string>

namespace mvirt::zfs {

// "2026-11-25T13:25:21Z": RFC 3339, UTC, whole seconds.
std::string FormatRfc3339(int64_t unix_seconds);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_TIME_FORMAT_H_
