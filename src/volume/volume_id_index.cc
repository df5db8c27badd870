#include "volume/volume_id_index.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/log.h"

namespace mvirt::zfs {
namespace {

// "pool/name": a dataset directly under the pool, not hidden (%recv...),
// not a snapshot.
bool IsDirectChild(absl::string_view dataset, absl::string_view pool) {
  if (!absl::StartsWith(dataset, pool) || dataset.size() <= pool.size() + 1 ||
      dataset[pool.size()] != '/') {
    return false;
  }
  absl::string_view rest = dataset.substr(pool.size() + 1);
  return rest.find_first_of("/@%") == absl::string_view::npos;
}

}  // namespace

IdIndexUpdate InterpretHistory(const std::vector<PoolHistoryEvent>& events,
                               const std::string& pool) {
  IdIndexUpdate update;
  for (const PoolHistoryEvent& e : events) {
    if (e.event.empty()) return {.rescan = true, .reread = {}};  // the old format names no event
    // A snapshot's events (taken, destroyed, held, renamed, its properties)
    // change no zvol's id.
    if (absl::StrContains(e.dataset, '@')) continue;
    if (IsDirectChild(e.dataset, pool)) update.reread.insert(e.dataset);
    if (e.event == "rename") {  // named before the change: "-> pool/new"
      absl::string_view to = e.detail;
      if (!absl::ConsumePrefix(&to, "-> ")) return {.rescan = true, .reread = {}};
      if (IsDirectChild(to, pool)) update.reread.insert(std::string(to));
    }
    // A rename of a filesystem moves its children without events of their
    // own, but none of them is or becomes a direct child of the pool; a
    // rollback or receive swaps a hidden clone's contents (%rollback,
    // %recv), which leaves properties as they were; received properties
    // are "set" events of the dataset itself.
  }
  return update;
}

VolumeIdIndex::VolumeIdIndex(Zfs& zfs, std::string pool, std::string id_property)
    : zfs_(zfs), pool_(std::move(pool)), id_property_(std::move(id_property)) {}

absl::StatusOr<std::vector<std::string>> VolumeIdIndex::Holders(const std::string& id) {
  MutexLock lock(&mu_);
  if (absl::Status s = CatchUpLocked(); !s.ok()) return s;
  auto it = holders_.find(id);
  if (it == holders_.end()) return std::vector<std::string>();
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

uint64_t VolumeIdIndex::scans() const {
  MutexLock lock(&mu_);
  return scans_;
}

absl::Status VolumeIdIndex::CatchUpLocked() {
  // Built: the events since the last answer. Not built: only where the log
  // ends now (events before the scan are in the scan).
  const size_t max_events = built_ ? kMaxEventsPerCatchUp : 0;
  absl::StatusOr<PoolHistoryPage> page = zfs_.ReadPoolHistory(pool_, history_, max_events);
  if (!page.ok()) {
    if (page.status().code() == absl::StatusCode::kNotFound) return page.status();
    built_ = false;  // no log to follow: a scan answers, every time
    return ScanLocked(std::nullopt, page.status().message());
  }
  if (!built_) return ScanLocked(page->next, "first answer");
  if (page->records_lost)
    return ScanLocked(page->next, "records lost: the log wrapped, or the pool was imported again");
  if (page->events_dropped) return ScanLocked(page->next, "more events than read one by one");
  IdIndexUpdate update = InterpretHistory(page->events, pool_);
  if (update.rescan) return ScanLocked(page->next, "an event that cannot be interpreted");
  if (!update.reread.empty()) {
    std::vector<std::string> names(update.reread.begin(), update.reread.end());
    absl::StatusOr<std::vector<VolumeDigest>> now =
        zfs_.ScanVolumesNamed(pool_, names, id_property_);
    if (!now.ok()) return now.status();  // the position stays: read again next time
    for (const std::string& name : names) ForgetLocked(name);
    for (const VolumeDigest& v : *now) RememberLocked(v);
  }
  history_ = page->next;
  return absl::OkStatus();
}

absl::Status VolumeIdIndex::ScanLocked(std::optional<PoolHistoryPosition> history_end,
                                       absl::string_view why) {
  LogDebug("ids of pool ", pool_, ": scanning every zvol (", why, ")");
  built_ = false;
  id_of_.clear();
  holders_.clear();
  ++scans_;
  absl::StatusOr<std::vector<VolumeDigest>> volumes = zfs_.ScanVolumes(pool_, id_property_);
  if (!volumes.ok()) return volumes.status();
  for (const VolumeDigest& v : *volumes) RememberLocked(v);
  if (history_end.has_value()) {
    history_ = *history_end;
    built_ = true;
  }
  return absl::OkStatus();
}

void VolumeIdIndex::RememberLocked(const VolumeDigest& volume) {
  if (volume.id.empty()) return;  // not managed
  id_of_[volume.name] = volume.id;
  holders_[volume.id].insert(volume.name);
}

void VolumeIdIndex::ForgetLocked(const std::string& dataset) {
  auto it = id_of_.find(dataset);
  if (it == id_of_.end()) return;
  auto holders = holders_.find(it->second);
  if (holders != holders_.end()) {
    holders->second.erase(dataset);
    if (holders->second.empty()) holders_.erase(holders);
  }
  id_of_.erase(it);
}

}  // namespace mvirt::zfs
