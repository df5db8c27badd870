// FakeZfs: the calls that make or change datasets and snapshots. Each checks
// what lzc_* / libzfs check, in the same order, and fails with the errno the
// kernel returns (through error_mapping.h, as LibZfs does).
#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "zfs/error_mapping.h"
#include "zfs/fake_zfs.h"
#include "zfs/fake_zfs_internal.h"

namespace mvirt::zfs {

using fake_internal::HeadOf;
using fake_internal::IsBelow;
using fake_internal::IsUserProperty;
using fake_internal::kBadType;
using fake_internal::kNoDataset;
using fake_internal::LibzfsError;
using fake_internal::ParentOf;
using fake_internal::PoolOf;
using fake_internal::TailOf;

namespace {

constexpr uint64_t kMinBlock = 512;                 // SPA_MINBLOCKSIZE
constexpr uint64_t kMaxBlock = uint64_t{16} << 20;  // SPA_MAXBLOCKSIZE (large_blocks)

bool HasMark(const std::string& name) { return name.find_first_of("@#") != std::string::npos; }

// A snapshot name "dataset@short" with both parts.
bool IsSnapshotName(const std::string& name) {
  return name.find('#') == std::string::npos && !HeadOf(name).empty() && !TailOf(name).empty();
}

}  // namespace

absl::Status FakeZfs::CreateVolume(const std::string& name, uint64_t volsize, uint64_t volblocksize,
                                   const UserProps& user_props) {
  absl::MutexLock lock(&mu_);
  auto fail = [&](int err) { return ZfsErrnoStatus(ZfsOp::kCreate, err, "create volume", name); };
  if (HasMark(name)) return fail(EINVAL);
  // zvol_check_volblocksize, then zvol_check_volsize.
  if (volblocksize < kMinBlock || volblocksize > kMaxBlock ||
      (volblocksize & (volblocksize - 1)) != 0) {
    return fail(EDOM);
  }
  if (volsize == 0 || volsize % volblocksize != 0) return fail(EINVAL);
  if (int err = CheckNewDataset(name); err != 0) return fail(err);
  Dataset d = NewDataset(/*is_volume=*/true);
  d.volsize = volsize;
  d.volblocksize = volblocksize;
  d.user_props = user_props;
  d.natives = {{"volmode", "dev"}};
  datasets_[name] = std::move(d);
  return absl::OkStatus();
}

absl::Status FakeZfs::Clone(const std::string& name, const std::string& origin,
                            const UserProps& user_props) {
  absl::MutexLock lock(&mu_);
  auto fail = [&](int err) {
    return ZfsErrnoStatus(ZfsOp::kClone, err, absl::StrCat("clone '", origin, "' as"), name);
  };
  if (HasMark(name)) return fail(EINVAL);
  if (PoolOf(name) != PoolOf(origin)) return fail(EXDEV);
  // dmu_objset_clone_check: the new name first, then the origin.
  if (int err = CheckNewDataset(name); err != 0) return fail(err);
  if (origin.find('@') == std::string::npos) {
    return fail(FindDataset(origin) != nullptr ? EINVAL : ENOENT);
  }
  const Snap* s = FindSnap(origin);
  if (s == nullptr) return fail(ENOENT);
  const Dataset& source = *FindDataset(HeadOf(origin));
  Dataset d = NewDataset(source.is_volume);
  d.volsize = s->volsize;
  d.volblocksize = source.volblocksize;
  d.data = s->data;
  d.origin = origin;
  d.user_props = user_props;
  d.natives = {{"volmode", "dev"}};
  datasets_[name] = std::move(d);
  return absl::OkStatus();
}

absl::Status FakeZfs::Snapshot(const std::vector<std::string>& snapshots,
                               const UserProps& user_props) {
  if (snapshots.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  auto fail = [&](int err, const std::string& culprit) {
    return ZfsErrnoStatus(ZfsOp::kSnapshot, err, "create snapshot", culprit);
  };
  // zfs_ioc_snapshot: properties, names, one pool, one snapshot per dataset;
  // these failures name no snapshot, so LibZfs names the first.
  for (const auto& [key, value] : user_props) {
    if (!IsUserProperty(key)) return fail(EINVAL, snapshots[0]);
  }
  std::set<std::string> heads;
  for (const std::string& s : snapshots) {
    if (!IsSnapshotName(s)) return fail(EINVAL, snapshots[0]);
    if (PoolOf(s) != PoolOf(snapshots[0]) || !heads.insert(HeadOf(s)).second) {
      return fail(EXDEV, snapshots[0]);
    }
  }
  // dsl_dataset_snapshot_check: each one; the first failure is named.
  for (const std::string& s : snapshots) {
    const Dataset* d = FindDataset(HeadOf(s));
    if (d == nullptr) return fail(ENOENT, s);
    if (d->snaps.count(TailOf(s)) > 0) return fail(EEXIST, s);
  }
  ++txg_;  // all in one transaction group
  for (const std::string& s : snapshots) {
    Dataset& d = *FindDataset(HeadOf(s));
    Snap snap = NewSnap(d);
    snap.user_props = user_props;
    d.snaps[TailOf(s)] = std::move(snap);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SnapshotProps>> FakeZfs::TakeSnapshots(
    const std::vector<NewSnapshot>& snapshots, const std::string& mark) {
  absl::MutexLock lock(&mu_);
  std::set<std::string> heads;
  for (const NewSnapshot& s : snapshots) {
    if (!IsSnapshotName(s.name) || !heads.insert(HeadOf(s.name)).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "create snapshot '", s.name, "': not a snapshot name, or a second one of its dataset"));
    }
  }
  // The program's checks, in its order; the first failure changes nothing.
  for (const NewSnapshot& s : snapshots) {
    const Dataset* d = FindDataset(HeadOf(s.name));
    if (d == nullptr || !d->is_volume || d->user_props.count(mark) == 0) {
      return absl::NotFoundError(absl::StrCat("create snapshot of '", HeadOf(s.name),
                                              "': no such zvol carrying ", mark,
                                              "; nothing was changed"));
    }
    if (d->snaps.count(TailOf(s.name)) > 0) {
      return ZfsErrnoStatus(ZfsOp::kSnapshot, EEXIST, "create snapshot", s.name);
    }
  }
  ++txg_;  // all in one transaction group
  std::vector<SnapshotProps> taken;
  for (const NewSnapshot& s : snapshots) {
    Dataset& d = *FindDataset(HeadOf(s.name));
    Snap snap = NewSnap(d);
    snap.user_props = s.user_props;
    taken.push_back(ToSnapshotProps(s.name, snap));
    d.snaps[TailOf(s.name)] = std::move(snap);
  }
  return taken;
}

absl::Status FakeZfs::CopySnapshot(const std::string& source, const std::string& target) {
  absl::MutexLock lock(&mu_);
  const Snap* s = FindSnap(source);
  if (s == nullptr) {
    const int err = FindDataset(source) != nullptr ? EINVAL : ENOENT;
    return ZfsErrnoStatus(ZfsOp::kRead, err, "send snapshot", source);
  }
  auto fail = [&](int err) {
    return ZfsErrnoStatus(ZfsOp::kCreate, err, "receive snapshot", target);
  };
  if (!IsSnapshotName(target)) return fail(EINVAL);
  const std::string head = HeadOf(target);
  if (int err = CheckNewDataset(head); err != 0) return fail(err);
  // A plain stream: data and volsize, no properties; the snapshot keeps its
  // guid (what incremental receives match on).
  const Dataset& from = *FindDataset(HeadOf(source));
  Dataset d = NewDataset(from.is_volume);
  d.volsize = s->volsize;
  d.volblocksize = from.volblocksize;
  d.data = s->data;
  ++txg_;
  Snap copy = NewSnap(d);
  copy.guid = s->guid;
  d.snaps[TailOf(target)] = std::move(copy);
  datasets_[head] = std::move(d);
  return absl::OkStatus();
}

absl::Status FakeZfs::EnsureHiddenFilesystem(const std::string& name, bool zvol_devices) {
  absl::MutexLock lock(&mu_);
  if (FindDataset(name) != nullptr || FindSnap(name) != nullptr) return absl::OkStatus();
  if (HasMark(name)) return ZfsErrnoStatus(ZfsOp::kCreate, EINVAL, "create filesystem", name);
  if (int err = CheckNewDataset(name); err != 0 && err != EEXIST) {
    return ZfsErrnoStatus(ZfsOp::kCreate, err, "create filesystem", name);
  }
  Dataset d = NewDataset(/*is_volume=*/false);
  d.natives = {
      {"canmount", "off"}, {"mountpoint", "none"}, {"volmode", zvol_devices ? "dev" : "none"}};
  datasets_[name] = std::move(d);
  return absl::OkStatus();
}

absl::Status FakeZfs::Rename(const std::string& from, const std::string& to) {
  absl::MutexLock lock(&mu_);
  auto fail = [&](int err) {
    return ZfsErrnoStatus(ZfsOp::kRename, err, absl::StrCat("rename '", from, "' to"), to);
  };
  const bool snapshots = from.find('@') != std::string::npos && to.find('@') != std::string::npos;
  if (snapshots && from.find('#') == std::string::npos && to.find('#') == std::string::npos) {
    // A snapshot keeps its dataset; its clones follow it.
    if (HeadOf(from) != HeadOf(to)) return fail(EINVAL);
    Dataset* d = FindDataset(HeadOf(from));
    if (d == nullptr || d->snaps.count(TailOf(from)) == 0) return fail(ENOENT);
    if (d->snaps.count(TailOf(to)) != 0) return fail(EEXIST);
    auto node = d->snaps.extract(TailOf(from));
    node.key() = TailOf(to);
    d->snaps.insert(std::move(node));
    for (auto& [name, other] : datasets_) {
      if (other.origin == from) other.origin = to;
    }
    ++txg_;
    return absl::OkStatus();
  }
  if (HasMark(from) || HasMark(to)) {
    return absl::UnimplementedError("FakeZfs renames datasets and snapshots, not bookmarks");
  }
  if (PoolOf(from) != PoolOf(to)) return fail(EXDEV);
  if (FindDataset(from) == nullptr) return fail(ENOENT);
  if (ParentOf(from).empty()) return fail(EINVAL);  // a pool's root
  if (int err = CheckNewDataset(to); err != 0) return fail(err);
  if (IsBelow(to, from)) return fail(EINVAL);
  // The dataset, its descendants, and every name that points at them.
  auto renamed = [&](const std::string& name) {
    const std::string head = HeadOf(name);
    if (head != from && !IsBelow(head, from)) return name;
    return absl::StrCat(to, name.substr(from.size()));
  };
  std::vector<std::string> moving;
  for (auto it = datasets_.find(from);
       it != datasets_.end() && (it->first == from || IsBelow(it->first, from)); ++it) {
    moving.push_back(it->first);
  }
  for (const std::string& name : moving) {
    auto node = datasets_.extract(name);
    node.key() = renamed(name);
    datasets_.insert(std::move(node));
  }
  for (auto& [name, d] : datasets_) d.origin = d.origin.empty() ? "" : renamed(d.origin);
  std::set<std::string> open;
  for (const std::string& name : open_) open.insert(renamed(name));
  open_ = std::move(open);
  ++txg_;
  return absl::OkStatus();
}

absl::Status FakeZfs::SetVolsize(const std::string& name, uint64_t volsize) {
  absl::MutexLock lock(&mu_);
  Dataset* d = FindDataset(name);
  if (d == nullptr) {
    if (HasMark(name)) {
      return LibzfsError(absl::StatusCode::kInvalidArgument, "resize volume", name,
                         "snapshot delimiter '@' is not expected here");
    }
    return LibzfsError(absl::StatusCode::kNotFound, "resize volume", name, kNoDataset);
  }
  if (!d->is_volume) {
    return LibzfsError(absl::StatusCode::kInvalidArgument, "resize volume", name, kBadType);
  }
  if (volsize == 0 || volsize % d->volblocksize != 0) {
    return LibzfsError(absl::StatusCode::kInvalidArgument, "resize volume", name,
                       "'volsize' must be a multiple of volume block size");
  }
  // As libzfs does: a volume that is not sparse keeps its reservation at
  // its size.
  if (d->refreservation >= d->volsize && d->refreservation > 0) d->refreservation = volsize;
  d->volsize = volsize;
  ++txg_;
  return absl::OkStatus();
}

absl::Status FakeZfs::SetProperty(const std::string& name, const std::string& key,
                                  const std::string& value) {
  absl::MutexLock lock(&mu_);
  Dataset* d = FindDataset(name);
  Snap* s = FindSnap(name);
  if (d == nullptr && s == nullptr) {
    return LibzfsError(absl::StatusCode::kNotFound, "set property on", name, kNoDataset);
  }
  const std::string what = absl::StrCat("set ", key, " on");
  if (IsUserProperty(key)) {
    (s != nullptr ? s->user_props : d->user_props)[key] = value;
    ++txg_;
    return absl::OkStatus();
  }
  if (s != nullptr) {
    return LibzfsError(absl::StatusCode::kInvalidArgument, what, name,
                       "this property can not be modified for snapshots");
  }
  return SetNative(name, *d, key, value);
}

absl::Status FakeZfs::ClearUserProperty(const std::string& name, const std::string& key) {
  absl::MutexLock lock(&mu_);
  if (!IsUserProperty(key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("clear ", key, " on '", name, "': not a user property"));
  }
  Dataset* d = FindDataset(name);
  Snap* s = FindSnap(name);
  if (d == nullptr && s == nullptr) {
    return LibzfsError(absl::StatusCode::kNotFound, "clear property on", name, kNoDataset);
  }
  (s != nullptr ? s->user_props : d->user_props).erase(key);
  ++txg_;
  return absl::OkStatus();
}

absl::Status FakeZfs::SetNative(const std::string& name, Dataset& d, const std::string& key,
                                const std::string& value) {
  static const auto* const kValues = new std::map<std::string, std::vector<std::string>>{
      {"volmode", {"default", "full", "geom", "dev", "none"}},
      {"canmount", {"on", "off", "noauto"}},
      {"readonly", {"on", "off"}},
      {"mountpoint", {}},  // none, legacy or a path
  };
  const std::string what = absl::StrCat("set ", key, " on");
  if (key == "refreservation" && d.is_volume && (value == "auto" || value == "none")) {
    // No space accounting here: a reservation never fails for lack of space.
    d.refreservation = value == "auto" ? d.volsize : 0;
    ++txg_;
    return absl::OkStatus();
  }
  auto allowed = kValues->find(key);
  if (allowed == kValues->end()) {
    return absl::UnimplementedError(absl::StrCat("FakeZfs does not model property '", key, "'"));
  }
  if (d.is_volume && (key == "canmount" || key == "mountpoint")) {
    return LibzfsError(absl::StatusCode::kInvalidArgument, what, name,
                       absl::StrCat("'", key, "' does not apply to datasets of this type"));
  }
  const std::vector<std::string>& values = allowed->second;
  if (key == "mountpoint" && value != "none" && value != "legacy" &&
      !absl::StartsWith(value, "/")) {
    return LibzfsError(absl::StatusCode::kInvalidArgument, what, name,
                       "'mountpoint' must be an absolute path, 'none', or 'legacy'");
  }
  if (key != "mountpoint" && std::find(values.begin(), values.end(), value) == values.end()) {
    return LibzfsError(
        absl::StatusCode::kInvalidArgument, what, name,
        absl::StrCat("'", key, "' must be one of '", absl::StrJoin(values, " | "), "'"));
  }
  d.natives[key] = value;
  ++txg_;
  return absl::OkStatus();
}

}  // namespace mvirt::zfs
