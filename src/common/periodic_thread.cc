#include "common/periodic_thread.h"

#include <utility>

#include "absl/time/clock.h"

namespace mvirt::zfs {

PeriodicThread::PeriodicThread(absl::Duration interval, std::function<void()> tick, FirstTick first)
    : interval_(interval), tick_(std::move(tick)) {
  thread_ = std::thread([this, first] { Run(first); });
}

PeriodicThread::~PeriodicThread() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  stop_requested_.SignalAll();
  thread_.join();
}

void PeriodicThread::Run(FirstTick first) {
  absl::Time next = absl::Now();
  if (first == FirstTick::kAfterInterval) next += interval_;
  while (!WaitUntil(next)) {
    next = absl::Now() + interval_;
    tick_();
  }
}

bool PeriodicThread::WaitUntil(absl::Time until) {
  MutexLock lock(&mu_);
  while (!stop_ && absl::Now() < until) stop_requested_.WaitWithTimeout(&mu_, until - absl::Now());
  return stop_;
}

}  // namespace mvirt::zfs
