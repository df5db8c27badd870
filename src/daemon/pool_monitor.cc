#include "daemon/pool_monitor.h"

#include <utility>

namespace mvirt::zfs {

PoolMonitor::PoolMonitor(Zfs& zfs, std::string pool, absl::Duration interval, Listener listener)
    : zfs_(zfs), pool_(std::move(pool)), listener_(std::move(listener)) {
  CheckOnce();
  thread_.emplace(
      interval, [this] { CheckOnce(); }, PeriodicThread::FirstTick::kAfterInterval);
}

PoolMonitor::~PoolMonitor() { thread_.reset(); }

void PoolMonitor::CheckOnce() {
  PoolServingState state = ServingStateOf(zfs_.GetPool(pool_));
  if (state == last_) return;
  last_ = state;
  listener_(state);
}

}  // namespace mvirt::zfs
