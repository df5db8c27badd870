#include "device/fake_zvol_devices.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/call_context.h"

namespace mvirt::zfs {

void FakeZvolDevices::Appear(const std::string& path, const std::string& dataset) {
  MutexLock lock(&mu_);
  present_[path] = dataset;
}

void FakeZvolDevices::Disappear(const std::string& path) {
  MutexLock lock(&mu_);
  present_.erase(path);
}

bool FakeZvolDevices::IsPresent(const std::string& path) const {
  MutexLock lock(&mu_);
  return present_.count(path) > 0;
}

void FakeZvolDevices::SetNeverReady(bool never) {
  MutexLock lock(&mu_);
  never_ready_ = never;
}

void FakeZvolDevices::SetNeverGone(bool never) {
  MutexLock lock(&mu_);
  never_gone_ = never;
}

void FakeZvolDevices::SetHolders(const std::string& path, std::vector<DeviceHolder> holders) {
  MutexLock lock(&mu_);
  holders_[path] = std::move(holders);
}

void FakeZvolDevices::SetInvalidateResult(absl::Status status) {
  MutexLock lock(&mu_);
  invalidate_result_ = std::move(status);
}

std::vector<std::string> FakeZvolDevices::calls() const {
  MutexLock lock(&mu_);
  return calls_;
}

void FakeZvolDevices::ClearCalls() {
  MutexLock lock(&mu_);
  calls_.clear();
}

absl::Status FakeZvolDevices::WaitReady(const std::string& path, const std::string& dataset,
                                        absl::Duration timeout) {
  std::string reason = "link not created yet";
  {
    MutexLock lock(&mu_);
    calls_.push_back(absl::StrCat("WaitReady ", path));
    if (!never_ready_ && mode_ == Mode::kAutomatic) present_[path] = dataset;
    auto it = present_.find(path);
    if (!never_ready_ && it != present_.end()) {
      if (it->second == dataset) return absl::OkStatus();
      reason = absl::StrCat("link points at the zvol of '", it->second, "' (stale link)");
    }
  }
  if (absl::Status s = CallContext::Check(absl::StrCat("device ", path)); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(s.message(), "; the volume exists, retry the call"));
  }
  absl::SleepFor(timeout);
  return absl::DeadlineExceededError(absl::StrCat(
      "device ", path, " for '", dataset, "' not ready after ", absl::FormatDuration(timeout), " (",
      reason, "); the volume exists, retry the call"));
}

absl::Status FakeZvolDevices::WaitGone(const std::string& path, absl::Duration timeout) {
  {
    MutexLock lock(&mu_);
    calls_.push_back(absl::StrCat("WaitGone ", path));
    if (!never_gone_ && mode_ == Mode::kAutomatic) present_.erase(path);
    if (!never_gone_ && present_.count(path) == 0) return absl::OkStatus();
  }
  if (absl::Status s = CallContext::Check(absl::StrCat("device link ", path, " to vanish"));
      !s.ok()) {
    return s;
  }
  absl::SleepFor(timeout);
  return absl::DeadlineExceededError(
      absl::StrCat("device link ", path, " still present after ", absl::FormatDuration(timeout)));
}

std::vector<DeviceHolder> FakeZvolDevices::Holders(const std::string& path) {
  MutexLock lock(&mu_);
  calls_.push_back(absl::StrCat("Holders ", path));
  auto it = holders_.find(path);
  return it == holders_.end() ? std::vector<DeviceHolder>{} : it->second;
}

absl::Status FakeZvolDevices::InvalidateCache(const std::string& path) {
  MutexLock lock(&mu_);
  calls_.push_back(absl::StrCat("InvalidateCache ", path));
  return invalidate_result_;
}

}  // namespace mvirt::zfs
