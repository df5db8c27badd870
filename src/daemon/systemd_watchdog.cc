#include "daemon/systemd_watchdog.h"

#include <systemd/sd-daemon.h>

#include <cstdint>

#include "absl/time/clock.h"
#include "common/log.h"

namespace mvirt::zfs {

SystemdWatchdog::SystemdWatchdog(AliveCheck alive) : alive_(std::move(alive)) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(/*unset_environment=*/0, &usec) <= 0 || usec == 0) return;
  interval_ = absl::Microseconds(usec) / 2;
  LogInfo("systemd watchdog: pinging every ", absl::FormatDuration(interval_),
          " while the gRPC server answers");
  thread_ = std::thread([this] { Run(); });
}

SystemdWatchdog::~SystemdWatchdog() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  stop_requested_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

void SystemdWatchdog::Run() {
  bool warned = false;
  while (true) {
    const absl::Time next = absl::Now() + interval_;
    if (alive_(interval_)) {
      sd_notify(0, "WATCHDOG=1");
      warned = false;
    } else if (!warned) {
      LogWarning("systemd watchdog: the gRPC server did not answer within ",
                 absl::FormatDuration(interval_), "; not pinging");
      warned = true;
    }
    MutexLock lock(&mu_);
    while (!stop_ && absl::Now() < next) stop_requested_.WaitWithTimeout(&mu_, next - absl::Now());
    if (stop_) return;
  }
}

}  // namespace mvirt::zfs
