#include "daemon/pool_monitor.h"

#include "absl/time/clock.h"

namespace mvirt::zfs {

PoolMonitor::PoolMonitor(Zfs& zfs, std::string pool, absl::Duration interval, Listener listener)
    : zfs_(zfs), pool_(std::move(pool)), interval_(interval), listener_(std::move(listener)) {
  CheckOnce();
  thread_ = std::thread([this] { Run(); });
}

PoolMonitor::~PoolMonitor() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  stop_requested_.SignalAll();
  thread_.join();
}

void PoolMonitor::CheckOnce() {
  PoolServingState state = ServingStateOf(zfs_.GetPool(pool_));
  if (state == last_) return;
  last_ = state;
  listener_(state);
}

void PoolMonitor::Run() {
  while (!WaitForStop(interval_)) CheckOnce();
}

bool PoolMonitor::WaitForStop(absl::Duration timeout) {
  MutexLock lock(&mu_);
  const absl::Time end = absl::Now() + timeout;
  while (!stop_ && absl::Now() < end) stop_requested_.WaitWithTimeout(&mu_, end - absl::Now());
  return stop_;
}

}  // namespace mvirt::zfs
