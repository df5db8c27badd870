// The ZFS adapter: the only part of mvirt-zfs that talks to libzfs and
// libzfs_core. Everything here uses plain C++ types and absl::Status results;
// no libzfs/libspl header leaks out of this folder (they break protobuf's).
//
// Errors: every failure is a Status whose code comes from MapZfsErrno (the one
// errno -> code table, error_mapping.h) and whose message names the operation
// and the dataset, e.g. "create volume 'vmpool/a': dataset already exists".
//
// Thread safety: a Zfs instance may be used from many threads at once.
// libzfs_core calls run concurrently; libzfs calls each borrow one of a few
// libzfs handles, so a few of them run at once and the rest wait.
#ifndef MVIRT_ZFS_ZFS_ZFS_H_
#define MVIRT_ZFS_ZFS_ZFS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "zfs/send_stream.h"

namespace mvirt::zfs {

// User properties set locally on a dataset (inherited values are excluded).
using UserProps = std::map<std::string, std::string>;

// A zvol as ZFS reports it.
struct VolumeProps {
  std::string name;  // full dataset name, "pool/vol"
  uint64_t volsize = 0;
  uint64_t volblocksize = 0;
  uint64_t used = 0;
  uint64_t referenced = 0;
  uint64_t logicalreferenced = 0;
  uint64_t written = 0;          // since the newest snapshot (all of referenced without one)
  uint64_t usedbysnapshots = 0;  // freed if every snapshot were destroyed
  uint64_t logicalused = 0;      // used before compression
  uint64_t refreservation = 0;
  double compressratio = 1.0;
  int64_t creation = 0;  // Unix seconds
  uint64_t createtxg = 0;
  uint64_t guid = 0;
  std::string origin;      // "pool/vol@snap" for a clone, empty otherwise
  bool encrypted = false;  // ZFS native encryption is on
  bool key_loaded = true;  // its data is readable (always, when not encrypted)
  UserProps user_props;
};

// A snapshot as ZFS reports it.
struct SnapshotProps {
  std::string name;  // full name, "pool/vol@snap"
  uint64_t used = 0;
  uint64_t referenced = 0;
  int64_t creation = 0;  // Unix seconds
  uint64_t createtxg = 0;
  uint64_t guid = 0;
  uint64_t userrefs = 0;            // number of holds
  uint64_t volsize = 0;             // of the volume when the snapshot was taken
  std::vector<std::string> clones;  // full names of datasets cloned from it
  UserProps user_props;
};

// A snapshot for TakeSnapshots: its name and the user properties it is
// born with.
struct NewSnapshot {
  std::string name;  // "pool/vol@snap"
  UserProps user_props;
};

// What ScanVolumes reads of a zvol.
struct VolumeDigest {
  std::string name;  // full dataset name, "pool/vol"
  std::string id;    // the local value of the asked user property; "" if unset or inherited
  uint64_t volsize = 0;
  bool operator==(const VolumeDigest&) const = default;
};

// A record of a pool's history log (`zpool history -i`):
// - an internal event that names a dataset: ZFS writes one in the
//   transaction group of every create, clone, rename, destroy, snapshot,
//   receive, clone swap (rollback) and property set or inherit, whoever
//   made it (`zfs` by hand, libzfs_core, channel programs, this daemon). A
//   volsize change writes none;
// - a user command's record (`command`): the command line a tool chose to
//   log after it succeeded (the `zfs` and `zpool` commands log theirs, in
//   the transaction group after the change), in `detail`.
struct PoolHistoryEvent {
  std::string event;     // "create", "rename", "set", "destroy", ...; "" if unnamed (old format)
  std::string dataset;   // the dataset named at the time ("pool/v", "pool/v@s")
  std::string detail;    // "-> pool/new" for a rename, "mvirt:id=..." for a set, a command line
  bool command = false;  // a user command's record ("zfs set volsize=2G pool/v" in detail)
  bool operator==(const PoolHistoryEvent&) const = default;
};

// A place in a pool's history log: an offset in the log of one import of
// the pool (it means nothing to another pool of the same name, nor to the
// same pool rewound at import).
struct PoolHistoryPosition {
  uint64_t load_guid = 0;  // the pool's load_guid, new at every import; 0: none
  uint64_t offset = 0;
  bool operator==(const PoolHistoryPosition&) const = default;
};

// What ReadPoolHistory read: the events after the position asked for (up
// to the number asked for), where the next read starts, and whether
// records between the two were lost: the log is a ring of fixed size
// (records older than its start are overwritten, and a read from before
// them starts at the oldest left), and a position of another import reads
// from the start.
struct PoolHistoryPage {
  std::vector<PoolHistoryEvent> events;
  bool events_dropped = false;  // there were more events than asked for
  PoolHistoryPosition next;
  bool records_lost = false;
};

// What a resume token continues: a send of `snapshot` ("pool/v@s") from
// `from` ("" for a full send).
struct ResumePoint {
  std::string snapshot;
  std::string from;
  bool raw = false;  // the interrupted stream was raw (zfs send -w)
};

// A pool's health and the settings the seed document prescribes, the space
// figures of its root dataset (what volumes can use) and the pool's own raw
// vdev figures.
// A top-level vdev of a pool: a disk, a file, a mirror, a raidz group...
struct TopLevelVdev {
  std::string name;  // as `zpool status` names it ("sdb", "/var/tmp/a.img", "mirror-0")
  uint64_t ashift = 0;
  std::string state;  // "ONLINE", "DEGRADED", "FAULTED", "OFFLINE", "UNAVAIL", "REMOVED"
  bool operator==(const TopLevelVdev&) const = default;
};

struct PoolProps {
  std::string name;
  std::string health;                         // "ONLINE", "DEGRADED", "FAULTED", ...
  uint64_t ashift = 0;                        // smallest ashift among top-level vdevs
  std::vector<TopLevelVdev> top_level_vdevs;  // log, cache and spare devices not included
  bool autotrim = false;
  std::string compression;  // of the root dataset, e.g. "lz4"
  std::string xattr;        // "sa", "on", "off"
  std::string atime;        // "on", "off"
  uint64_t used = 0;        // root dataset USED
  uint64_t available = 0;   // root dataset AVAILABLE
  double compressratio = 1.0;
  // The pool's own figures (`zpool list`): raw vdev space before redundancy.
  uint64_t size = 0;
  uint64_t allocated = 0;
  uint64_t free = 0;
  uint64_t capacity = 0;                  // percent allocated
  std::optional<uint64_t> fragmentation;  // percent; unset when the pool cannot tell
};

// A dataset's space as ZFS accounts it (`zfs get used,available`).
struct DatasetSpace {
  uint64_t used = 0;
  uint64_t available = 0;
};

// A FAILED_PRECONDITION that says the dataset is in use: a zvol whose device
// something has open (the kernel's long hold on the dataset).
absl::Status BusyError(absl::string_view message);
// True for a status made by BusyError.
bool IsBusy(const absl::Status& status);

class Zfs {
 public:
  virtual ~Zfs() = default;

