#include "device/zvol_devices.h"

namespace mvirt::zfs {

LinuxZvolDevices& LinuxZvolDevices::Get() {
  static LinuxZvolDevices* const devices = new LinuxZvolDevices();  // never destroyed
  return *devices;
}

absl::Status LinuxZvolDevices::WaitReady(const std::string& path, const std::string& dataset,
                                         absl::Duration timeout) {
  return WaitForZvolDevice(path, dataset, timeout);
}

absl::Status LinuxZvolDevices::WaitGone(const std::string& path, absl::Duration timeout) {
  return WaitForDeviceGone(path, timeout);
}

std::vector<DeviceHolder> LinuxZvolDevices::Holders(const std::string& path) {
  return FindDeviceHolders(path);
}

absl::Status LinuxZvolDevices::InvalidateCache(const std::string& path) {
  return InvalidateDeviceCache(path);
}

}  // namespace mvirt::zfs
