// Broadcaster<T>: fan-out of events to many subscribers, each with its own
// bounded queue. Publish never blocks on a subscriber, so subscribers cannot
// slow the publishers down; a subscriber whose queue is full is marked
// overflowed and gets nothing more (the reader must then resubscribe, rather
// than silently miss events). Thread-safe.
#ifndef MVIRT_ZFS_COMMON_BROADCASTER_H_
#define MVIRT_ZFS_COMMON_BROADCASTER_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace mvirt::zfs {

template <typename T>
class Broadcaster {
 public:
  class Subscription {
   public:
    explicit Subscription(size_t capacity) : capacity_(capacity) {}

    // The next event, waiting up to `timeout`; nullopt on timeout, once
    // overflowed (check overflowed()) or once the broadcaster is closed
    // (check closed()).
    std::optional<T> Next(std::chrono::milliseconds timeout) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || overflowed_ || closed_; });
      if (overflowed_ || queue_.empty()) return std::nullopt;
      T event = std::move(queue_.front());
      queue_.pop_front();
      return event;
    }
    bool overflowed() const {
      std::lock_guard lock(mu_);
      return overflowed_;
    }
    bool closed() const {
      std::lock_guard lock(mu_);
      return closed_;
    }

   private:
    friend class Broadcaster;
    // Returns false once the subscription is overflowed (to be dropped).
    bool Push(const T& event) {
      std::lock_guard lock(mu_);
      if (overflowed_) return false;
      if (queue_.size() >= capacity_) {
        overflowed_ = true;
        queue_.clear();
      } else {
        queue_.push_back(event);
      }
      cv_.notify_one();
      return !overflowed_;
    }
    void Close() {
      std::lock_guard lock(mu_);
      closed_ = true;
      cv_.notify_one();
    }

    const size_t capacity_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<T> queue_;     // guarded by mu_
    bool overflowed_ = false;  // guarded by mu_
    bool closed_ = false;      // guarded by mu_
  };

  // A new subscription that receives every event published from now on, up
  // to `capacity` unread ones. It ends when the returned pointer is dropped.
  std::shared_ptr<Subscription> Subscribe(size_t capacity) {
    auto sub = std::make_shared<Subscription>(capacity);
    std::lock_guard lock(mu_);
    if (closed_) sub->Close();
    subscribers_.push_back(sub);
    return sub;
  }

  void Publish(const T& event) {
    std::lock_guard lock(mu_);
    std::vector<std::weak_ptr<Subscription>> alive;
    for (auto& weak : subscribers_) {
      if (auto sub = weak.lock(); sub && sub->Push(event)) alive.push_back(weak);
    }
    subscribers_.swap(alive);
  }

  // Ends every subscription (closed() becomes true), e.g. at shutdown.
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto& weak : subscribers_) {
      if (auto sub = weak.lock()) sub->Close();
    }
  }

  size_t subscriber_count() {
    std::lock_guard lock(mu_);
    return subscribers_.size();
  }

 private:
  std::mutex mu_;
  std::vector<std::weak_ptr<Subscription>> subscribers_;  // guarded by mu_
  bool closed_ = false;                                    // guarded by mu_
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_BROADCASTER_H_