  // The named pool. NOT_FOUND if no such pool is imported.
  virtual absl::StatusOr<PoolProps> GetPool(const std::string& pool) = 0;
  // The used and available bytes of a dataset (the pool's root: what
  // GetPool reports as used and available), in one cheap read. NOT_FOUND if
  // it does not exist.
  virtual absl::StatusOr<DatasetSpace> GetSpace(const std::string& dataset) = 0;

  // True if the dataset, volume or snapshot exists.
  virtual bool Exists(const std::string& name) = 0;

  // The zvol `name`. NOT_FOUND if absent; INVALID_ARGUMENT if it is not a zvol.
  virtual absl::StatusOr<VolumeProps> GetVolume(const std::string& name) = 0;

  // Every zvol that is a direct child of `parent`, in name order.
  virtual absl::StatusOr<std::vector<VolumeProps>> ListVolumes(const std::string& parent) = 0;

  // Every zvol that is a direct child of `parent`, in name order, with the
  // local value of user property `id_property` and its volsize: what an
  // id's uniqueness and the pool's provisioned total need, read in the
  // kernel in one call (a read-only channel program, one consistent view of
  // the pool's datasets), without ListVolumes' round trip per dataset and
  // without waiting for other libzfs calls. NOT_FOUND if `parent` does not
  // exist.
  virtual absl::StatusOr<std::vector<VolumeDigest>> ScanVolumes(const std::string& parent,
                                                                const std::string& id_property) = 0;

