// Snapshot policies: which snapshots a volume's schedule takes (hourly,
// daily, weekly) and how many of each it keeps. Pure logic, no ZFS: the
// policy's text form (kept in the volume's user property
// mvirt:snapshot-policy, so that it moves with the volume), the period a
// time falls in, and the names and marks of the snapshots a policy takes.
//
// A class is due when the volume has no snapshot of that class for the
// current period (the UTC hour, the UTC day, the ISO week from Monday 00:00
// UTC). One snapshot per due class and period, whenever the scheduler looks:
// after downtime the current period is caught up once, missed ones are not
// replayed. A policy snapshot carries mvirt:policy-class and
// mvirt:policy-period (the period's start, Unix seconds); only snapshots
// with both are ever pruned, the oldest first beyond `keep`.
#ifndef MVIRT_ZFS_VOLUME_SNAPSHOT_POLICY_H_
#define MVIRT_ZFS_VOLUME_SNAPSHOT_POLICY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mvirt::zfs {

enum class SnapshotClass { kHourly = 0, kDaily = 1, kWeekly = 2 };
inline constexpr std::array<SnapshotClass, 3> kSnapshotClasses = {
    SnapshotClass::kHourly, SnapshotClass::kDaily, SnapshotClass::kWeekly};

// "hourly", "daily", "weekly".
absl::string_view SnapshotClassName(SnapshotClass c);
std::optional<SnapshotClass> ParseSnapshotClass(absl::string_view name);

inline constexpr uint32_t kMaxPolicyKeep = 1000;

struct SnapshotPolicyInfo {
  // Snapshots kept per class; 0: the class is not taken.
  std::array<uint32_t, 3> keep = {0, 0, 0};
  // Volumes with the same group have their due snapshots taken together,
  // in one ZFS transaction (a VM's disks). Empty: none.
  std::string group;

  uint32_t Keep(SnapshotClass c) const { return keep[static_cast<size_t>(c)]; }
  bool empty() const { return keep[0] == 0 && keep[1] == 0 && keep[2] == 0; }
  bool operator==(const SnapshotPolicyInfo&) const = default;
};

// OK if every keep is at most kMaxPolicyKeep and the group, if any, is a
// valid name; INVALID_ARGUMENT saying what is wrong otherwise.
absl::Status ValidateSnapshotPolicy(const SnapshotPolicyInfo& policy);

// "hourly=24,daily=7,weekly=4" plus ";group=NAME" with a group; classes
// with keep 0 left out.
std::string FormatSnapshotPolicy(const SnapshotPolicyInfo& policy);
// The inverse of FormatSnapshotPolicy; INVALID_ARGUMENT for anything else
// (the property may have been set by hand).
absl::StatusOr<SnapshotPolicyInfo> ParseSnapshotPolicy(absl::string_view text);

// The start of the period of class `c` that `t` falls in (UTC).
absl::Time PeriodStart(SnapshotClass c, absl::Time t);
// "auto-hourly-20261207-1000": the name of the snapshot of class `c` for
// the period starting at `period`.
std::string PolicySnapshotName(SnapshotClass c, absl::Time period);

// The user properties of the policy and its snapshots.
inline constexpr char kSnapshotPolicyProperty[] = "mvirt:snapshot-policy";
inline constexpr char kPolicyClassProperty[] = "mvirt:policy-class";
inline constexpr char kPolicyPeriodProperty[] = "mvirt:policy-period";

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_VOLUME_SNAPSHOT_POLICY_H_
