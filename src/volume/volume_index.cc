#include "volume/volume_index.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

// "pool/v" for the hidden child "pool/v/%rollback" (or %recv...), "" for
// any other name.
absl::string_view HiddenChildsParent(absl::string_view dataset) {
  const size_t at = dataset.rfind("/%");
  return at == absl::string_view::npos ? absl::string_view() : dataset.substr(0, at);
}

// A user command's record (`zfs set volsize=2G pool/a pool/b`, argv joined
// by spaces): the datasets of the pool it names that a volsize change may
// concern; false if it may change a volsize but names none of the pool's
// datasets (then only a scan can tell).
bool ReadVolsizeCommand(absl::string_view command, const std::string& pool,
                        std::set<std::string>* reread) {
  if (!absl::StrContains(absl::AsciiStrToLower(command), "volsize"))
    return true;  // no volsize changed
  const std::string pool_prefix = absl::StrCat(pool, "/");
  bool names_pool = false;
  for (absl::string_view word : absl::StrSplit(command, ' ', absl::SkipEmpty())) {
    if (absl::StartsWith(word, pool_prefix)) names_pool = true;
    if (IsDirectChild(word, pool)) reread->insert(std::string(word));
  }
  return names_pool;
}

}  // namespace

VolumeIndexUpdate InterpretHistory(const std::vector<PoolHistoryEvent>& events,
                                   const std::string& pool) {
  VolumeIndexUpdate update;
  for (const PoolHistoryEvent& e : events) {
    if (e.command) {
      if (!ReadVolsizeCommand(e.detail, pool, &update.reread))
        return {.rescan = true, .reread = {}};
      continue;
    }
    if (e.event.empty()) return {.rescan = true, .reread = {}};  // the old format names no event
    // A snapshot's events (taken, destroyed, held, renamed, its properties)
    // change no zvol's id or volsize.
    if (absl::StrContains(e.dataset, '@')) continue;
    if (IsDirectChild(e.dataset, pool)) update.reread.insert(e.dataset);
    // A rollback or incremental receive swaps the volume's contents with a
    // hidden clone's (its "clone swap" names pool/v/%rollback or %recv):
    // the volsize may be another one now. Properties stay as they were.
    absl::string_view parent = HiddenChildsParent(e.dataset);
    if (IsDirectChild(parent, pool)) update.reread.insert(std::string(parent));
    if (e.event == "rename") {  // named before the change: "-> pool/new"
      absl::string_view to = e.detail;
      if (!absl::ConsumePrefix(&to, "-> ")) return {.rescan = true, .reread = {}};
      if (IsDirectChild(to, pool)) update.reread.insert(std::string(to));
    }
    // A rename of a filesystem moves its children without events of their
    // own, but none of them is or becomes a direct child of the pool;
    // received properties are "set" events of the dataset itself.
  }
  return update;
}

VolumeIndex::VolumeIndex(Zfs& zfs, std::string pool, std::string id_property)
    : zfs_(zfs), pool_(std::move(pool)), id_property_(std::move(id_property)) {}

absl::StatusOr<std::vector<std::string>> VolumeIndex::Holders(const std::string& id) {
  MutexLock lock(&mu_);
  if (absl::Status s = CatchUpLocked(); !s.ok()) return s;
  auto it = holders_.find(id);
  if (it == holders_.end()) return std::vector<std::string>();
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

absl::StatusOr<ProvisionedTotal> VolumeIndex::Provisioned() {
  MutexLock lock(&mu_);
  if (absl::Status s = CatchUpLocked(); !s.ok()) return s;
  return total_;
}

void VolumeIndex::Changed(const std::string& dataset) {
  MutexLock lock(&mu_);
  changed_.insert(dataset);
}

uint64_t VolumeIndex::scans() const {
  MutexLock lock(&mu_);
  return scans_;
}

absl::Status VolumeIndex::CatchUpLocked() {
  // Built: the records since the last answer. Not built: only where the
  // log ends now (records before the scan are in the scan).
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
  if (page->events_dropped) return ScanLocked(page->next, "more records than read one by one");
  VolumeIndexUpdate update = InterpretHistory(page->events, pool_);
  if (update.rescan) return ScanLocked(page->next, "a record that cannot be interpreted");
  update.reread.insert(changed_.begin(), changed_.end());
  if (!update.reread.empty()) {
    std::vector<std::string> names(update.reread.begin(), update.reread.end());
    absl::StatusOr<std::vector<VolumeDigest>> now =
        zfs_.ScanVolumesNamed(pool_, names, id_property_);
    if (!now.ok()) return now.status();  // the position stays: read again next time
    for (const std::string& name : names) ForgetLocked(name);
    for (const VolumeDigest& v : *now) RememberLocked(v);
  }
  changed_.clear();
  history_ = page->next;
  return absl::OkStatus();
}

absl::Status VolumeIndex::ScanLocked(std::optional<PoolHistoryPosition> history_end,
                                     absl::string_view why) {
  LogDebug("volumes of pool ", pool_, ": scanning every zvol (", why, ")");
  built_ = false;
  managed_.clear();
  holders_.clear();
  total_ = {};
  ++scans_;
  absl::StatusOr<std::vector<VolumeDigest>> volumes = zfs_.ScanVolumes(pool_, id_property_);
  if (!volumes.ok()) return volumes.status();
  for (const VolumeDigest& v : *volumes) RememberLocked(v);
  changed_.clear();
  if (history_end.has_value()) {
    history_ = *history_end;
    built_ = true;
  }
  return absl::OkStatus();
}

void VolumeIndex::RememberLocked(const VolumeDigest& volume) {
  if (volume.id.empty()) return;  // not managed
  ForgetLocked(volume.name);
  managed_[volume.name] = {volume.id, volume.volsize};
  holders_[volume.id].insert(volume.name);
  total_.bytes += volume.volsize;
  ++total_.volumes;
}

void VolumeIndex::ForgetLocked(const std::string& dataset) {
  auto it = managed_.find(dataset);
  if (it == managed_.end()) return;
  auto holders = holders_.find(it->second.id);
  if (holders != holders_.end()) {
    holders->second.erase(dataset);
    if (holders->second.empty()) holders_.erase(holders);
  }
  total_.bytes -= it->second.volsize;
  --total_.volumes;
  managed_.erase(it);
}

}  // namespace mvirt::zfs