  // ScanVolumes of only those of `names` that are zvols directly under
  // `parent` (the others, and names that do not exist, are left out).
  virtual absl::StatusOr<std::vector<VolumeDigest>> ScanVolumesNamed(
      const std::string& parent, const std::vector<std::string>& names,
      const std::string& id_property) = 0;

  // The internal events and user command records of pool `pool`'s history
  // log written since `from` (a page's `next`; {}: the start of the log),
  // at most `max_events` of them, the log read to its end either way;
  // ioctl records are skipped. NOT_FOUND if the pool is not imported;
  // UNIMPLEMENTED where no log is kept (the fake).
  virtual absl::StatusOr<PoolHistoryPage> ReadPoolHistory(const std::string& pool,
                                                          const PoolHistoryPosition& from,
                                                          size_t max_events) = 0;

  // The snapshots of dataset `name`, oldest first (ordered by createtxg).
  virtual absl::StatusOr<std::vector<SnapshotProps>> ListSnapshots(const std::string& name) = 0;

  // Creates a sparse zvol (no refreservation) atomically with its user
  // properties and volmode=dev (set locally: the host sees the whole disk,
  // never a guest's partitions). volsize must already be a multiple of
  // volblocksize. ALREADY_EXISTS if the name is taken.
  virtual absl::Status CreateVolume(const std::string& name, uint64_t volsize,
                                    uint64_t volblocksize, const UserProps& user_props) = 0;

  // Sets volsize. The caller guarantees it is a multiple of volblocksize and
  // not a shrink: ZFS itself would truncate the volume.
  virtual absl::Status SetVolsize(const std::string& name, uint64_t volsize) = 0;

  // Destroys the given snapshots ("pool/vol@snap") in one atomic call: all or
  // none. FAILED_PRECONDITION if one has clones or holds.
  virtual absl::Status DestroySnapshots(const std::vector<std::string>& snapshots) = 0;

  // The snapshot `name` ("pool/vol@snap"). NOT_FOUND if absent.
  virtual absl::StatusOr<SnapshotProps> GetSnapshot(const std::string& name) = 0;

  // Takes all `snapshots` ("pool/vol@snap", at most one per dataset, one
  // pool) in one atomic call: all or none. `user_props` are set on each.
  // ALREADY_EXISTS (naming it) if one exists already.
  virtual absl::Status Snapshot(const std::vector<std::string>& snapshots,
                                const UserProps& user_props) = 0;

  // Takes every one of `snapshots` (at most one per dataset, one pool) with
  // its own user properties, in one transaction group: all or none. Checks
  // first, changing nothing if one fails, that each dataset exists, is a
  // zvol and has user property `mark` set on itself (NOT_FOUND naming the
  // first that does not: such a zvol is not the caller's), and that each
  // snapshot can be taken (ALREADY_EXISTS naming one that exists).
  // Returns the new snapshots as read in that transaction group, in the
  // order given (a new snapshot has no clones and no holds).
  virtual absl::StatusOr<std::vector<SnapshotProps>> TakeSnapshots(
      const std::vector<NewSnapshot>& snapshots, const std::string& mark) = 0;

  // Rolls dataset `name` back to its snapshot `snapshot` ("pool/vol@snap"),
  // destroying every newer snapshot, in one transaction: all or nothing.
  // Refused, changing nothing, with FAILED_PRECONDITION naming the cause
  // when the dataset is open (IsBusy(): a zvol whose device anything has
  // open; the kernel would roll back under it), a newer snapshot has clones
  // or holds, or a bookmark is newer than `snapshot`. NOT_FOUND if the
  // snapshot does not exist.
  virtual absl::Status Rollback(const std::string& name, const std::string& snapshot) = 0;

