// WatchStream: one WatchVolumes/WatchTemplates call, served with gRPC's
// callback API so that no thread is ever blocked on a slow client.
//
// Contract with the client, in order of precedence:
//  - the current state (`initial`) first, then every event published after
//    the subscription was made, each as one message;
//  - the subscriber fell more than its buffer behind (the subscription
//    overflowed): the messages already handed to the transport are still
//    delivered, then the stream ends with RESOURCE_EXHAUSTED (whatever the
//    client's read speed, as long as it keeps reading);
//  - a message has waited for the client longer than the stall limit: the
//    call is cancelled (the client sees CANCELLED) by the StallWatchdog;
//  - the daemon shuts down (the broadcaster is closed): UNAVAILABLE;
//  - the client cancels or goes away: the stream ends quietly.
// Thread-safe: events arrive on publishing threads, completions on gRPC's.
#ifndef MVIRT_ZFS_SERVICE_WATCH_STREAM_H_
#define MVIRT_ZFS_SERVICE_WATCH_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "common/broadcaster.h"
#include "common/coalesced_read.h"
#include "common/mutex.h"
#include "service/convert.h"
#include "service/stall_watchdog.h"

namespace mvirt::zfs {

// Counts the open watch streams against --max-watchers.
class WatcherSlots {
 public:
  explicit WatcherSlots(size_t max) : max_(max) {}
  // Takes a slot; false (taking nothing) if all are in use.
  bool TryAcquire() {
    size_t now = used_.load();
    do {
      if (now >= max_) return false;
    } while (!used_.compare_exchange_weak(now, now + 1));
    return true;
  }
  void Release() { used_.fetch_sub(1); }
  size_t in_use() const { return used_.load(); }
  size_t max() const { return max_; }

 private:
  const size_t max_;
  std::atomic<size_t> used_{0};
};

// A server stream that ends at once with `status` (a refused call).
template <typename Proto>
class RefusedStream final : public grpc::ServerWriteReactor<Proto> {
 public:
  explicit RefusedStream(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

template <typename Info, typename Proto>
class WatchStream final : public grpc::ServerWriteReactor<Proto> {
 public:
  using Subscription = typename Broadcaster<Info>::Subscription;
  // The current state, read once and shared by every stream it starts (each
  // sends from it by position, so a hundred streams hold one copy).
  using SharedState = std::shared_ptr<const std::vector<Info>>;

  // Subscribes to `events`, then asks `current` for the current state (a
  // read that starts after the subscription, so that nothing falls between
  // the two; an object may arrive twice, each time in full) and returns at
  // once: the read runs on `current`'s thread, never on gRPC's, and the
  // stream starts when it is answered. Holds one of `slots` until done:
  // RESOURCE_EXHAUSTED at once if none is free. Ends with the read's error
  // if it fails. Returns the reactor for the gRPC handler to return.
  static grpc::ServerWriteReactor<Proto>* Start(grpc::CallbackServerContext* ctx,
                                                Broadcaster<Info>& events, size_t buffer,
                                                WatcherSlots& slots, StallWatchdog& watchdog,
                                                CoalescedRead<SharedState>& current) {
    if (!slots.TryAcquire()) {
      return new RefusedStream<Proto>(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("already ", slots.max(), " watch streams open (--max-watchers); ",
                       "close one or retry later")));
    }
    auto* stream = new WatchStream(ctx, buffer, slots, watchdog);
    std::shared_ptr<Core> core = stream->core_;
    stream->subscription_ = events.Subscribe(buffer, [core] {
      MutexLock lock(&core->mu);
      if (core->stream == nullptr) return;
      core->stream->core_->mu.AssertHeld();  // the same Core
      core->stream->PumpLocked();
    });
    current.Request([core](const absl::StatusOr<SharedState>& initial) {
      MutexLock lock(&core->mu);
      if (core->stream == nullptr) return;  // cancelled while waiting
      core->stream->core_->mu.AssertHeld();
      core->stream->StartLocked(initial);
    });
    stream->HandOver();  // to gRPC, which runs its callbacks on its threads
    return stream;
  }

  void OnWriteDone(bool ok) override {
    HandedOver();
    MutexLock lock(&core_->mu);
    writing_ = false;
    watch_.WriteFinished();
    if (!ok) {
      // Cancelled (by the client, or by the watchdog) or the client is gone.
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "watch stream cancelled"));
      return;
    }
    PumpLocked();
  }

