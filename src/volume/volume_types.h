// The plain value types of the volume layer: what VolumeManager returns and
// what change events carry. No protos, no ZFS handles; the gRPC layer
// converts them (src/service/convert.h).
#ifndef MVIRT_ZFS_VOLUME_VOLUME_TYPES_H_
#define MVIRT_ZFS_VOLUME_VOLUME_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "replication/replication_job_info.h"

namespace mvirt::zfs {

struct SnapshotInfo {
  std::string id;  // its mvirt:id, or the ZFS guid when it has none
  std::string name;
  std::string full_name;  // pool/volume@snapshot
  uint64_t used_bytes = 0;
  int64_t created_at = 0;  // Unix seconds
  uint64_t createtxg = 0;
  uint64_t guid = 0;  // ZFS's, the same wherever a stream carried it
};

struct VolumeInfo {
  std::string id;
  std::string name;
  std::string path;  // /dev/zvol/<pool>/<name>
  uint64_t volsize_bytes = 0;
  uint64_t used_bytes = 0;
  uint64_t volblocksize = 0;
  double compression_ratio = 1.0;
  int64_t created_at = 0;               // Unix seconds
  std::vector<SnapshotInfo> snapshots;  // ordered by createtxg
  bool encrypted = false;
  bool key_loaded = true;  // no device until it is
  // Thick: writes never fail for lack of space (refreservation covers the
  // volsize); 0 for a thin (sparse) volume.
  uint64_t refreservation_bytes = 0;
  bool thick = false;
  // ZFS's space figures (see Volume in the proto).
  uint64_t referenced_bytes = 0;
  uint64_t written_bytes = 0;
  uint64_t used_by_snapshots_bytes = 0;
  uint64_t logical_used_bytes = 0;
};

struct TemplateInfo {
  std::string id;
  std::string name;
  std::string snapshot_path;  // pool/.mvirt/templates/NAME@template
  std::string source_volume;  // the volume it was promoted from, if any
  std::string import_source;  // the image it was imported from, if any
  uint64_t size_bytes = 0;    // volsize: the smallest size of a clone
  int64_t created_at = 0;     // Unix seconds
  uint32_t clone_count = 0;
};

// A change of a volume: its full current state, or none if it was deleted.
struct VolumeEventInfo {
  std::string volume_id;
  int64_t timestamp = 0;  // Unix seconds
  std::optional<VolumeInfo> volume;
  // A replication job of the volume moved on (`volume` is its state then).
  std::optional<ReplicationJobInfo> replication_job;
};

// What CreateStagingVolume needs to know of the template being imported.
struct StagingVolumeParams {
  std::string template_name;
  std::string template_id;    // the template's mvirt:id once complete
  std::string job_id;         // the import job building it
  std::string import_source;  // shown as the template's import_source
  uint64_t size_bytes = 0;    // rounded up to the volblocksize
};

// A zvol an import writes an image into before it becomes a template.
struct StagingVolume {
  std::string template_name;
  std::string template_id;
  std::string import_source;
  std::string dataset;  // pool/.mvirt/imports/<template>-<job id>
  std::string device;   // its /dev/zvol link, ready for writing
  uint64_t volsize = 0;
  uint64_t volblocksize = 0;
};

struct PoolStatsInfo {
  std::string name;
  uint64_t total_bytes = 0;  // root dataset used + available
  uint64_t available_bytes = 0;
  uint64_t used_bytes = 0;
  uint64_t provisioned_bytes = 0;  // sum of managed volumes' volsize
  double compression_ratio = 1.0;
  uint64_t volume_count = 0;  // managed volumes
  // The pool itself (zpool list): health, raw vdev space, its state per
  // top-level vdev.
  std::string health;
  uint64_t pool_size_bytes = 0;
  uint64_t pool_allocated_bytes = 0;
  uint64_t pool_free_bytes = 0;
  uint64_t capacity_percent = 0;
  std::optional<uint64_t> fragmentation_percent;  // unset when the pool cannot tell
  struct Vdev {
    std::string name;
    std::string state;
  };
  std::vector<Vdev> vdevs;
  // The space guard: provisioned / total, its limit (0: none), and the free
  // space it keeps.
  double overcommit_ratio = 0;
  double max_overcommit = 0;
  uint64_t reserve_bytes = 0;
};

struct CreateVolumeParams {
  std::string name;
  uint64_t size_bytes = 0;
  std::optional<uint64_t> volblocksize;  // default 16 KiB
  std::string id;                        // empty: a fresh UUID
  bool thick = false;                    // all of its size reserved (refreservation), not sparse
};

// What one run of the snapshot scheduler did (counts of snapshots).
struct SnapshotPolicyRun {
  uint64_t taken = 0;
  uint64_t pruned = 0;
  uint64_t kept_protected = 0;  // beyond keep, but clones or holds depend on them
  uint64_t refused = 0;         // not taken: refused by the space guard
  uint64_t failed = 0;          // not taken or not pruned for another reason
};

// A zvol for AdoptVolume to take under management.
struct AdoptVolumeParams {
  std::string dataset;   // "<pool>/path/to/zvol"
  std::string new_name;  // empty: it keeps its name (<pool>/<name>)
  std::string id;        // empty: a fresh UUID
  bool allow_unmanaged_origin = false;
  bool allow_open = false;  // never with new_name
};

struct CloneVolumeParams {
  std::string name;                    // the new volume
  std::optional<uint64_t> size_bytes;  // default: the snapshot's volsize
  std::string id;                      // empty: a fresh UUID
  bool thick = false;                  // all of its size reserved, as CreateVolumeParams
};

// What to send of a volume (SendVolume): snapshot `snapshot`, whole or
// incremental from `from_snapshot` or from the snapshot with guid
// `from_guid` (at most one of the two); or, with `resume_token`, the rest
// of an interrupted receive (the other fields empty).
struct SendVolumeParams {
  std::string volume;
  std::string snapshot;
  std::string from_snapshot;
  uint64_t from_guid = 0;
  std::string resume_token;
  std::optional<bool> raw;  // unset: raw exactly when the volume is encrypted
};

// A send, resolved and checked: what VolumeManager::Send writes, and what
// the receiving side is told of it.
struct SendPlan {
  std::string volume_id;
  std::string volume_name;
  SnapshotInfo snapshot;
  uint64_t snapshot_guid = 0;
  std::string from_snapshot;  // the base's name, "" for a full stream
  uint64_t from_guid = 0;
  uint64_t estimated_bytes = 0;  // ZFS's estimate; 0 when resuming
  bool resuming = false;
  uint64_t volsize_bytes = 0;
  uint64_t volblocksize = 0;
  std::string dataset;  // pool/<volume>
  std::string resume_token;
  // A template's stream: its name (volume_name is empty, volume_id is the
  // template's id).
  std::string template_name;
  bool raw = false;  // encrypted blocks sent encrypted (zfs send -w)
};

// A template made from a template's stream (ReceiveTemplate).
struct ReceiveTemplateParams {
  std::string template_name;
  std::string template_id;  // "" = generated
};

// Where a received stream goes (ReceiveVolume).
struct ReceiveVolumeParams {
  std::string volume_name;
  std::string volume_id;     // a new volume's id ("" = generated); an existing one's must match
  std::string snapshot_id;   // the received snapshot's id ("" = generated)
  bool last_stream = false;  // the volume stops being a replica: no base hold stays
};

struct ReceiveResult {
  VolumeInfo volume;
  SnapshotInfo snapshot;
};

// The interrupted receive into a volume name, if any.
struct ReceiveStateInfo {
  std::string volume_name;
  std::string resume_token;  // "" if there is none
  bool creating = false;     // it was making the volume (a full stream)
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_VOLUME_VOLUME_TYPES_H_
