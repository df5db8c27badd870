// Internal to src/zfs: the multi-step operations that must be all-or-nothing,
// as ZFS channel programs (lzc_channel_program). A synchronous channel
// program runs entirely in one transaction group, in syncing context, with
// the pool's configuration locked: every check runs before the first action
// and nothing (no other administrative call, no first open of a zvol) can
// change the pool between them. The kernel is the arbiter of "in use": a zvol
// whose device anything has open (a process in any namespace, a mount, loop,
// dm, md, an iSCSI target...) carries a long hold, and the checks below
// refuse it with EBUSY.
//
// Limits that one transaction cannot remove, by OpenZFS 2.1's design:
//  - a dataset with a bookmark newer than its latest snapshot: the only check
//    that tells "open" apart from "has snapshots" (the rollback check) stops at
//    the bookmark first, so such a dataset is refused rather than guessed at;
//  - space: rollback's refquota/refreservation checks see the latest
//    snapshot, not the target; volumes here are thin (neither is set).
#ifndef MVIRT_ZFS_ZFS_CHANNEL_PROGRAMS_H_
#define MVIRT_ZFS_ZFS_CHANNEL_PROGRAMS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "zfs/zfs.h"

namespace mvirt::zfs::internal {

// Destroys `dataset` and all its snapshots, or nothing. FAILED_PRECONDITION
// (IsBusy() when the dataset is open) naming what refused.
absl::Status DestroyWithSnapshotsAtomically(const std::string& dataset);

// Destroys every snapshot of `dataset` newer (by createtxg) than `snapshot`
// and rolls the dataset back to `snapshot`, or does nothing.
// `known_bookmarks` are the dataset's bookmarks the caller checked (none newer
// than `snapshot`); if the dataset's bookmarks differ now, ABORTED.
// FAILED_PRECONDITION (IsBusy() when open) naming what refused; NOT_FOUND if
// `snapshot` is gone.
absl::Status RollbackAtomically(const std::string& dataset, const std::string& snapshot,
                                const std::vector<std::string>& known_bookmarks);

// Zfs::TakeSnapshots: the checks, the snapshots and their properties in one
// program. A failure after the checks (which they are there to rule out)
// destroys the snapshots already taken in the same program: INTERNAL, saying
// whether that worked.
absl::StatusOr<std::vector<SnapshotProps>> TakeSnapshotsAtomically(
    const std::vector<NewSnapshot>& snapshots, const std::string& mark);

}  // namespace mvirt::zfs::internal

#endif  // MVIRT_ZFS_ZFS_CHANNEL_PROGRAMS_H_
