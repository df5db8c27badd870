#include "service/stall_watchdog.h"

#include "absl/time/clock.h"
#include "common/log.h"

namespace mvirt::zfs {

StallWatchdog::StallWatchdog(absl::Duration limit) : limit_(limit), thread_([this] { Loop(); }) {}

StallWatchdog::~StallWatchdog() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  stop_cv_.SignalAll();
  thread_.join();
}

void StallWatchdog::Loop() {
  MutexLock lock(&mu_);
  while (!stop_) {
    stop_cv_.WaitWithTimeout(&mu_, absl::Seconds(1));  // a scan a second
    if (stop_) break;
    const absl::Time now = absl::Now();
    for (Entry& entry : entries_) {
      if (entry.cancelled || now - entry.write_started < limit_) continue;
      LogWarning("watch subscriber ", entry.context->peer(), " has not read for ",
                 absl::FormatDuration(limit_), "; disconnecting it");
      entry.context->TryCancel();  // the Watch is still alive: mu_ is held
      entry.cancelled = true;
    }
  }
}

StallWatchdog::Watch::Watch(StallWatchdog& watchdog, grpc::ServerContextBase* context)
    : watchdog_(watchdog) {
  MutexLock lock(&watchdog_.mu_);
  entry_ = watchdog_.entries_.insert(watchdog_.entries_.end(), Entry{context});
}

StallWatchdog::Watch::~Watch() {
  MutexLock lock(&watchdog_.mu_);
  watchdog_.entries_.erase(entry_);
}

void StallWatchdog::Watch::WriteStarted() {
  MutexLock lock(&watchdog_.mu_);
  entry_->write_started = absl::Now();
}

void StallWatchdog::Watch::WriteFinished() {
  MutexLock lock(&watchdog_.mu_);
  entry_->write_started = absl::InfiniteFuture();
}

}  // namespace mvirt::zfs
