// VolumeIndex: the managed zvols directly under the pool (those whose user
// property mvirt:id is set locally), by id and with their volsize: which
// volumes carry an id (the id check of creates, clones and receives) and
// the pool's provisioned total (GetPoolStats, the space guard), answered
// without reading every zvol each time.
//
// ZFS stays the only record. The index is built by one scan of the pool's
// zvols; before each answer it reads the pool's history log from where it
// left off and reads again only the datasets the new records name:
// - the internal events ZFS writes in the transaction group of every
//   create, clone, rename, destroy, receive and property set or inherit,
//   whoever makes it (`zfs` by hand, other programs, this daemon);
// - the clone swaps of a rollback or an incremental receive (the hidden
//   pool/v/%rollback or %recv names pool/v), which may bring back another
//   volsize;
// - a volsize change writes no internal event: the `zfs` command's own
//   record ("zfs set volsize=... pool/v", which the CLI writes after the
//   change, in a later transaction group) names the volume; this daemon's
//   own resizes are reported with Changed().
// With nothing changed an answer costs one history read.
//
// What it cannot see: a volsize change by another program that writes no
// command record (libzfs's zfs_prop_set without zpool_log_history) counts
// in the total only after the next full scan. And a `zfs set volsize` by
// hand counts once its command record is written (within a transaction
// group, zfs_txg_timeout: 5 s by default, after the command returned).
//
// It scans the whole pool again when the log cannot tell: records lost to
// the log's ring since the last read, an event it cannot interpret (the
// old numeric format, a rename without its target, a volsize command that
// names no dataset of the pool), more than kMaxEventsPerCatchUp records at
// once, the pool imported again (its log may have been rewound). Where the
// log cannot be read at all (the fake; a read failing) every answer scans,
// as before the index.
//
// Thread-safe: answers are serialized.
#ifndef MVIRT_ZFS_VOLUME_VOLUME_INDEX_H_
#define MVIRT_ZFS_VOLUME_VOLUME_INDEX_H_

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

// What a run of history records means for an index of the zvols directly
// under `pool`: the datasets to read again, or that only a new scan can
// tell (`rescan`).
struct VolumeIndexUpdate {
  bool rescan = false;
  std::set<std::string> reread;  // full names, direct children of the pool
};
VolumeIndexUpdate InterpretHistory(const std::vector<PoolHistoryEvent>& events,
                                   const std::string& pool);

// The managed volumes' volsizes summed, and how many there are.
struct ProvisionedTotal {
  uint64_t bytes = 0;
  uint64_t volumes = 0;
  bool operator==(const ProvisionedTotal&) const = default;
};

class VolumeIndex {
 public:
  // Past this many records since the last answer, one scan is cheaper than
  // reading each dataset named.
  static constexpr size_t kMaxEventsPerCatchUp = 4096;

  VolumeIndex(Zfs& zfs, std::string pool, std::string id_property);

  // The zvols directly under the pool whose id is `id`, in name order (more
  // than one only if someone gave two the same id by hand). An error of
  // the scan or of the read of changed datasets (NOT_FOUND: the pool is
  // gone).
  absl::StatusOr<std::vector<std::string>> Holders(const std::string& id);

  // The managed zvols directly under the pool: their volsizes summed and
  // their count. Errors as Holders.
  absl::StatusOr<ProvisionedTotal> Provisioned();

  // This process changed `dataset`'s volsize, which writes no record to the
  // pool's history: it is read again before the next answer. Call it after
  // the change was made (or failed), never before.
  void Changed(const std::string& dataset);

  // How often it scanned the whole pool (the first answer's scan included).
  uint64_t scans() const;

 private:
  struct Managed {
    std::string id;
    uint64_t volsize = 0;
  };

  absl::Status CatchUpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Scans the pool (`why`, logged at debug level); `history_end` is where
  // the log ended before the scan (events after it are read at the next
  // answer), unset if the log cannot be read.
  absl::Status ScanLocked(std::optional<PoolHistoryPosition> history_end, absl::string_view why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds `volume` if it is managed (has an id); drops `dataset`'s entry.
  void RememberLocked(const VolumeDigest& volume) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetLocked(const std::string& dataset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Zfs& zfs_;
  const std::string pool_;
  const std::string id_property_;
  mutable Mutex mu_;
  bool built_ ABSL_GUARDED_BY(mu_) = false;  // the maps below and history_ are valid
  PoolHistoryPosition history_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Managed> managed_ ABSL_GUARDED_BY(mu_);                // by dataset
  std::map<std::string, std::set<std::string>> holders_ ABSL_GUARDED_BY(mu_);  // id -> datasets
  ProvisionedTotal total_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> changed_ ABSL_GUARDED_BY(mu_);  // by Changed(), to read again
  uint64_t scans_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_VOLUME_VOLUME_INDEX_H_
