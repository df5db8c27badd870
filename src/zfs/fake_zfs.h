// FakeZfs: an in-memory Zfs for tests, in the spirit of LevelDB's
// helpers/memenv. It keeps pools, filesystems, zvols, snapshots, holds and
// bookmarks, and answers every call with the status code and, as far as
// reasonable, the message LibZfs gives in the same state (the same errno
// through error_mapping.h, the texts of libzfs and channel_programs.cc).
// tests/unit/zfs_contract_tests.h states that behaviour as tests, and
// tests/zfs/zfs_contract_test.cc runs the same tests on real ZFS.
//
// What it models: a transaction-group counter that every change advances
// (createtxg, snapshot order); guids; user properties local vs inherited;
// the native properties the daemon sets (volmode, canmount, mountpoint,
// readonly); a zvol's data as a string (tests write it; snapshots, clones
// and copies carry it; rollback restores it and the volsize); clones (a
// dataset's origin); holds; deferred destruction; the kernel's long hold of
// an open zvol (SetOpen); send streams (a real BEGIN record, then a body of
// its own format), received whole, interrupted (a token) and resumed. It
// does not model space: pool figures are what tests set. Other native
// properties and snapshot renames are UNIMPLEMENTED. Where its receive
// differs from ZFS's (not contract-tested): it reads the whole stream
// before any state exists (ZFS makes the partial dataset or `%recv` at the
// BEGIN record and stops at the END record, without waiting for end of
// file); "written since the base" compares data, not block birth times;
// it does not refuse a resumed incremental into a target written since
// the interruption (ZFS does, at the end, keeping the partial state).
//
// Thread-safe: every call runs under one mutex.
#ifndef MVIRT_ZFS_ZFS_FAKE_ZFS_H_
#define MVIRT_ZFS_ZFS_FAKE_ZFS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {

// Not final: a unit test of the volume index scripts a history log over it
// (the fake keeps none).
class FakeZfs : public Zfs {
 public:
  FakeZfs() = default;

  // --- What tests set up: what ZFS does outside this interface ---

  // Imports pool `name` with an empty root filesystem: ONLINE, the seed's
  // settings (ashift 12, autotrim, lz4, xattr=sa, atime=off), 0 bytes used
  // and 100 GiB available. No-op if it exists.
  void AddPool(const std::string& name);
  // Replaces what GetPool(props.name) returns (adds the pool if missing).
  void SetPool(const PoolProps& props);

  // The zvol's device is open (`open`) or closed: while open, the kernel's
  // long hold makes DestroyWithSnapshots and Rollback refuse it (IsBusy).
  void SetOpen(const std::string& dataset, bool open);

  // `zfs bookmark SNAPSHOT BOOKMARK` ("pool/vol#b", same dataset): a
  // bookmark with the snapshot's createtxg, which outlives the snapshot.
  absl::Status Bookmark(const std::string& snapshot, const std::string& bookmark);

  // The zvol's data (what tests write through its device): carried by
  // snapshots, clones and copies; restored by a rollback.
  absl::Status WriteData(const std::string& dataset, const std::string& data);
  absl::StatusOr<std::string> ReadData(const std::string& dataset) const;

  // The effective value of native property `key` of a dataset, as `zfs get`
  // shows it: local, else inherited (volmode, mountpoint, readonly), else
  // the default. NOT_FOUND if the dataset is missing.
  absl::StatusOr<std::string> NativeProperty(const std::string& name, const std::string& key) const;

  enum class DumpDetail {
    kFull,              // everything
    kWithoutIdentities  // without guids and createtxgs (equal across reruns)
  };
  // The whole state, one sorted line per pool, dataset, snapshot and
  // bookmark (never creation times), for before/after comparisons.
  std::string Dump(DumpDetail detail = DumpDetail::kFull) const;

