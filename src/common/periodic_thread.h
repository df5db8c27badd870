// PeriodicThread: runs `tick` on a thread of its own, again and again, one
// `interval` from the start of one run to the start of the next (a run
// longer than that is followed at once by the next), until destroyed. The
// destructor waits for a running tick to return; none starts after it.
#ifndef MVIRT_ZFS_COMMON_PERIODIC_THREAD_H_
#define MVIRT_ZFS_COMMON_PERIODIC_THREAD_H_

#include <functional>
#include <thread>

#include "absl/time/time.h"
#include "common/mutex.h"

namespace mvirt::zfs {

class PeriodicThread {
 public:
  enum class FirstTick { kAtOnce, kAfterInterval };

  PeriodicThread(absl::Duration interval, std::function<void()> tick,
                 FirstTick first = FirstTick::kAtOnce);
  ~PeriodicThread();
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

 private:
  void Run(FirstTick first);
  // Waits until `until` or the stop request; true if stopping.
  bool WaitUntil(absl::Time until);

  const absl::Duration interval_;
  const std::function<void()> tick_;
  Mutex mu_;
  CondVar stop_requested_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_PERIODIC_THREAD_H_
