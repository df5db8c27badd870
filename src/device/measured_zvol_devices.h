// MeasuredZvolDevices: a ZvolDevices that forwards to another and reports
// how long each wait took (WaitReady as "ready", WaitGone as "gone"),
// whatever its outcome: the daemon's device-wait metric.
#ifndef MVIRT_ZFS_DEVICE_MEASURED_ZVOL_DEVICES_H_
#define MVIRT_ZFS_DEVICE_MEASURED_ZVOL_DEVICES_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "device/zvol_devices.h"

namespace mvirt::zfs {

class MeasuredZvolDevices final : public ZvolDevices {
 public:
  // Called after every wait, on the waiting thread.
  using Observer = std::function<void(absl::string_view op, absl::Duration waited)>;

  // `inner` must outlive this.
  MeasuredZvolDevices(ZvolDevices& inner, Observer observer)
      : inner_(inner), observer_(std::move(observer)) {}

  absl::Status WaitReady(const std::string& path, const std::string& dataset,
                         absl::Duration timeout) override {
    const absl::Time start = absl::Now();
    absl::Status s = inner_.WaitReady(path, dataset, timeout);
    observer_("ready", absl::Now() - start);
    return s;
  }
  absl::Status WaitGone(const std::string& path, absl::Duration timeout) override {
    const absl::Time start = absl::Now();
    absl::Status s = inner_.WaitGone(path, timeout);
    observer_("gone", absl::Now() - start);
    return s;
  }
  std::vector<DeviceHolder> Holders(const std::string& path) override {
    return inner_.Holders(path);
  }
  absl::Status InvalidateCache(const std::string& path) override {
    return inner_.InvalidateCache(path);
  }

 private:
  ZvolDevices& inner_;
  const Observer observer_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DEVICE_MEASURED_ZVOL_DEVICES_H_