  // Creates `name` as a clone of snapshot `origin`, atomically with its user
  // properties and volmode=dev (set locally). ALREADY_EXISTS if `name` is
  // taken.
  virtual absl::Status Clone(const std::string& name, const std::string& origin,
                             const UserProps& user_props) = 0;

  // Sets a property on a dataset or snapshot (a local value), parsed as
  // `zfs set` would: a user property ("mvirt:id") or a native one
  // ("volmode" = "none").
  virtual absl::Status SetProperty(const std::string& name, const std::string& key,
                                   const std::string& value) = 0;
  // Removes the local value of user property `key` ("mvirt:id") from a
  // dataset or snapshot (`zfs inherit`); OK if it had none. NOT_FOUND if
  // `name` does not exist, INVALID_ARGUMENT for a native property.
  virtual absl::Status ClearUserProperty(const std::string& name, const std::string& key) = 0;

  // (SetProperty also takes "refreservation" = "auto" on a volume: all of
  // its volsize reserved, as `zfs create` without -s does, RESOURCE_EXHAUSTED
  // if the pool cannot; SetVolsize keeps such a reservation at the new
  // size.)

  // Renames a dataset within its pool, or a snapshot within its dataset
  // ("pool/v@a" to "pool/v@b"; clones keep it as their origin).
  // ALREADY_EXISTS if `to` exists, NOT_FOUND if `from` does not.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;

  // Creates a filesystem for the daemon's own hierarchy: never mounted
  // (canmount=off, mountpoint=none); zvols below it get device nodes only
  // if `zvol_devices` (volmode=dev, else volmode=none). OK if it exists.
  virtual absl::Status EnsureHiddenFilesystem(const std::string& name, bool zvol_devices) = 0;

  // Copies snapshot `source` ("pool/a@s") to the new dataset and snapshot
  // `target` ("pool/b@t") with an in-pool send/receive: the copy shares no
  // blocks with the source, so either can be destroyed independently.
  // Compressed blocks stay compressed.
  virtual absl::Status CopySnapshot(const std::string& source, const std::string& target) = 0;

  // Writes snapshot `snapshot` ("pool/v@s") as a ZFS send stream into `fd`:
  // the whole volume as of `snapshot` if `from` is "", else what changed
  // since `from` ("pool/v@a", an earlier snapshot of the same dataset).
  // Blocks are sent as they are on disk (compressed ones stay compressed;
  // large blocks and embedded data as such), the same choice for every
  // stream so that the incrementals of a chain fit together. Blocks until
  // the stream is written: another thread must read the other end. NOT_FOUND
  // if a snapshot is missing, INVALID_ARGUMENT if `from` is not an earlier
  // snapshot of the same dataset, CANCELLED if the reader closed its end.
  // `raw` (`zfs send -w`): encrypted blocks stay encrypted (the receiver
  // gets the dataset encrypted with the sender's key, which it needs to
  // read it; the sender needs no key loaded); the same for every stream of
  // a chain. Without it an encrypted dataset's key must be loaded.
  virtual absl::Status SendSnapshot(int fd, const std::string& snapshot, const std::string& from,
                                    bool raw) = 0;

  // Receives the send stream read from `fd`, whose first record `begin`
  // (ParseSendStreamBegin) the caller has already read from it, as snapshot
  // `target` ("pool/v@s"). A full stream creates zvol pool/v, which must not
  // exist (ALREADY_EXISTS) and whose parent must (NOT_FOUND), with
  // `local_props` and volmode=dev set locally before any data arrives. An
  // incremental stream adds the snapshot to the existing pool/v, which must
  // have the stream's base snapshot (the same guid) and not have been
  // written since it: FAILED_PRECONDITION naming which, nothing changed
  // (`local_props` must be empty then). The snapshot keeps the
  // sender's guid. Resumable: a stream that ends early fails with ABORTED
  // and keeps what arrived (ReceiveResumeToken, AbortReceive); a stream
  // that resumes it (ResumeSend; `begin.resuming`) continues that partial
  // state and sets no properties (`local_props` must be empty: those of the
  // first attempt were kept). Nothing stops a receive into a zvol whose
  // device is open: callers must refuse that.
  virtual absl::Status ReceiveSnapshot(int fd, const SendStreamBegin& begin,
                                       const std::string& target, const UserProps& local_props) = 0;

