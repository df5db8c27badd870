// CoalescedRead: answers requests for a fresh read of some state (all the
// volumes, all the templates) on a thread of its own, with as few reads as
// it can.
//
// Contract:
//  - every request is answered exactly once, by a read that started after
//    the request was made (so a caller that subscribed to changes before
//    requesting misses nothing between the two);
//  - all requests waiting when a read starts share that read: a hundred
//    watchers connecting at once cost one or two reads, not a hundred;
//  - Request never blocks on a read: callers on gRPC's callback threads
//    return at once;
//  - answers run on the reader's thread, without any lock of this class
//    held; they must not block for long (they only hand the result on);
//  - the destructor waits for a running read and its answers, then answers
//    the requests still waiting with UNAVAILABLE.
#ifndef MVIRT_ZFS_COMMON_COALESCED_READ_H_
#define MVIRT_ZFS_COMMON_COALESCED_READ_H_

#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"

namespace mvirt::zfs {

template <typename T>
class CoalescedRead {
 public:
  using Answer = std::function<void(const absl::StatusOr<T>&)>;

  explicit CoalescedRead(std::function<absl::StatusOr<T>()> read)
      : read_(std::move(read)), thread_([this] { Run(); }) {}

  ~CoalescedRead() {
    {
      MutexLock lock(&mu_);
      stopping_ = true;
    }
    wake_.Signal();
    thread_.join();
    std::vector<Answer> unanswered;
    {
      MutexLock lock(&mu_);
      unanswered.swap(waiting_);
    }
    const absl::StatusOr<T> gone = absl::UnavailableError("the daemon is shutting down");
    for (Answer& answer : unanswered) answer(gone);
  }

  CoalescedRead(const CoalescedRead&) = delete;
  CoalescedRead& operator=(const CoalescedRead&) = delete;

  void Request(Answer answer) {
    {
      MutexLock lock(&mu_);
      waiting_.push_back(std::move(answer));
    }
    wake_.Signal();
  }

 private:
  void Run() {
    for (;;) {
      std::vector<Answer> batch;
      {
        MutexLock lock(&mu_);
        while (!stopping_ && waiting_.empty()) wake_.Wait(&mu_);
        if (stopping_) return;
        batch.swap(waiting_);
      }
      // Every request of `batch` was made before this read starts.
      const absl::StatusOr<T> state = read_();
      for (Answer& answer : batch) answer(state);
    }
  }

  const std::function<absl::StatusOr<T>()> read_;
  Mutex mu_;
  CondVar wake_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Answer> waiting_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_COALESCED_READ_H_
