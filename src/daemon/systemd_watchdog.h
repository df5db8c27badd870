// SystemdWatchdog: systemd's service watchdog (WatchdogSec= in the unit).
// When systemd asks for pings (sd_watchdog_enabled: WATCHDOG_USEC, and
// WATCHDOG_PID naming this process if set), a thread of its own sends
// WATCHDOG=1 every half interval, but only after `alive` said yes within
// that half interval: a daemon whose serving loop hangs stops pinging and
// systemd restarts it. Without WatchdogSec= it does nothing.
#ifndef MVIRT_ZFS_DAEMON_SYSTEMD_WATCHDOG_H_
#define MVIRT_ZFS_DAEMON_SYSTEMD_WATCHDOG_H_

#include <functional>
#include <optional>

#include "absl/time/time.h"
#include "common/periodic_thread.h"

namespace mvirt::zfs {

class SystemdWatchdog {
 public:
  // Asks whether the daemon still serves; must return within `deadline`.
  using AliveCheck = std::function<bool(absl::Duration deadline)>;

  explicit SystemdWatchdog(AliveCheck alive);
  // Stops pinging; no check runs or follows.
  ~SystemdWatchdog();
  SystemdWatchdog(const SystemdWatchdog&) = delete;
  SystemdWatchdog& operator=(const SystemdWatchdog&) = delete;

  // The ping interval (half of WatchdogSec=), or zero if systemd asked for none.
  absl::Duration interval() const { return interval_; }

 private:
  // One ping, if the daemon answers.
  void Tick();

  const AliveCheck alive_;
  absl::Duration interval_;
  bool warned_ = false;  // only the ping thread uses it
  std::optional<PeriodicThread> thread_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DAEMON_SYSTEMD_WATCHDOG_H_