  // Writes into `fd` the rest of the stream whose receive was interrupted,
  // as that receive's `token` (ReceiveResumeToken on the receiving side)
  // describes it: a BEGIN record that says it resumes, then what did not
  // arrive. Blocks like SendSnapshot. The token must name a snapshot of
  // `dataset` that is still the one it was (the same guid), and its base
  // must still exist: INVALID_ARGUMENT for a token that is not one or names
  // another dataset, NOT_FOUND if the snapshot or the base is gone,
  // FAILED_PRECONDITION if the name now belongs to another snapshot.
  virtual absl::Status ResumeSend(int fd, const std::string& dataset, const std::string& token) = 0;

  // What the send that `token` (a receive's resume token) continues is:
  // its snapshot of `dataset` and that send's base ("" for a full one),
  // checked as ResumeSend checks them (same statuses). Reads only.
  virtual absl::StatusOr<ResumePoint> DescribeResumeToken(const std::string& dataset,
                                                          const std::string& token) = 0;

  // ZFS's estimate of the bytes SendSnapshot(fd, snapshot, from, raw)
  // writes (`zfs send -nP`), with the same argument checks and statuses.
  virtual absl::StatusOr<uint64_t> SendSize(const std::string& snapshot, const std::string& from,
                                            bool raw) = 0;

  // The token of the interrupted receive into dataset `name` (what the
  // sender needs to resume it), or "" if there is none. NOT_FOUND if `name`
  // does not exist.
  virtual absl::StatusOr<std::string> ReceiveResumeToken(const std::string& name) = 0;

  // Drops what an interrupted receive into `name` kept: the dataset itself
  // if the receive was creating it, else the hidden partial state below it
  // (`name` stays as it was). FAILED_PRECONDITION if `name` holds no
  // interrupted receive (a complete dataset is never destroyed here),
  // NOT_FOUND if it does not exist.
  virtual absl::Status AbortReceive(const std::string& name) = 0;

  // Puts user hold `tag` on `snapshot` ("pool/v@s"), as `zfs hold` does: a
  // held snapshot cannot be destroyed (FAILED_PRECONDITION naming the hold)
  // until every hold is released; the hold survives reboots. NOT_FOUND if
  // the snapshot does not exist, ALREADY_EXISTS if it has that hold.
  virtual absl::Status Hold(const std::string& snapshot, const std::string& tag) = 0;

  // Releases user hold `tag` of `snapshot`: a snapshot marked for deferred
  // destruction goes with its last hold if it has no clones. NOT_FOUND if
  // it has no such hold (or does not exist).
  virtual absl::Status Release(const std::string& snapshot, const std::string& tag) = 0;

  // The tags of the user holds on `snapshot`, sorted. NOT_FOUND if it does
  // not exist.
  virtual absl::StatusOr<std::vector<std::string>> Holds(const std::string& snapshot) = 0;

  // Marks snapshots for deferred destruction: each vanishes as soon as its
  // last clone is destroyed (at once if it has none).
  virtual absl::Status DeferDestroySnapshots(const std::vector<std::string>& snapshots) = 0;

  // Destroys dataset `name` and all its snapshots in one transaction: all or
  // nothing. Refused, destroying nothing, with FAILED_PRECONDITION naming the
  // cause when the dataset is open (IsBusy()), has a child dataset, a
  // snapshot has clones or holds or is being sent, or a bookmark is newer
  // than its latest snapshot.
  // A transient open (udev probing a zvol after a write) is waited out for
  // a few seconds. NOT_FOUND if it does not exist.
  virtual absl::Status DestroyWithSnapshots(const std::string& name) = 0;
};

// Opens libzfs and libzfs_core. UNAVAILABLE if the ZFS kernel module is not
// loaded or /dev/zfs cannot be opened.
absl::StatusOr<std::unique_ptr<Zfs>> OpenLibZfs();

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_ZFS_ZFS_H_
