#include "replication/replication_plan.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mvirt::zfs {
namespace {

// The index in `snapshots` of the one with `guid`, or -1.
int IndexOfGuid(const std::vector<SnapshotInfo>& snapshots, uint64_t guid) {
  for (size_t i = 0; i < snapshots.size(); ++i) {
    if (snapshots[i].guid == guid) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

absl::StatusOr<std::vector<ReplicationStep>> PlanReplication(
    const std::string& volume, const std::vector<SnapshotInfo>& source,
    const std::optional<std::vector<SnapshotInfo>>& target, const std::string& upto) {
  const std::string op = absl::StrCat("replicate volume '", volume, "'");
  if (source.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(op, ": it has no snapshot; replication sends snapshots, so take one first"));
  }
  int last = static_cast<int>(source.size()) - 1;
  if (!upto.empty()) {
    last = -1;
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i].name == upto) last = static_cast<int>(i);
    }
    if (last < 0) {
      return absl::NotFoundError(absl::StrCat(op, ": volume has no snapshot '", upto, "'"));
    }
  }
  int first = 0;  // the first snapshot to send
  if (target.has_value()) {
    // The newest target snapshot the source has too.
    int shared = -1;
    size_t newer_on_target = 0;
    for (auto it = target->rbegin(); it != target->rend(); ++it) {
      shared = IndexOfGuid(source, it->guid);
      if (shared >= 0) break;
      ++newer_on_target;
    }
    if (shared < 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          op,
          ": the target's volume of that name shares no snapshot with this one (matched by "
          "guid), so no increment fits it; delete it on the target for a full send"));
    }
    if (newer_on_target > 0) {
      std::vector<std::string> names;
      for (size_t i = target->size() - newer_on_target; i < target->size(); ++i) {
        names.push_back((*target)[i].name);
      }
      return absl::FailedPreconditionError(absl::StrCat(
          op, ": the target has snapshots newer than '", source[shared].name,
          "', the newest both sides share: ", absl::StrJoin(names, ", "),
          "; a receive would destroy them. Delete them on the target, or roll it back"));
    }
    first = shared + 1;
  }
  std::vector<ReplicationStep> steps;
  for (int i = first; i <= last; ++i) {
    // The first stream to a new volume is full; each other one builds on
    // the snapshot before it.
    steps.push_back({source[i].name, i == 0 ? std::string() : source[i - 1].name});
  }
  return steps;
}

}  // namespace mvirt::zfs
