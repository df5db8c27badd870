// CancelToken: a one-way "stop now" flag shared between the thread doing a
// long piece of work and the threads that may cancel it. Work polls
// cancelled() between steps; work that blocks (a child process) registers a
// callback that interrupts it. Thread-safe.
#ifndef MVIRT_ZFS_COMMON_CANCEL_TOKEN_H_
#define MVIRT_ZFS_COMMON_CANCEL_TOKEN_H_

#include <atomic>
#include <functional>
#include <list>

#include "common/mutex.h"

namespace mvirt::zfs {

class CancelToken {
 public:
  // Unregisters its callback when destroyed; after that it is never called.
  class Registration {
   public:
    Registration(CancelToken& token, std::function<void()> callback) : token_(token) {
      MutexLock lock(&token_.mu_);
      if (token_.cancelled_) {
        callback();  // already cancelled: interrupt at once
        registered_ = false;
        return;
      }
      it_ = token_.callbacks_.insert(token_.callbacks_.end(), std::move(callback));
    }
    ~Registration() {
      MutexLock lock(&token_.mu_);
      if (registered_) token_.callbacks_.erase(it_);
    }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    CancelToken& token_;
    bool registered_ = true;
    std::list<std::function<void()>>::iterator it_;
  };

  bool cancelled() const { return cancelled_.load(); }

  // Sets the flag and runs every registered callback (once). Idempotent.
  void Cancel() {
    MutexLock lock(&mu_);
    if (cancelled_.exchange(true)) return;
    for (auto& callback : callbacks_) callback();
  }

 private:
  Mutex mu_;
  std::atomic<bool> cancelled_{false};
  std::list<std::function<void()>> callbacks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_CANCEL_TOKEN_H_
