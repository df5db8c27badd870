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
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "common/serial_executor.h"

namespace mvirt::zfs {

template <typename T>
class CoalescedRead {
 public:
  using Answer = std::function<void(const absl::StatusOr<T>&)>;

  explicit CoalescedRead(std::function<absl::StatusOr<T>()> read) : read_(std::move(read)) {}

  // The reader then runs what is queued (a read not yet started), which
  // answers UNAVAILABLE instead of reading.
  ~CoalescedRead() {
    MutexLock lock(&mu_);
    stopping_ = true;
  }

  CoalescedRead(const CoalescedRead&) = delete;
  CoalescedRead& operator=(const CoalescedRead&) = delete;

  void Request(Answer answer) {
    {
      MutexLock lock(&mu_);
      waiting_.push_back(std::move(answer));
    }
    // A read queued and not yet started takes this request too (the
    // executor drops a second task of one key while the first waits).
    reader_.Submit("read", [this] { ReadForWaiting(); });
  }

 private:
  void ReadForWaiting() {
    std::vector<Answer> batch;
    bool stopping;
    {
      MutexLock lock(&mu_);
      batch.swap(waiting_);  // every one of them was made before this read starts
      stopping = stopping_;
    }
    if (batch.empty()) return;  // taken by the read before (queued while it started)
    const absl::StatusOr<T> state =
        stopping ? absl::UnavailableError("the daemon is shutting down") : read_();
    for (Answer& answer : batch) answer(state);
  }

  const std::function<absl::StatusOr<T>()> read_;
  Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Answer> waiting_ ABSL_GUARDED_BY(mu_);
  SerialExecutor reader_;  // last: stops (running what is queued) before the above go
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_COALESCED_READ_H_
