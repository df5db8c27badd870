// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable_any
// behind the names and thread-safety annotations of Abseil's.
//
// Why not absl::Mutex: Debian's Abseil is not built with ThreadSanitizer, so
// absl::Mutex's lock and unlock run in uninstrumented code that TSan cannot
// see, and the TSan build would report every access guarded by one as a
// race. std::mutex goes through pthread, which TSan intercepts, so the TSan
// build checks the daemon's real locking. The annotations keep clang's
// -Wthread-safety analysis (ABSL_GUARDED_BY and friends) working.
#ifndef MVIRT_ZFS_COMMON_MUTEX_H_
#define MVIRT_ZFS_COMMON_MUTEX_H_

#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace mvirt::zfs {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // BasicLockable, for CondVar's std::condition_variable_any.
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Tells the compile-time analysis that the caller holds this Mutex when
  // it reached it by another name than the one it locked (an alias through
  // a shared object). Checks nothing at run time.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  std::mutex mu_;
};

// Holds a Mutex for its lifetime.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// Waits for a change made under a Mutex the caller holds; the Mutex is
// released while waiting and held again on return. Wakeups may be spurious:
// callers wait in a loop on their condition.
class CondVar {
 public:
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { cv_.wait(*mu); }
  // Returns true if `timeout` passed without a signal.
  bool WaitWithTimeout(Mutex* mu, absl::Duration timeout) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return cv_.wait_for(*mu, absl::ToChronoNanoseconds(timeout)) == std::cv_status::timeout;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable_any cv_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_MUTEX_H_