  // --- Zfs ---
  absl::StatusOr<PoolProps> GetPool(const std::string& pool) override;
  // A pool's root: what SetPool set; any other dataset: its data as used,
  // the pool's available.
  absl::StatusOr<DatasetSpace> GetSpace(const std::string& dataset) override;
  absl::Status ClearUserProperty(const std::string& name, const std::string& key) override;
  bool Exists(const std::string& name) override;
  absl::StatusOr<VolumeProps> GetVolume(const std::string& name) override;
  absl::StatusOr<std::vector<VolumeProps>> ListVolumes(const std::string& parent) override;
  absl::StatusOr<std::vector<VolumeDigest>> ScanVolumesNamed(
      const std::string& parent, const std::vector<std::string>& names,
      const std::string& id_property) override;
  // The fake keeps no history log: UNIMPLEMENTED (its users then scan).
  absl::StatusOr<PoolHistoryPage> ReadPoolHistory(const std::string& pool,
                                                  const PoolHistoryPosition& from,
                                                  size_t max_events) override;
  absl::StatusOr<std::vector<VolumeDigest>> ScanVolumes(const std::string& parent,
                                                        const std::string& id_property) override;
  absl::StatusOr<std::vector<SnapshotProps>> ListSnapshots(const std::string& name) override;
  absl::Status CreateVolume(const std::string& name, uint64_t volsize, uint64_t volblocksize,
                            const UserProps& user_props) override;
  absl::Status SetVolsize(const std::string& name, uint64_t volsize) override;
  absl::Status DestroySnapshots(const std::vector<std::string>& snapshots) override;
  absl::StatusOr<SnapshotProps> GetSnapshot(const std::string& name) override;
  absl::Status Snapshot(const std::vector<std::string>& snapshots,
                        const UserProps& user_props) override;
  absl::StatusOr<std::vector<SnapshotProps>> TakeSnapshots(
      const std::vector<NewSnapshot>& snapshots, const std::string& mark) override;
  absl::Status Rollback(const std::string& name, const std::string& snapshot) override;
  absl::Status Clone(const std::string& name, const std::string& origin,
                     const UserProps& user_props) override;
  absl::Status SetProperty(const std::string& name, const std::string& key,
                           const std::string& value) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status EnsureHiddenFilesystem(const std::string& name, bool zvol_devices) override;
  absl::Status CopySnapshot(const std::string& source, const std::string& target) override;
  absl::Status SendSnapshot(int fd, const std::string& snapshot, const std::string& from,
                            bool raw) override;
  absl::Status ReceiveSnapshot(int fd, const SendStreamBegin& begin, const std::string& target,
                               const UserProps& local_props) override;
  absl::StatusOr<std::string> ReceiveResumeToken(const std::string& name) override;
  absl::Status AbortReceive(const std::string& name) override;
  absl::Status ResumeSend(int fd, const std::string& dataset, const std::string& token) override;
  absl::StatusOr<ResumePoint> DescribeResumeToken(const std::string& dataset,
                                                  const std::string& token) override;
  absl::StatusOr<uint64_t> SendSize(const std::string& snapshot, const std::string& from,
                                    bool raw) override;
  absl::Status Hold(const std::string& snapshot, const std::string& tag) override;
  absl::Status Release(const std::string& snapshot, const std::string& tag) override;
  absl::StatusOr<std::vector<std::string>> Holds(const std::string& snapshot) override;
  absl::Status DeferDestroySnapshots(const std::vector<std::string>& snapshots) override;
  absl::Status DestroyWithSnapshots(const std::string& name) override;

