// KeyedMutex: one lock per key (e.g. per volume name), so operations on one
// name are serialized while different names proceed in parallel. Keys take
// no memory while unlocked. Thread-safe.
#ifndef MVIRT_ZFS_COMMON_KEYED_MUTEX_H_
#define MVIRT_ZFS_COMMON_KEYED_MUTEX_H_

#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"

namespace mvirt::zfs {

class KeyedMutex {
 public:
  // Holds one key until destroyed (or moved from).
  class Lock {
   public:
    Lock(Lock&& other) noexcept : owner_(other.owner_), key_(std::move(other.key_)) {
      other.owner_ = nullptr;
    }
    Lock& operator=(Lock&&) = delete;
    Lock(const Lock&) = delete;
    ~Lock();

   private:
    friend class KeyedMutex;
    Lock(KeyedMutex* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    KeyedMutex* owner_;
    std::string key_;
  };

  // Waits until `key` is free and takes it. While waiting it honours the
  // current thread's CallContext: DEADLINE_EXCEEDED or CANCELLED (holding
  // nothing) once the call's deadline passes or it is cancelled, also if
  // that happens just as the key becomes free, so that a late call does
  // nothing.
  absl::StatusOr<Lock> Acquire(const std::string& key);

  // Waits for `key` however long it takes, whatever the current call: for
  // work that must follow a change already made (publishing its event).
  Lock AcquireUninterruptible(const std::string& key);

 private:
  void Release(const std::string& key);

  Mutex mu_;
  CondVar released_;
  std::set<std::string> held_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_KEYED_MUTEX_H_