  void OnCancel() override {
    HandedOver();
    MutexLock lock(&core_->mu);
    // A write in flight completes with ok=false and finishes the call there.
    if (!writing_)
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "watch stream cancelled"));
  }

  void OnDone() override {
    HandedOver();
    {
      MutexLock lock(&core_->mu);
      core_->stream = nullptr;  // the listener no longer reaches this object
    }
    subscription_.reset();
    slots_.Release();
    delete this;
  }

 private:
  // What the subscription's listener shares with the stream; it outlives the
  // stream, so a late notification finds `stream` null.
  struct Core {
    Mutex mu;
    WatchStream* stream ABSL_GUARDED_BY(mu) = nullptr;
  };

  WatchStream(grpc::CallbackServerContext* ctx, size_t buffer, WatcherSlots& slots,
              StallWatchdog& watchdog)
      : buffer_(buffer), slots_(slots), watch_(watchdog, ctx), core_(std::make_shared<Core>()) {
    core_->stream = this;
  }

  // The current state has been read: send it, then the events.
  void StartLocked(const absl::StatusOr<SharedState>& initial)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(core_->mu) {
    if (!initial.ok()) {
      FinishLocked(ToGrpcStatus(initial.status()));
      return;
    }
    if (!(*initial)->empty()) initial_ = *initial;
    started_ = true;
    PumpLocked();
  }

  // Sends what is next, if nothing is in flight.
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(core_->mu) {
    if (!started_ || finished_ || writing_) return;
    if (subscription_->overflowed()) {
      FinishLocked(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("watch fell more than ", buffer_,
                       " events behind and was disconnected; resubscribe to receive the "
                       "current state")));
      return;
    }
    pending_.Clear();
    if (initial_ != nullptr) {
      ToProto((*initial_)[sent_of_initial_++], &pending_);
      if (sent_of_initial_ == initial_->size()) initial_.reset();  // the last stream frees it
    } else if (std::optional<Info> next = subscription_->Next(); next.has_value()) {
      ToProto(*next, &pending_);
    } else {
      if (subscription_->closed()) {
        FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "mvirt-zfs is shutting down"));
      }
      return;
    }
    writing_ = true;
    watch_.WriteStarted();
    HandOver();
    this->StartWrite(&pending_);
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(core_->mu) {
    if (finished_) return;
    finished_ = true;
    HandOver();
    this->Finish(status);
  }

  const size_t buffer_;
  WatcherSlots& slots_;
  StallWatchdog::Watch watch_;
  const std::shared_ptr<Core> core_;
  // The ordering libgrpc gives between the thread that starts an operation
  // (this stream's constructor on a gRPC thread, the reader of the current
  // state, a publishing thread) and the gRPC thread that runs its callback,
  // made visible to ThreadSanitizer: Debian's libgrpc is not instrumented,
  // so the hand-over through its completion queue is invisible to it.
  std::atomic<int> handoffs_{0};
  void HandOver() { handoffs_.fetch_add(1, std::memory_order_release); }
  void HandedOver() { handoffs_.load(std::memory_order_acquire); }
  std::shared_ptr<Subscription> subscription_;  // set once in Start
  SharedState initial_ ABSL_GUARDED_BY(core_->mu);
  size_t sent_of_initial_ ABSL_GUARDED_BY(core_->mu) = 0;
  // The message in flight; gRPC reads it until OnWriteDone.
  Proto pending_ ABSL_GUARDED_BY(core_->mu);
  bool started_ ABSL_GUARDED_BY(core_->mu) = false;
  bool writing_ ABSL_GUARDED_BY(core_->mu) = false;
  bool finished_ ABSL_GUARDED_BY(core_->mu) = false;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_SERVICE_WATCH_STREAM_H_
