#include "common/keyed_mutex.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/call_context.h"

namespace mvirt::zfs {
namespace {
// How often a waiter looks at its call's cancellation (which has no wakeup).
constexpr absl::Duration kCancelPoll = absl::Milliseconds(50);
}  // namespace

absl::StatusOr<KeyedMutex::Lock> KeyedMutex::Acquire(const std::string& key) {
  const std::string waiting_for = absl::StrCat("another operation on '", key, "' to finish");
  MutexLock lock(&mu_);
  while (held_.count(key) > 0) {
    if (absl::Status s = CallContext::Check(waiting_for); !s.ok()) return s;
    absl::Duration wait = std::min(kCancelPoll, CallContext::Deadline() - absl::Now());
    released_.WaitWithTimeout(&mu_, std::max(wait, absl::ZeroDuration()));
  }
  if (absl::Status s = CallContext::Check(waiting_for); !s.ok()) return s;
  held_.insert(key);
  return Lock(this, key);
}

KeyedMutex::Lock KeyedMutex::AcquireUninterruptible(const std::string& key) {
  MutexLock lock(&mu_);
  while (held_.count(key) > 0) released_.Wait(&mu_);
  held_.insert(key);
  return Lock(this, key);
}

void KeyedMutex::Release(const std::string& key) {
  MutexLock lock(&mu_);
  held_.erase(key);
  released_.SignalAll();
}

KeyedMutex::Lock::~Lock() {
  if (owner_ != nullptr) owner_->Release(key_);
}

}  // namespace mvirt::zfs
