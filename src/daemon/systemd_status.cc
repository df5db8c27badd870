#include "daemon/systemd_status.h"

#include <systemd/sd-daemon.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace mvirt::zfs {
namespace {

// Unread events the subscription holds between two counts; it only tells
// that something changed, so an overflow just means "count again".
constexpr size_t kEventCapacity = 1024;

}  // namespace

std::string StatusLine(const std::string& pool, const std::string& state,
                       std::optional<uint64_t> volumes) {
  std::string line = absl::StrCat("pool ", pool, ": ", state);
  if (volumes.has_value()) {
    absl::StrAppend(&line, ", ", *volumes, *volumes == 1 ? " volume" : " volumes");
  }
  return line;
}

SystemdStatus::SystemdStatus(std::string pool, CountVolumes count,
                             Broadcaster<VolumeEventInfo>& events, absl::Duration interval)
    : pool_(std::move(pool)), count_(std::move(count)), events_(events) {
  Subscribe();
  thread_.emplace(interval, [this] { Recount(); });
}

SystemdStatus::~SystemdStatus() { thread_.reset(); }

void SystemdStatus::Subscribe() {
  subscription_ = events_.Subscribe(kEventCapacity, [changed = changed_] { *changed = true; });
}

void SystemdStatus::SetPoolState(const std::string& state) {
  MutexLock lock(&mu_);
  if (state == state_) return;
  // A count read in the pool's former state is not repeated in the new
  // one (an exported pool has no volumes to count); it is read again.
  state_ = state;
  volumes_.reset();
  *changed_ = true;
  SendIfChanged();
}

void SystemdStatus::Recount() {
  while (subscription_->Next().has_value()) {
  }
  if (subscription_->overflowed()) {  // a new subscription, and count again
    Subscribe();
    *changed_ = true;
  }
  if (!changed_->exchange(false)) return;
  absl::StatusOr<uint64_t> volumes = count_();
  if (!volumes.ok()) *changed_ = true;  // try again next time
  MutexLock lock(&mu_);
  volumes_ = volumes.ok() ? std::optional<uint64_t>(*volumes) : std::nullopt;
  SendIfChanged();
}

void SystemdStatus::SendIfChanged() {
  if (state_.empty()) return;  // the pool monitor has not reported yet
  std::string line = StatusLine(pool_, state_, volumes_);
  if (line == sent_) return;
  sent_ = line;
  sd_notify(0, absl::StrCat("STATUS=", line).c_str());
}

}  // namespace mvirt::zfs
