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
  thread_.emplace(interval_, [this] { Tick(); });
}

SystemdWatchdog::~SystemdWatchdog() { thread_.reset(); }

void SystemdWatchdog::Tick() {
  if (alive_(interval_)) {
    sd_notify(0, "WATCHDOG=1");
    warned_ = false;
  } else if (!warned_) {
    LogWarning("systemd watchdog: the gRPC server did not answer within ",
               absl::FormatDuration(interval_), "; not pinging");
    warned_ = true;
  }
}

}  // namespace mvirt::zfs
