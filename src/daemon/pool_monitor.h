// PoolMonitor: the served pool's health while the daemon runs. A thread of
// its own reads the pool every `interval` (Zfs::GetPool) and reports each
// change of ServingStateOf to the listener: the gRPC health service and the
// systemd status line follow it. The first reading is reported before the
// constructor returns.
#ifndef MVIRT_ZFS_DAEMON_POOL_MONITOR_H_
#define MVIRT_ZFS_DAEMON_POOL_MONITOR_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/periodic_thread.h"
#include "daemon/pool_check.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {

class PoolMonitor {
 public:
  // Called on the monitor's thread (the first time on the constructor's),
  // one call at a time, only when the state changed.
  using Listener = std::function<void(const PoolServingState& state)>;

  // `zfs` must outlive the monitor.
  PoolMonitor(Zfs& zfs, std::string pool, absl::Duration interval, Listener listener);
  // Stops the thread; no call of the listener is running or follows.
  ~PoolMonitor();
  PoolMonitor(const PoolMonitor&) = delete;
  PoolMonitor& operator=(const PoolMonitor&) = delete;

 private:
  // Reads the pool; tells the listener if its state changed.
  void CheckOnce();

  Zfs& zfs_;
  const std::string pool_;
  const Listener listener_;
  // The last state reported; only the monitor's thread uses it after start.
  std::optional<PoolServingState> last_;
  std::optional<PeriodicThread> thread_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DAEMON_POOL_MONITOR_H_
