// CallContext: the deadline and cancellation of the request the current
// thread is serving. The gRPC layer installs one (ScopedCallContext) around
// each call; the waits below it (per-name locks, device readiness) end early
// with DEADLINE_EXCEEDED or CANCELLED instead of outliving the caller.
// Code not serving a call (start-up, import jobs) has none and waits as long
// as its own bounds allow.
#ifndef MVIRT_ZFS_COMMON_CALL_CONTEXT_H_
#define MVIRT_ZFS_COMMON_CALL_CONTEXT_H_

#include <functional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mvirt::zfs {

struct CallContext {
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> cancelled;  // may be empty

  // The context of the current thread, or null.
  static const CallContext* Current() { return current_; }

  // OK while the current call (if any) may go on; else DEADLINE_EXCEEDED or
  // CANCELLED, saying that `waiting_for` was not done.
  static absl::Status Check(absl::string_view waiting_for) {
    const CallContext* call = current_;
    if (call == nullptr) return absl::OkStatus();
    if (call->cancelled && call->cancelled()) {
      return absl::CancelledError(
          absl::StrCat("the call was cancelled while waiting for ", waiting_for));
    }
    if (absl::Now() >= call->deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the call's deadline passed while waiting for ", waiting_for));
    }
    return absl::OkStatus();
  }

  // The current call's deadline (InfiniteFuture outside a call).
  static absl::Time Deadline() { return current_ ? current_->deadline : absl::InfiniteFuture(); }

 private:
  friend class ScopedCallContext;
  static inline thread_local const CallContext* current_ = nullptr;
};

// Makes `context` the current thread's CallContext for its lifetime.
class ScopedCallContext {
 public:
  explicit ScopedCallContext(CallContext context)
      : context_(std::move(context)), previous_(CallContext::current_) {
    CallContext::current_ = &context_;
  }
  ~ScopedCallContext() { CallContext::current_ = previous_; }
  ScopedCallContext(const ScopedCallContext&) = delete;
  ScopedCallContext& operator=(const ScopedCallContext&) = delete;

 private:
  const CallContext context_;
  const CallContext* const previous_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_CALL_CONTEXT_H_
