// VolumeIdIndex: which zvols directly under the pool carry a given id (the
// local value of a user property, mvirt:id), answered without reading every
// zvol each time.
//
// ZFS stays the only record. The index is built by one scan of the pool's
// zvols; before each answer it reads the pool's history log from where it
// left off. ZFS writes an internal event there, in the transaction group
// of the change, for every create, clone, rename, destroy, receive and
// property set or inherit, whoever makes it (`zfs` by hand, other
// programs, this daemon), so the events name every dataset whose id may
// have changed, and only those are read again (one read-only channel
// program). With nothing changed an answer costs one history read.
//
// It scans the whole pool again when the log cannot tell: records lost to
// the log's ring since the last read, an event it cannot interpret (the
// old numeric format, a rename without its target), more than
// kMaxEventsPerCatchUp events at once, the pool imported again (its log
// may have been rewound). Where the log cannot be read at all
// (the fake; a read failing) every answer scans, as before the index.
//
// Thread-safe: answers are serialized.
#ifndef MVIRT_ZFS_VOLUME_VOLUME_ID_INDEX_H_
#define MVIRT_ZFS_VOLUME_VOLUME_ID_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/mutex.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {

// What a run of history events means for an index of the zvols directly
// under `pool`: the datasets to read again, or that only a new scan can
// tell (`rescan`).
struct IdIndexUpdate {
  bool rescan = false;
  std::set<std::string> reread;  // full names, direct children of the pool
};
IdIndexUpdate InterpretHistory(const std::vector<PoolHistoryEvent>& events,
                               const std::string& pool);

class VolumeIdIndex {
 public:
  // Past this many events since the last answer, one scan is cheaper than
  // reading each dataset named.
  static constexpr size_t kMaxEventsPerCatchUp = 4096;

  VolumeIdIndex(Zfs& zfs, std::string pool, std::string id_property);

  // The zvols directly under the pool whose id is `id`, in name order (more
  // than one only if someone gave two the same id by hand). An error of
  // the scan or of the read of changed datasets (NOT_FOUND: the pool is
  // gone).
  absl::StatusOr<std::vector<std::string>> Holders(const std::string& id);

  // How often it scanned the whole pool (the first answer's scan included).
  uint64_t scans() const;

 private:
  absl::Status CatchUpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Scans the pool (`why`, logged at debug level); `history_end` is where
  // the log ended before the scan (events after it are read at the next
  // answer), unset if the log cannot be read.
  absl::Status ScanLocked(std::optional<PoolHistoryPosition> history_end, absl::string_view why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds `volume` under its id (none: nothing); drops `dataset`'s entry.
  void RememberLocked(const VolumeDigest& volume) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetLocked(const std::string& dataset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Zfs& zfs_;
  const std::string pool_;
  const std::string id_property_;
  mutable Mutex mu_;
  bool built_ ABSL_GUARDED_BY(mu_) = false;  // the maps below and history_ are valid
  PoolHistoryPosition history_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> id_of_ ABSL_GUARDED_BY(mu_);              // dataset -> its id
  std::map<std::string, std::set<std::string>> holders_ ABSL_GUARDED_BY(mu_);  // id -> datasets
  uint64_t scans_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_VOLUME_VOLUME_ID_INDEX_H_
