// FakeZfs: destruction and rollback. DestroyWithSnapshots and Rollback check
// what the channel programs of channel_programs.cc check, in their order,
// before changing anything, and refuse with the same texts.
#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "zfs/error_mapping.h"
#include "zfs/fake_zfs.h"
#include "zfs/fake_zfs_internal.h"

namespace mvirt::zfs {

using fake_internal::DatasetExistText;
using fake_internal::DatasetOpenText;
using fake_internal::HeadOf;
using fake_internal::kNoDataset;
using fake_internal::LibzfsError;
using fake_internal::PoolOf;
using fake_internal::SnapshotClonedText;
using fake_internal::SnapshotHeldText;
using fake_internal::TailOf;

void FakeZfs::ReapIfDeferred(const std::string& name) {
  const Snap* s = FindSnap(name);
  if (s == nullptr || !s->defer_destroy || !s->holds.empty() || !ClonesOf(name).empty()) return;
  FindDataset(HeadOf(name))->snaps.erase(TailOf(name));
}

void FakeZfs::EraseDataset(const std::string& name) {
  const std::string origin = FindDataset(name)->origin;
  datasets_.erase(name);
  open_.erase(name);
  if (!origin.empty()) ReapIfDeferred(origin);
  ++txg_;
}

absl::Status FakeZfs::DestroySnapshots(const std::vector<std::string>& snapshots) {
  absl::MutexLock lock(&mu_);
  return DestroySnaps(snapshots, /*defer=*/false);
}

absl::Status FakeZfs::DeferDestroySnapshots(const std::vector<std::string>& snapshots) {
  absl::MutexLock lock(&mu_);
  return DestroySnaps(snapshots, /*defer=*/true);
}

absl::Status FakeZfs::DestroySnaps(const std::vector<std::string>& snapshots, bool defer) {
  if (snapshots.empty()) return absl::OkStatus();
  const char* what = defer ? "defer destroy of snapshot" : "destroy snapshot";
  auto fail = [&](int err, const std::string& culprit) {
    return ZfsErrnoStatus(ZfsOp::kDestroySnapshots, err, what, culprit);
  };
  // lzc_destroy_snaps: one pool; every check before any destruction; a
  // snapshot that does not exist is silently skipped.
  for (const std::string& s : snapshots) {
    if (PoolOf(s) != PoolOf(snapshots[0])) return fail(EXDEV, snapshots[0]);
  }
  for (const std::string& s : snapshots) {
    if (s.find('@') == std::string::npos) {
      if (FindDataset(s) != nullptr) return fail(EINVAL, s);
      continue;
    }
    const Snap* snap = FindSnap(s);
    if (snap == nullptr || defer) continue;
    if (!snap->holds.empty()) return fail(EBUSY, s);
    if (!ClonesOf(s).empty()) return fail(EEXIST, s);
  }
  for (const std::string& s : snapshots) {
    Snap* snap = FindSnap(s);
    if (snap == nullptr) continue;
    if (defer) {
      snap->defer_destroy = true;
      ReapIfDeferred(s);
    } else {
      FindDataset(HeadOf(s))->snaps.erase(TailOf(s));
    }
  }
  ++txg_;
  return absl::OkStatus();
}

absl::Status FakeZfs::CheckDestroy(const std::string& name, const Dataset& d) const {
  constexpr char kWhat[] = "destroy";
  if (std::string child = FirstChildOf(name); !child.empty()) {  // zfs.list.children
    return absl::FailedPreconditionError(
        absl::StrCat(kWhat, " '", name, "': it has a child dataset '", child, "'"));
  }
  const std::vector<std::string> snaps = SnapsByTxg(d, name);
  for (const std::string& s : snaps) {  // zfs.check.destroy(snapshot)
    if (!d.snaps.at(TailOf(s)).holds.empty()) {
      return absl::FailedPreconditionError(SnapshotHeldText(kWhat, name, s));
    }
    if (!ClonesOf(s).empty())
      return absl::FailedPreconditionError(SnapshotClonedText(kWhat, name, s));
  }
  if (!snaps.empty()) {  // zfs.check.rollback(dataset): bookmarks, then the long hold
    const uint64_t latest = d.snaps.at(TailOf(snaps.back())).createtxg;
    for (const auto& [bookmark, txg] : d.bookmarks) {
      if (txg > latest) return absl::FailedPreconditionError(DatasetExistText(kWhat, name));
    }
    if (open_.count(name) > 0) return BusyError(DatasetOpenText(kWhat, name));
    return absl::OkStatus();
  }
  // zfs.check.destroy(dataset): the long hold.
  if (open_.count(name) > 0) return BusyError(DatasetOpenText(kWhat, name));
  return absl::OkStatus();
}

absl::Status FakeZfs::DestroyWithSnapshots(const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (name.find('@') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("destroy '", name, "': not a filesystem or volume"));
  }
  Dataset* d = FindDataset(name);
  if (d == nullptr) {
    return absl::NotFoundError(absl::StrCat("destroy '", name, "': '", name, "' does not exist"));
  }
  if (absl::Status s = CheckDestroy(name, *d); !s.ok()) return s;
  EraseDataset(name);
  return absl::OkStatus();
}