 private:
  struct Snap {
    uint64_t createtxg = 0;
    uint64_t guid = 0;
    int64_t creation = 0;
    uint64_t volsize = 0;
    std::string data;
    UserProps user_props;
    std::set<std::string> holds;
    bool defer_destroy = false;
  };
  struct Dataset {
    bool is_volume = false;
    uint64_t volsize = 0;
    uint64_t volblocksize = 0;
    uint64_t createtxg = 0;
    uint64_t guid = 0;
    int64_t creation = 0;
    std::string origin;           // "pool/vol@snap" of a clone
    uint64_t refreservation = 0;  // "auto": the volsize (ZFS adds its metadata)
    std::string data;
    UserProps user_props;                        // local user properties
    std::map<std::string, std::string> natives;  // local native properties
    std::map<std::string, Snap> snaps;           // by short name
    std::map<std::string, uint64_t> bookmarks;   // short name -> createtxg
    // An interrupted receive: its resume token, and whether it was creating
    // this dataset (then the dataset is only that partial state).
    std::string receive_token;
    std::string received;      // the stream's body so far
    std::string receive_base;  // an incremental's base snapshot (short name)
    bool partial = false;
  };

  // Lookups; null if absent. Snapshot names are "dataset@short".
  Dataset* FindDataset(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const Dataset* FindDataset(const std::string& name) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Snap* FindSnap(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const Snap* FindSnap(const std::string& name) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Full names of the datasets cloned from snapshot `name`, in name order.
  std::vector<std::string> ClonesOf(const std::string& name) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The snapshots of `dataset` ("dataset@short"), oldest first.
  static std::vector<std::string> SnapsByTxg(const Dataset& dataset, const std::string& name);
  // The whole stream SendSnapshot(snapshot, from) writes, or its refusal.
  absl::StatusOr<std::string> StreamOf(const std::string& snapshot, const std::string& from)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What a resume token of a send of `toname` (guid `toguid`, base guid
  // `fromguid`) continues, checked against `dataset`'s snapshots.
  absl::StatusOr<ResumePoint> ResumePointOf(const std::string& dataset, uint64_t toguid,
                                            uint64_t fromguid, const std::string& toname)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasChildren(const std::string& name) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The first dataset below `name` in name order, or "". Requires mu_ held.
  std::string FirstChildOf(const std::string& name) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // 0, or the errno lzc_create/lzc_clone/lzc_rename give when dataset
  // `name` cannot be made: ENOENT (no parent), kZfsErrWrongParent, EEXIST.
  int CheckNewDataset(const std::string& name) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A new dataset stamped with the next txg and guid.
  Dataset NewDataset(bool is_volume) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Snap NewSnap(const Dataset& of) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint64_t NextGuid() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  VolumeProps ToVolumeProps(const std::string& name, const Dataset& d) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  SnapshotProps ToSnapshotProps(const std::string& name, const Snap& s) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Destroys snapshot `name` if it is marked for deferred destruction and
  // has neither holds nor clones left.
  void ReapIfDeferred(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes `name` with its snapshots and bookmarks; reaps its origin.
  void EraseDataset(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The refusal of the destroy channel program, or OK.
  absl::Status CheckDestroy(const std::string& name, const Dataset& d) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The short name of `d`'s snapshot with `guid`, or "".
  static std::string SnapWithGuid(const Dataset& d, uint64_t guid);
  // A snapshot's send stream body (after the BEGIN record), of the fake's
  // own format.
  static std::string StreamBody(const Snap& snap, const Dataset& of);
  // The refusals of ReceiveSnapshot's target, in the kernel's order, or OK.
  absl::Status CheckReceive(const SendStreamBegin& begin, const std::string& target) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The refusals of Rollback, or OK.
  absl::Status CheckRollback(const std::string& name, const std::string& snapshot) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status DestroySnaps(const std::vector<std::string>& snapshots, bool defer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SetNative(const std::string& name, Dataset& d, const std::string& key,
                         const std::string& value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, PoolProps> pools_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Dataset> datasets_ ABSL_GUARDED_BY(mu_);  // by full name
  std::set<std::string> open_ ABSL_GUARDED_BY(mu_);               // zvols whose device is open
  uint64_t txg_ ABSL_GUARDED_BY(mu_) = 4;                         // the last synced txg
  uint64_t guid_seed_ ABSL_GUARDED_BY(mu_) = 0x6d76697274;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_ZFS_FAKE_ZFS_H_
