// BoundedQueue<T>: a FIFO that never blocks who puts into it: TryPush fails
// when it holds `capacity` items (the caller counts the drop). One consumer
// takes items in batches, waiting for the first. Thread-safe.
#ifndef MVIRT_ZFS_AUDIT_BOUNDED_QUEUE_H_
#define MVIRT_ZFS_AUDIT_BOUNDED_QUEUE_H_

#include <deque>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace mvirt::zfs {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  // False if the queue is full or closed.
  bool TryPush(T item) {
    {
      MutexLock lock(&mu_);
      if (closed_ || items_.size() >= capacity_) return false;
      items_.push_back(std::move(item));
    }
    ready_.Signal();
    return true;
  }

  // Puts `items` back at the front, in order (a batch to retry); what does
  // not fit is dropped from their end. Returns how many were dropped.
  size_t PushFront(std::vector<T> items) {
    MutexLock lock(&mu_);
    size_t dropped = 0;
    while (!items.empty() && items_.size() >= capacity_) {
      items.pop_back();
      ++dropped;
    }
    for (auto it = items.rbegin(); it != items.rend(); ++it) {
      if (items_.size() >= capacity_) {
        ++dropped;
        continue;
      }
      items_.push_front(std::move(*it));
    }
    return dropped;
  }

  // Up to `max` items, oldest first; waits until there is one, the queue
  // is closed or `until` passes (then the result may be empty).
  std::vector<T> PopUpTo(size_t max, absl::Time until) {
    MutexLock lock(&mu_);
    while (items_.empty() && !closed_ && absl::Now() < until) {
      ready_.WaitWithTimeout(&mu_, until - absl::Now());
    }
    std::vector<T> out;
    while (!items_.empty() && out.size() < max) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    return out;
  }

  // Refuses new items and wakes the consumer; what is queued stays.
  void Close() {
    {
      MutexLock lock(&mu_);
      closed_ = true;
    }
    ready_.SignalAll();
  }

  bool closed() const {
    MutexLock lock(&mu_);
    return closed_;
  }
  // Waits until the queue is closed (true) or `until` passes (false): a
  // consumer's pause that a Close() ends at once.
  bool WaitClosed(absl::Time until) {
    MutexLock lock(&mu_);
    while (!closed_ && absl::Now() < until) ready_.WaitWithTimeout(&mu_, until - absl::Now());
    return closed_;
  }
  size_t size() const {
    MutexLock lock(&mu_);
    return items_.size();
  }

 private:
  const size_t capacity_;
  mutable Mutex mu_;
  CondVar ready_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_AUDIT_BOUNDED_QUEUE_H_