absl::Status FakeZfs::CheckRollback(const std::string& name, const std::string& snapshot) const {
  const Dataset* d = FindDataset(name);
  if (d == nullptr)
    return LibzfsError(absl::StatusCode::kNotFound, "list bookmarks of", name, kNoDataset);
  if (snapshot.find('@') == std::string::npos) {
    return LibzfsError(absl::StatusCode::kInvalidArgument, "open snapshot", snapshot,
                       "missing '@' delimiter in snapshot name");
  }
  const Snap* target = FindSnap(snapshot);
  if (target == nullptr)
    return LibzfsError(absl::StatusCode::kNotFound, "open snapshot", snapshot, kNoDataset);
  if (HeadOf(snapshot) != name) {
    return absl::InvalidArgumentError(absl::StrCat("roll back '", name, "' to '", snapshot,
                                                   "': FakeZfs rolls back to own snapshots only"));
  }
  std::vector<std::pair<uint64_t, std::string>> newer_bookmarks;
  for (const auto& [bookmark, txg] : d->bookmarks) {
    if (txg > target->createtxg)
      newer_bookmarks.emplace_back(txg, absl::StrCat(name, "#", bookmark));
  }
  if (!newer_bookmarks.empty()) {
    std::sort(newer_bookmarks.begin(), newer_bookmarks.end());
    std::vector<std::string> names;
    for (const auto& [txg, bookmark] : newer_bookmarks) names.push_back(bookmark);
    return absl::FailedPreconditionError(absl::StrCat(
        "roll back '", name, "' to '", snapshot, "': bookmarks newer than the snapshot (",
        absl::StrJoin(names, ", "), ") would be left pointing past it; destroy them first"));
  }
  const std::string what = absl::StrCat("roll back to '", snapshot, "'");
  for (const std::string& s : SnapsByTxg(*d, name)) {
    const Snap& snap = d->snaps.at(TailOf(s));
    if (snap.createtxg <= target->createtxg) continue;
    if (!snap.holds.empty()) return absl::FailedPreconditionError(SnapshotHeldText(what, name, s));
    if (!ClonesOf(s).empty())
      return absl::FailedPreconditionError(SnapshotClonedText(what, name, s));
  }
  if (open_.count(name) > 0) return BusyError(DatasetOpenText(what, name));
  return absl::OkStatus();
}

absl::Status FakeZfs::Rollback(const std::string& name, const std::string& snapshot) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckRollback(name, snapshot); !s.ok()) return s;
  Dataset& d = *FindDataset(name);
  const Snap target = d.snaps.at(TailOf(snapshot));
  for (auto it = d.snaps.begin(); it != d.snaps.end();) {
    it = it->second.createtxg > target.createtxg ? d.snaps.erase(it) : std::next(it);
  }
  // The zvol's data and its volsize (kept inside the dataset) are the snapshot's.
  d.data = target.data;
  d.volsize = target.volsize;
  ++txg_;
  return absl::OkStatus();
}

}  // namespace mvirt::zfs
