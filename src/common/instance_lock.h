// InstanceLock: one daemon per pool and per listen address. An exclusive
// flock(2) on a file under /run/lock, held for the process's lifetime (the
// kernel drops it when the process dies, however it dies), with the holder's
// pid written in it so that a second instance can name the first.
#ifndef MVIRT_ZFS_COMMON_INSTANCE_LOCK_H_
#define MVIRT_ZFS_COMMON_INSTANCE_LOCK_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace mvirt::zfs {

inline constexpr char kLockDir[] = "/run/lock/mvirt-zfs";

class InstanceLock {
 public:
  // Takes the lock named `what` ("pool 'vmpool'") in file `path` (its
  // directory is created). FAILED_PRECONDITION naming the holder's pid if
  // another process holds it; never waits.
  static absl::StatusOr<InstanceLock> Acquire(const std::string& path, const std::string& what);

  // The lock file for `key` ("pool-vmpool", "listen-[::1]:50053"): every
  // character outside [A-Za-z0-9._-] becomes '_'.
  static std::string PathFor(const std::string& key);

 private:
  explicit InstanceLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_INSTANCE_LOCK_H_
