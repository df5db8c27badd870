// SystemdStatus: the STATUS= line `systemctl status mvirt-zfs` shows, e.g.
//   pool vmpool: ONLINE, 12 volumes
// The pool's state comes from the pool monitor (SetPoolState, sent at
// once, without a count); the volume count is read on a thread of its own
// at start, after the state changed and after volumes were created or
// deleted (volume events), at most once per `interval`; a count that
// failed is tried again. A line is sent only when it changed. Without
// NOTIFY_SOCKET (not under systemd) nothing is sent.
#ifndef MVIRT_ZFS_DAEMON_SYSTEMD_STATUS_H_
#define MVIRT_ZFS_DAEMON_SYSTEMD_STATUS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/broadcaster.h"
#include "common/mutex.h"
#include "common/periodic_thread.h"
#include "volume/volume_types.h"

namespace mvirt::zfs {

// "pool vmpool: ONLINE, 12 volumes" ("1 volume"; without a count when it
// could not be read).
std::string StatusLine(const std::string& pool, const std::string& state,
                       std::optional<uint64_t> volumes);

class SystemdStatus {
 public:
  // Reads how many volumes the daemon manages (an error when the pool
  // cannot be read).
  using CountVolumes = std::function<absl::StatusOr<uint64_t>()>;

  // `events` must outlive this object.
  SystemdStatus(std::string pool, CountVolumes count, Broadcaster<VolumeEventInfo>& events,
                absl::Duration interval);
  ~SystemdStatus();

  void SetPoolState(const std::string& state);

 private:
  void Subscribe();
  void Recount();
  void SendIfChanged() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string pool_;
  const CountVolumes count_;
  Broadcaster<VolumeEventInfo>& events_;
  std::shared_ptr<Broadcaster<VolumeEventInfo>::Subscription> subscription_;
  // Volumes may have come or gone since the last count. Shared with the
  // subscription's listener, which may still run on a publishing thread
  // while this object goes.
  const std::shared_ptr<std::atomic<bool>> changed_ = std::make_shared<std::atomic<bool>>(true);
  Mutex mu_;
  std::string state_ ABSL_GUARDED_BY(mu_);
  std::optional<uint64_t> volumes_ ABSL_GUARDED_BY(mu_);
  std::string sent_ ABSL_GUARDED_BY(mu_);
  std::optional<PeriodicThread> thread_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DAEMON_SYSTEMD_STATUS_H_
