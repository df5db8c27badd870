#include "service/stall_watchdog.h"

#include "absl/time/clock.h"
#include "common/log.h"

namespace mvirt::zfs {

StallWatchdog::StallWatchdog(absl::Duration limit) : limit_(limit), thread_([this] { Loop(); }) {}

StallWatchdog::~StallWatchdog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void StallWatchdog::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; })) {
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
  std::lock_guard lock(watchdog_.mu_);
  entry_ = watchdog_.entries_.insert(watchdog_.entries_.end(), Entry{context});
}

StallWatchdog::Watch::~Watch() {
  std::lock_guard lock(watchdog_.mu_);
  watchdog_.entries_.erase(entry_);
}

void StallWatchdog::Watch::WriteStarted() {
  std::lock_guard lock(watchdog_.mu_);
  entry_->write_started = absl::Now();
}

void StallWatchdog::Watch::WriteFinished() {
  std::lock_guard lock(watchdog_.mu_);
  entry_->write_started = absl::InfiniteFuture();
}

}  // namespace mvirt::zfs
