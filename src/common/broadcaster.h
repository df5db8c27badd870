// Broadcaster<T>: fan-out of events to many subscribers, each with its own
// bounded queue. Publish never blocks on a subscriber, so subscribers cannot
// slow the publishers down; a subscriber whose queue is full is marked
// overflowed and gets nothing more (the reader must then resubscribe, rather
// than silently miss events). Thread-safe.
//
// Readers are woken by a listener, not by blocking: each subscription has a
// callback that runs whenever it may have something new (an event, the
// overflow, the close). It runs on the publishing thread, after the event is
// queued and with no lock of the Broadcaster held, so it may call Next().
#ifndef MVIRT_ZFS_COMMON_BROADCASTER_H_
#define MVIRT_ZFS_COMMON_BROADCASTER_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace mvirt::zfs {

template <typename T>
class Broadcaster {
 public:
  using Listener = std::function<void()>;

  class Subscription {
   public:
    Subscription(size_t capacity, Listener listener)
        : capacity_(capacity), listener_(std::move(listener)) {}

    // The oldest unread event, or nullopt if there is none (or the
    // subscription overflowed: check overflowed()). Never blocks.
    std::optional<T> Next() {
      MutexLock lock(&mu_);
      if (overflowed_ || queue_.empty()) return std::nullopt;
      T event = std::move(queue_.front());
      queue_.pop_front();
      return event;
    }
    bool overflowed() const {
      MutexLock lock(&mu_);
      return overflowed_;
    }
    bool closed() const {
      MutexLock lock(&mu_);
      return closed_;
    }

   private:
    friend class Broadcaster;
    // Queues `event`; returns false once the subscription is overflowed (to
    // be dropped). Does not call the listener.
    bool Push(const T& event) {
      MutexLock lock(&mu_);
      if (overflowed_) return false;
      if (queue_.size() >= capacity_) {
        overflowed_ = true;
        queue_.clear();
        return false;
      }
      queue_.push_back(event);
      return true;
    }
    void MarkClosed() {
      MutexLock lock(&mu_);
      closed_ = true;
    }
    void Notify() {
      if (listener_) listener_();
    }

    const size_t capacity_;
    const Listener listener_;
    mutable Mutex mu_;
    std::deque<T> queue_ ABSL_GUARDED_BY(mu_);
    bool overflowed_ ABSL_GUARDED_BY(mu_) = false;
    bool closed_ ABSL_GUARDED_BY(mu_) = false;
  };

  // A new subscription that receives every event published from now on, up
  // to `capacity` unread ones; `listener` (may be empty) is called as
  // described above. It ends when the returned pointer is dropped.
  std::shared_ptr<Subscription> Subscribe(size_t capacity, Listener listener = nullptr) {
    auto sub = std::make_shared<Subscription>(capacity, std::move(listener));
    bool closed;
    {
      MutexLock lock(&mu_);
      closed = closed_;
      if (!closed) subscribers_.push_back(sub);
    }
    if (closed) sub->MarkClosed();
    return sub;
  }

  void Publish(const T& event) {
    std::vector<std::shared_ptr<Subscription>> to_notify;
    {
      // Queued under the lock, so every subscriber sees events in the order
      // they were published.
      MutexLock lock(&mu_);
      std::vector<std::weak_ptr<Subscription>> alive;
      for (auto& weak : subscribers_) {
        std::shared_ptr<Subscription> sub = weak.lock();
        if (!sub) continue;
        if (sub->Push(event)) alive.push_back(weak);
        to_notify.push_back(std::move(sub));  // an event, or the overflow
      }
      subscribers_.swap(alive);
    }
    for (auto& sub : to_notify) sub->Notify();
  }

  // Ends every subscription (closed() becomes true), e.g. at shutdown.
  void Close() {
    std::vector<std::shared_ptr<Subscription>> to_notify;
    {
      MutexLock lock(&mu_);
      closed_ = true;
      for (auto& weak : subscribers_) {
        if (auto sub = weak.lock()) to_notify.push_back(std::move(sub));
      }
      subscribers_.clear();
    }
    for (auto& sub : to_notify) {
      sub->MarkClosed();
      sub->Notify();
    }
  }

  size_t subscriber_count() {
    MutexLock lock(&mu_);
    return subscribers_.size();
  }

 private:
  Mutex mu_;
  std::vector<std::weak_ptr<Subscription>> subscribers_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_BROADCASTER_H_
