// FakeZfs: state, lookups, the test set-up calls and the reads.
#include "zfs/fake_zfs.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "zfs/error_mapping.h"
#include "zfs/fake_zfs_internal.h"

namespace mvirt::zfs {

using fake_internal::HeadOf;
using fake_internal::IsBelow;
using fake_internal::kBadType;
using fake_internal::kNoDataset;
using fake_internal::LibzfsError;
using fake_internal::ParentOf;
using fake_internal::TailOf;

// --- Lookups and stamps ---

FakeZfs::Dataset* FakeZfs::FindDataset(const std::string& name) {
  auto it = datasets_.find(name);
  return it == datasets_.end() ? nullptr : &it->second;
}

const FakeZfs::Dataset* FakeZfs::FindDataset(const std::string& name) const {
  auto it = datasets_.find(name);
  return it == datasets_.end() ? nullptr : &it->second;
}

FakeZfs::Snap* FakeZfs::FindSnap(const std::string& name) {
  return const_cast<Snap*>(static_cast<const FakeZfs*>(this)->FindSnap(name));
}

const FakeZfs::Snap* FakeZfs::FindSnap(const std::string& name) const {
  if (name.find('@') == std::string::npos) return nullptr;
  const Dataset* d = FindDataset(HeadOf(name));
  if (d == nullptr) return nullptr;
  auto it = d->snaps.find(TailOf(name));
  return it == d->snaps.end() ? nullptr : &it->second;
}

std::vector<std::string> FakeZfs::ClonesOf(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [child, d] : datasets_) {
    if (d.origin == name) out.push_back(child);
    // An interrupted incremental receive: ZFS keeps it as the hidden clone
    // "<dataset>/%recv" of its base snapshot.
    if (!d.receive_base.empty() && absl::StrCat(child, "@", d.receive_base) == name) {
      out.push_back(child + "/%recv");
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> FakeZfs::SnapsByTxg(const Dataset& dataset, const std::string& name) {
  std::vector<std::pair<uint64_t, std::string>> order;
  for (const auto& [tail, s] : dataset.snaps) order.emplace_back(s.createtxg, tail);
  std::sort(order.begin(), order.end());
  std::vector<std::string> out;
  for (const auto& [txg, tail] : order) out.push_back(absl::StrCat(name, "@", tail));
  return out;
}

bool FakeZfs::HasChildren(const std::string& name) const { return !FirstChildOf(name).empty(); }

std::string FakeZfs::FirstChildOf(const std::string& name) const {
  // ("name-x" sorts between "name" and "name/x": look from "name/".)
  auto it = datasets_.lower_bound(name + "/");
  return it != datasets_.end() && IsBelow(it->first, name) ? it->first : "";
}

int FakeZfs::CheckNewDataset(const std::string& name) const {
  const Dataset* parent = FindDataset(ParentOf(name));
  if (parent == nullptr) return ENOENT;
  if (parent->is_volume) return kZfsErrWrongParent;
  if (FindDataset(name) != nullptr) return EEXIST;
  return 0;
}

uint64_t FakeZfs::NextGuid() {
  // splitmix64: distinct, stable across runs, never 0 in practice.
  uint64_t z = (guid_seed_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

FakeZfs::Dataset FakeZfs::NewDataset(bool is_volume) {
  Dataset d;
  d.is_volume = is_volume;
  d.createtxg = ++txg_;
  d.guid = NextGuid();
  d.creation = absl::ToUnixSeconds(absl::Now());
  return d;
}

FakeZfs::Snap FakeZfs::NewSnap(const Dataset& of) {
  Snap s;
  s.createtxg = txg_;  // the caller advanced it: one txg for one call's snapshots
  s.guid = NextGuid();
  s.creation = absl::ToUnixSeconds(absl::Now());
  s.volsize = of.volsize;
  s.data = of.data;
  return s;
}

VolumeProps FakeZfs::ToVolumeProps(const std::string& name, const Dataset& d) const {
  VolumeProps v;
  v.name = name;
  v.volsize = d.volsize;
  v.volblocksize = d.volblocksize;
  v.used = v.referenced = v.logicalreferenced = v.logicalused = d.data.size();
  v.written = d.data.size();  // the fake does not track what snapshots share
  v.creation = d.creation;
  v.createtxg = d.createtxg;
  v.guid = d.guid;
  v.origin = d.origin;
  v.refreservation = d.refreservation;
  v.user_props = d.user_props;
  return v;
}

SnapshotProps FakeZfs::ToSnapshotProps(const std::string& name, const Snap& s) const {
  SnapshotProps p;
  p.name = name;
  p.referenced = s.data.size();
  p.creation = s.creation;
  p.createtxg = s.createtxg;
  p.guid = s.guid;
  p.userrefs = s.holds.size();
  p.volsize = s.volsize;
  p.clones = ClonesOf(name);
  p.user_props = s.user_props;
  return p;
}

// --- What tests set up ---

void FakeZfs::AddPool(const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (pools_.count(name) > 0) return;
  PoolProps p;
  p.name = name;
  p.health = "ONLINE";
  p.ashift = 12;
  p.autotrim = true;
  p.compression = "lz4";
  p.xattr = "sa";
  p.atime = "off";
  p.available = uint64_t{100} << 30;
  p.size = p.free = p.available;
  p.fragmentation = 0;
  p.top_level_vdevs = {{"/fake/" + name + ".img", 12, "ONLINE"}};
  pools_[name] = p;
  datasets_[name] = NewDataset(/*is_volume=*/false);
}

void FakeZfs::SetPool(const PoolProps& props) {
  AddPool(props.name);
  absl::MutexLock lock(&mu_);
  pools_[props.name] = props;
}

void FakeZfs::SetOpen(const std::string& dataset, bool open) {
  absl::MutexLock lock(&mu_);
  if (open) {
    open_.insert(dataset);
  } else {
    open_.erase(dataset);
  }
}

absl::Status FakeZfs::Hold(const std::string& snapshot, const std::string& tag) {
  absl::MutexLock lock(&mu_);
  Snap* s = FindSnap(snapshot);
  if (s == nullptr)
    return absl::NotFoundError(absl::StrCat("hold '", snapshot, "': no such snapshot"));
  if (!s->holds.insert(tag).second) {
    return absl::AlreadyExistsError(absl::StrCat("hold '", snapshot, "': tag '", tag, "' exists"));
  }
  return absl::OkStatus();
}

absl::Status FakeZfs::Release(const std::string& snapshot, const std::string& tag) {
  absl::MutexLock lock(&mu_);
  Snap* s = FindSnap(snapshot);
  if (s == nullptr || s->holds.erase(tag) == 0) {
    return absl::NotFoundError(absl::StrCat("release '", snapshot, "': no hold '", tag, "'"));
  }
  ReapIfDeferred(snapshot);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FakeZfs::Holds(const std::string& snapshot) {
  absl::MutexLock lock(&mu_);
  const Snap* s = FindSnap(snapshot);
  if (s == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("read the holds of '", snapshot, "': no such snapshot"));
  }
  return std::vector<std::string>(s->holds.begin(), s->holds.end());
}

absl::Status FakeZfs::Bookmark(const std::string& snapshot, const std::string& bookmark) {
  absl::MutexLock lock(&mu_);
  Snap* s = FindSnap(snapshot);
  if (s == nullptr || HeadOf(bookmark, '#') != HeadOf(snapshot)) {
    return absl::NotFoundError(absl::StrCat("bookmark '", snapshot, "': no such snapshot"));
  }
  Dataset* d = FindDataset(HeadOf(snapshot));
  if (!d->bookmarks.emplace(TailOf(bookmark, '#'), s->createtxg).second) {
    return absl::AlreadyExistsError(absl::StrCat("bookmark '", bookmark, "' exists"));
  }
  return absl::OkStatus();
}

absl::Status FakeZfs::WriteData(const std::string& dataset, const std::string& data) {
  absl::MutexLock lock(&mu_);
  Dataset* d = FindDataset(dataset);
  if (d == nullptr || !d->is_volume) {
    return absl::NotFoundError(absl::StrCat("write '", dataset, "': no such zvol"));
  }
  d->data = data;
  return absl::OkStatus();
}

absl::StatusOr<std::string> FakeZfs::ReadData(const std::string& dataset) const {
  absl::MutexLock lock(&mu_);
  const Dataset* d = FindDataset(dataset);
  if (d == nullptr || !d->is_volume) {
    return absl::NotFoundError(absl::StrCat("read '", dataset, "': no such zvol"));
  }
  return d->data;
}

absl::StatusOr<std::string> FakeZfs::NativeProperty(const std::string& name,
                                                    const std::string& key) const {
  absl::MutexLock lock(&mu_);
  const Dataset* d = FindDataset(name);
  if (d == nullptr) return LibzfsError(absl::StatusCode::kNotFound, "get", name, kNoDataset);
  if (auto it = d->natives.find(key); it != d->natives.end()) return it->second;
  if (key == "canmount") return std::string("on");  // not inherited
  for (std::string up = ParentOf(name); !up.empty(); up = ParentOf(up)) {
    const Dataset* parent = FindDataset(up);
    auto it = parent->natives.find(key);
    if (it == parent->natives.end()) continue;
    if (key != "mountpoint" || it->second == "none" || it->second == "legacy") return it->second;
    return absl::StrCat(it->second, name.substr(up.size()));
  }
  if (key == "volmode") return std::string("default");
  if (key == "readonly") return std::string("off");
  if (key == "mountpoint") return absl::StrCat("/", name);
  return absl::UnimplementedError(absl::StrCat("FakeZfs does not model property '", key, "'"));
}

// --- Reads ---

absl::StatusOr<PoolProps> FakeZfs::GetPool(const std::string& pool) {
  absl::MutexLock lock(&mu_);
  auto it = pools_.find(pool);
  if (it == pools_.end()) {
    return absl::NotFoundError(absl::StrCat("pool '", pool, "' is not imported"));
  }
  return it->second;
}

absl::StatusOr<DatasetSpace> FakeZfs::GetSpace(const std::string& dataset) {
  absl::MutexLock lock(&mu_);
  const std::string pool_name = dataset.substr(0, dataset.find('/'));
  auto pool = pools_.find(pool_name);
  const Dataset* d = FindDataset(dataset);
  if (pool == pools_.end() || d == nullptr) {
    return LibzfsError(absl::StatusCode::kNotFound, "read the space of", dataset, kNoDataset);
  }
  if (dataset == pool_name) return DatasetSpace{pool->second.used, pool->second.available};
  return DatasetSpace{d->data.size(), pool->second.available};
}

bool FakeZfs::Exists(const std::string& name) {
  absl::MutexLock lock(&mu_);
  return FindDataset(name) != nullptr || FindSnap(name) != nullptr;
}

absl::StatusOr<VolumeProps> FakeZfs::GetVolume(const std::string& name) {
  absl::MutexLock lock(&mu_);
  const Dataset* d = FindDataset(name);
  if (d == nullptr && FindSnap(name) == nullptr) {
    return LibzfsError(absl::StatusCode::kNotFound, "open volume", name, kNoDataset);
  }
  if (d == nullptr || !d->is_volume) {
    return absl::InvalidArgumentError(
        absl::StrCat("open volume '", name, "': dataset is not a volume"));
  }
  return ToVolumeProps(name, *d);
}

absl::StatusOr<std::vector<VolumeProps>> FakeZfs::ListVolumes(const std::string& parent) {
  absl::MutexLock lock(&mu_);
  const Dataset* p = FindDataset(parent);
  if (p == nullptr) {
    return LibzfsError(absl::StatusCode::kNotFound, "list volumes of", parent, kNoDataset);
  }
  if (p->is_volume) {
    return LibzfsError(absl::StatusCode::kInvalidArgument, "list volumes of", parent, kBadType);
  }
  std::vector<VolumeProps> out;  // the map's order is name order
  for (auto it = datasets_.upper_bound(parent); it != datasets_.end() && IsBelow(it->first, parent);
       ++it) {
    if (it->second.is_volume && ParentOf(it->first) == parent) {
      out.push_back(ToVolumeProps(it->first, it->second));
    }
  }
  return out;
}

absl::StatusOr<std::vector<VolumeDigest>> FakeZfs::ScanVolumes(const std::string& parent,
                                                               const std::string& id_property) {
  absl::MutexLock lock(&mu_);
  if (FindDataset(parent) == nullptr) {
    return LibzfsError(absl::StatusCode::kNotFound, "scan volumes of", parent, kNoDataset);
  }
  std::vector<VolumeDigest> out;  // the map's order is name order
  for (auto it = datasets_.upper_bound(parent); it != datasets_.end() && IsBelow(it->first, parent);
       ++it) {
    if (!it->second.is_volume || ParentOf(it->first) != parent) continue;
    VolumeProps props = ToVolumeProps(it->first, it->second);
    auto id = props.user_props.find(id_property);
    out.push_back({it->first, id != props.user_props.end() ? id->second : "", props.volsize});
  }
  return out;
}

absl::StatusOr<std::vector<VolumeDigest>> FakeZfs::ScanVolumesNamed(
    const std::string& parent, const std::vector<std::string>& names,
    const std::string& id_property) {
  absl::StatusOr<std::vector<VolumeDigest>> all = ScanVolumes(parent, id_property);
  if (!all.ok()) return all.status();
  std::vector<VolumeDigest> out;
  for (VolumeDigest& v : *all) {
    if (std::find(names.begin(), names.end(), v.name) != names.end()) out.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<PoolHistoryPage> FakeZfs::ReadPoolHistory(const std::string& pool,
                                                         const PoolHistoryPosition& from,
                                                         size_t max_events) {
  (void)from;
  (void)max_events;
  return absl::UnimplementedError(
      absl::StrCat("read the history of pool '", pool, "': the fake keeps no history log"));
}

absl::StatusOr<std::vector<SnapshotProps>> FakeZfs::ListSnapshots(const std::string& name) {
  absl::MutexLock lock(&mu_);
  const Dataset* d = FindDataset(name);
  if (d == nullptr) {
    return LibzfsError(absl::StatusCode::kNotFound, "list snapshots of", name, kNoDataset);
  }
  std::vector<SnapshotProps> out;
  for (const std::string& snap : SnapsByTxg(*d, name)) {
    out.push_back(ToSnapshotProps(snap, d->snaps.at(TailOf(snap))));
  }
  return out;
}

absl::StatusOr<SnapshotProps> FakeZfs::GetSnapshot(const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (name.find('@') == std::string::npos) {
    return LibzfsError(absl::StatusCode::kInvalidArgument, "open snapshot", name,
                       "missing '@' delimiter in snapshot name");
  }
  const Snap* s = FindSnap(name);
  if (s == nullptr)
    return LibzfsError(absl::StatusCode::kNotFound, "open snapshot", name, kNoDataset);
  return ToSnapshotProps(name, *s);
}

// --- Dump ---

std::string FakeZfs::Dump(DumpDetail detail) const {
  absl::MutexLock lock(&mu_);
  const bool ids = detail == DumpDetail::kFull;
  auto props = [](const auto& map) {
    return absl::StrCat("{", absl::StrJoin(map, ",", absl::PairFormatter("=")), "}");
  };
  auto stamp = [&](uint64_t txg, uint64_t guid) {
    return ids ? absl::StrCat(" txg=", txg, " guid=", guid) : std::string();
  };
  std::vector<std::string> lines;
  for (const auto& [name, p] : pools_) {
    lines.push_back(
        absl::StrCat("pool ", name, " ", p.health, " used=", p.used, " available=", p.available));
  }
  for (const auto& [name, d] : datasets_) {
    lines.push_back(absl::StrCat(
        name, d.is_volume ? " volume volsize=" : " filesystem volsize=", d.volsize,
        " volblocksize=", d.volblocksize, " origin=", d.origin, " data=\"",
        absl::CHexEscape(d.data), "\"", open_.count(name) > 0 ? " open" : "",
        stamp(d.createtxg, d.guid), " user=", props(d.user_props), " native=", props(d.natives)));
    for (const auto& [tail, s] : d.snaps) {
      lines.push_back(absl::StrCat(
          name, "@", tail, " snapshot volsize=", s.volsize, " data=\"", absl::CHexEscape(s.data),
          "\" holds=[", absl::StrJoin(s.holds, ","), "]", s.defer_destroy ? " defer" : "",
          stamp(s.createtxg, s.guid), " user=", props(s.user_props)));
    }
    for (const auto& [tail, txg] : d.bookmarks) {
      lines.push_back(
          absl::StrCat(name, "#", tail, " bookmark", ids ? absl::StrCat(" txg=", txg) : ""));
    }
  }
  std::sort(lines.begin(), lines.end());
  return absl::StrCat(absl::StrJoin(lines, "\n"), "\n");
}

}  // namespace mvirt::zfs
