// FakeZvolDevices: an in-memory ZvolDevices for tests. Devices are a map of
// path -> the dataset BLKZNAME would name; tests make them appear, vanish,
// never become ready, stay behind, and set who holds them.
#ifndef MVIRT_ZFS_DEVICE_FAKE_ZVOL_DEVICES_H_
#define MVIRT_ZFS_DEVICE_FAKE_ZVOL_DEVICES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/mutex.h"
#include "device/zvol_devices.h"

namespace mvirt::zfs {

class FakeZvolDevices final : public ZvolDevices {
 public:
  enum class Mode {
    // udev as it usually is: a device waited for appears at once (naming the
    // dataset waited for), and one waited for to vanish is gone at once.
    kAutomatic,
    // Devices appear and vanish only when told (Appear, Disappear).
    kManual,
  };

  explicit FakeZvolDevices(Mode mode = Mode::kAutomatic) : mode_(mode) {}

  // `path` now links to the zvol of `dataset` (a different dataset than the
  // one waited for makes a stale link: not ready).
  void Appear(const std::string& path, const std::string& dataset);
  void Disappear(const std::string& path);
  bool IsPresent(const std::string& path) const;

  // While set, every WaitReady fails (DEADLINE_EXCEEDED) and every
  // WaitGone fails, whatever the mode.
  void SetNeverReady(bool never);
  void SetNeverGone(bool never);

  // What Holders(path) returns.
  void SetHolders(const std::string& path, std::vector<DeviceHolder> holders);
  // What InvalidateCache returns from now on (OK by default).
  void SetInvalidateResult(absl::Status status);

  // Every call so far, in order: "WaitReady <path>", "WaitGone <path>",
  // "Holders <path>", "InvalidateCache <path>".
  std::vector<std::string> calls() const;
  void ClearCalls();

  // As the real ones: the current call's deadline or cancellation ends a
  // wait with that status; a wait that fails takes its whole `timeout`.
  absl::Status WaitReady(const std::string& path, const std::string& dataset,
                         absl::Duration timeout) override;
  absl::Status WaitGone(const std::string& path, absl::Duration timeout) override;
  std::vector<DeviceHolder> Holders(const std::string& path) override;
  absl::Status InvalidateCache(const std::string& path) override;

 private:
  const Mode mode_;
  mutable Mutex mu_;
  std::map<std::string, std::string> present_ ABSL_GUARDED_BY(mu_);  // path -> dataset
  std::map<std::string, std::vector<DeviceHolder>> holders_ ABSL_GUARDED_BY(mu_);
  bool never_ready_ ABSL_GUARDED_BY(mu_) = false;
  bool never_gone_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status invalidate_result_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DEVICE_FAKE_ZVOL_DEVICES_H_
