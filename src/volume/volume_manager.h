// VolumeManager: the volume logic of mvirt-zfs, between the gRPC layer and
// the ZFS adapter: input validation, dataset layout, per-name locking,
// idempotency, device readiness and the safety checks before destructive
// operations.
//
// Layout: volume NAME is the zvol <pool>/NAME, its device
// /dev/zvol/<pool>/NAME. A volume is "managed" when its dataset carries a
// local `mvirt:id` user property; datasets without it are never touched and
// read as NOT_FOUND. Metadata lives only in ZFS properties, so there is no
// side database to disagree with ZFS.
//
// Every method validates all of its input before ZFS is touched, and answers
// with a Status whose code follows the gRPC canon and whose message names the
// operation and the object. Thread-safe: calls on one volume name are
// serialized, calls on different names run in parallel.
#ifndef MVIRT_ZFS_VOLUME_VOLUME_MANAGER_H_
#define MVIRT_ZFS_VOLUME_VOLUME_MANAGER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/broadcaster.h"
#include "common/keyed_mutex.h"
#include "common/mutex.h"
#include "common/serial_executor.h"
#include "device/zvol_devices.h"
#include "volume/dataset_names.h"
#include "volume/snapshot_policy.h"
#include "volume/space_guard.h"
#include "volume/volume_index.h"
#include "volume/volume_types.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {

// User properties the daemon sets on what it creates.
inline constexpr char kIdProperty[] = "mvirt:id";
inline constexpr char kKindProperty[] = "mvirt:kind";
inline constexpr char kKindVolume[] = "volume";
inline constexpr char kKindTemplate[] = "template";
inline constexpr char kSourceVolumeProperty[] = "mvirt:source-volume";
inline constexpr char kImportSourceProperty[] = "mvirt:import-source";
// Shared by the snapshots that one CreateSnapshots call took together.
inline constexpr char kSnapshotGroupProperty[] = "mvirt:snapshot-group";
inline constexpr char kImportJobProperty[] = "mvirt:import-job";
// The user hold (`zfs holds`) on the newest snapshot a volume received from
// a replication source: the base of the next incremental, kept from
// DeleteSnapshot, rollback and `zfs destroy` until a newer one arrives.
inline constexpr char kReplicationBaseHold[] = "mvirt-zfs:replication-base";

struct VolumeManagerOptions {
  std::string pool = "vmpool";
  // How long to wait for /dev/zvol links to appear or vanish.
  absl::Duration device_timeout = absl::Seconds(30);
  // The event that follows a snapshot (the volume with all its snapshots)
  // is read and published after the call has returned, on threads of the
  // manager's own (the daemon; several volumes' events at once), or before
  // it returns (tests that look at events right after a call). Either way
  // it comes before the event of the next call on that volume.
  bool publish_snapshot_events_after_return = false;
  // The space guard's limits (volume/space_guard.h); none by default here,
  // the daemon's flags set them.
  SpaceLimits space;
};

class VolumeManager {
 public:
  // `zfs` and `devices` (LinuxZvolDevices::Get() in the daemon; fakes in
  // tests) must outlive the manager.
  VolumeManager(Zfs& zfs, ZvolDevices& devices, VolumeManagerOptions options);

  const std::string& pool() const { return options_.pool; }

  // Space of the pool's root dataset and the provisioned total.
  absl::StatusOr<PoolStatsInfo> GetPoolStats();
  // The pool's health and settings. UNAVAILABLE if it is not imported.
  absl::StatusOr<PoolProps> ReadPool();

  // Creates a thin zvol of size_bytes rounded up to its volblocksize and
  // returns once its device is ready. It is made under .mvirt/creating with
  // all its properties and renamed into place, so a crash leaves nothing
  // under its name. Idempotent: if the volume exists with the same id, size
  // and volblocksize it is returned; otherwise ALREADY_EXISTS.
  // INVALID_ARGUMENT for a bad name, id, volblocksize, a size of 0 or larger
  // than the pool's capacity (used + available). Of concurrent creates of one
  // name, exactly one creates the volume. DEADLINE_EXCEEDED if the device
  // does not appear in time (the volume is left in place, and its event
  // published, for an idempotent retry).
  absl::StatusOr<VolumeInfo> Create(const CreateVolumeParams& params);

  // NOT_FOUND if there is no managed volume of that name.
  absl::StatusOr<VolumeInfo> Get(const std::string& name);

  // All managed volumes, in name order.
  absl::StatusOr<std::vector<VolumeInfo>> List();

  // Grows a volume online to new_size_bytes rounded up to its volblocksize.
  // A shrink is refused with FAILED_PRECONDITION and changes nothing; the same
  // size is a no-op.
  absl::StatusOr<VolumeInfo> Resize(const std::string& name, uint64_t new_size_bytes);

  // Destroys the volume and its snapshots in one transaction, then waits for
  // its device link to vanish. FAILED_PRECONDITION, changing nothing, when
  // clones depend on one of its snapshots, a snapshot is held, or anything
  // has the device open (the kernel says so; the refusal names the clones,
  // holds with their tags, processes, mounts, loop or dm devices it can
  // see). With `release_replication_holds`, the kReplicationBaseHold holds
  // are released first (and put back if the destroy fails).
  absl::Status Delete(const std::string& name, bool release_replication_holds = false);

  // --- Renames (volume_renames.cc) ---

  // Renames volume `name` to `new_name`; its id, data, snapshots, holds and
  // clones stay. Returns once the old device link is gone and the new one
  // is the volume (BLKZNAME), its event published first. Refused, changing
  // nothing: FAILED_PRECONDITION, naming who, while its device is open (a
  // VM's configuration names the path), or if `id` is given and is not the
  // volume's; ALREADY_EXISTS if `new_name` is taken. A retry of a rename
  // that completed (no `name`, `new_name` carries `id`) returns the volume.
  absl::StatusOr<VolumeInfo> RenameVolume(const std::string& name, const std::string& new_name,
                                          const std::string& id);

  // Renames snapshot `snapshot` of `volume` to `new_name`; its id, guid,
  // holds and clones stay. ALREADY_EXISTS if the volume has a snapshot
  // `new_name`; FAILED_PRECONDITION if `id` is given and is not the
  // snapshot's; a retry of a rename that completed (no `snapshot`,
  // `new_name` carries `id`) returns it.
  absl::StatusOr<SnapshotInfo> RenameSnapshot(const std::string& volume,
                                              const std::string& snapshot,
                                              const std::string& new_name, const std::string& id);

  // --- Adoption (volume_adoption.cc) ---

  // Takes the zvol params.dataset, which this daemon did not create, under
  // management: marked where it is (mvirt:kind, then mvirt:id: managed from
  // that instant), then renamed to the volume params.new_name if given (it
  // must otherwise already be <pool>/<valid name>), its device ready on
  // return and its event published. A failed mark or rename is undone; a
  // crash between them leaves it marked where it was, and the retry (same
  // id) renames it. Its data, snapshots (ids: their guids) and
  // properties stay. Refused, changing nothing: INVALID_ARGUMENT for a bad
  // name or id, a dataset outside the pool or under .mvirt, a dataset that
  // is not a zvol, no new_name for a zvol outside the volume namespace;
  // NOT_FOUND if it does not exist; ALREADY_EXISTS if it is managed already
  // (with another id, or another name asked), new_name is taken or the id
  // is another volume's; FAILED_PRECONDITION, naming why, for a clone of an
  // unmanaged origin (unless allow_unmanaged_origin) or an open device
  // (unless allow_open, and never with a rename). A retry after it
  // completed (same id) returns the volume.
  absl::StatusOr<VolumeInfo> AdoptVolume(const AdoptVolumeParams& params);

  // Lets volume `name` go: this daemon's replication-base holds on its
  // snapshots are released, its mvirt:id removed (unmanaged from that
  // instant: gone from listings, a deletion event), then every other mvirt:
  // mark of it and its snapshots. Data, snapshots, device and other holds
  // stay. Returns the dataset left. FAILED_PRECONDITION if `id` is given and
  // is not the volume's; NOT_FOUND if it is not a managed volume, unless
  // marks a failed release left behind remain (then they are removed).
  absl::StatusOr<std::string> ReleaseVolume(const std::string& name, const std::string& id);

  // --- Snapshots, rollback, clones (volume_snapshots.cc) ---

  // Takes snapshot `snapshot` of `volume`. ALREADY_EXISTS if it exists.
  absl::StatusOr<SnapshotInfo> CreateSnapshot(const std::string& volume,
                                              const std::string& snapshot);

  // Takes snapshot `snapshot` of every volume in `volumes` in one atomic
  // ZFS call: all or none (for VMs with several disks). ALREADY_EXISTS,
  // creating nothing, if any of them has it already.
  // Each snapshot also gets `extra_props` (the policy's marks).
  absl::StatusOr<std::vector<SnapshotInfo>> CreateSnapshots(const std::vector<std::string>& volumes,
                                                            const std::string& snapshot,
                                                            const UserProps& extra_props = {});

  // --- Snapshot policies (volume_snapshot_policies.cc, snapshot_policy.h) ---

  // Sets the policy of volume `name` (an empty one clears it), kept in its
  // mvirt:snapshot-policy property. INVALID_ARGUMENT for a bad policy;
  // NOT_FOUND for a volume that is not managed.
  absl::StatusOr<SnapshotPolicyInfo> SetSnapshotPolicy(const std::string& volume,
                                                       const SnapshotPolicyInfo& policy);
  // The policy of volume `name` (empty if none); FAILED_PRECONDITION if its
  // property was set by hand to something unreadable.
  absl::StatusOr<SnapshotPolicyInfo> GetSnapshotPolicy(const std::string& volume);
  // One run of the scheduler at time `now` (injected, so tests need no
  // clock): takes every due snapshot (a group's volumes in one
  // CreateSnapshots; refused by the space guard: logged with what the
  // volumes' snapshots hold), then prunes each class beyond its keep,
  // oldest first, skipping what clones or holds depend on.
  SnapshotPolicyRun RunSnapshotPolicies(absl::Time now);

  // The volume's snapshots, oldest first (by createtxg).
  absl::StatusOr<std::vector<SnapshotInfo>> ListSnapshots(const std::string& volume);

  // FAILED_PRECONDITION, naming them, when clones depend on the snapshot or
  // it is held.
  absl::Status DeleteSnapshot(const std::string& volume, const std::string& snapshot);

  // Rolls `volume` back to `snapshot`, destroying the snapshots newer than it,
  // in one transaction: all or nothing. Refused with FAILED_PRECONDITION
  // (changing nothing) while anything has the device open (the VM must be
  // stopped), when a newer snapshot has clones or holds, or a bookmark is
  // newer than `snapshot`. Afterwards data and volsize are the snapshot's.
  absl::StatusOr<VolumeInfo> Rollback(const std::string& volume, const std::string& snapshot);

  // A thin clone `params.name` of `source_volume@snapshot`, optionally grown
  // to params.size_bytes (0 or smaller than the snapshot's volsize:
  // INVALID_ARGUMENT), ready (device present) when it returns. Made under
  // .mvirt/creating and renamed into place like Create; nothing is left
  // behind on failure; a retry with the same id, origin and size returns it.
  absl::StatusOr<VolumeInfo> CloneVolume(const std::string& source_volume,
                                         const std::string& snapshot,
                                         const CloneVolumeParams& params);

  // --- Templates (volume_templates.cc) ---

  // Makes template `template_name` from `volume@snapshot`: a copy of the
  // snapshot's data (in-pool send/receive), so the source volume and its
  // snapshots stay independently deletable. The template appears only once
  // complete. ALREADY_EXISTS if the template name is taken.
  absl::StatusOr<TemplateInfo> PromoteToTemplate(const std::string& volume,
                                                 const std::string& snapshot,
                                                 const std::string& template_name);

  absl::StatusOr<std::vector<TemplateInfo>> ListTemplates();

  // NOT_FOUND if there is no template of that name.
  absl::StatusOr<TemplateInfo> GetTemplate(const std::string& name);

  // A thin clone of the template as volume params.name, at least as large as
  // the template (a smaller params.size_bytes: INVALID_ARGUMENT).
  absl::StatusOr<VolumeInfo> CloneFromTemplate(const std::string& template_name,
                                               const CloneVolumeParams& params);

  // Removes the template from listings at once. Its data stays as long as
  // clones use it and is destroyed with the last clone (CollectGarbage).
  absl::Status DeleteTemplate(const std::string& name);

  // Runs `fn` holding template `name`'s lock (waiting as long as it takes),
  // so that an event it publishes is ordered with the template's own.
  void WithTemplateLock(const std::string& name, const std::function<void()>& fn);

  // Destroys deleted templates that no clone uses any more and, when
  // `at_startup`, templates, volumes and receives left half-built by a
  // crash (an interrupted receive stays: it can be resumed). Errors are
  // logged.
  void CollectGarbage(bool at_startup);

  // --- Imports (volume_imports.cc): the ZFS side of building a template
  // from an image; src/import moves the data. ---

  // Reserves `template_name` for an import until ReleaseTemplateName.
  // ALREADY_EXISTS if a template has that name or an import reserved it;
  // PromoteToTemplate refuses a reserved name too.
  absl::Status ReserveTemplateName(const std::string& template_name);
  void ReleaseTemplateName(const std::string& template_name);

  // A fresh, thin zvol under .mvirt/imports of params.size_bytes rounded up
  // to the default volblocksize, carrying the template's user properties,
  // with its device ready for writing. Never listed as a volume or template.
  // INVALID_ARGUMENT if the size is 0 or exceeds the pool's capacity.
  absl::StatusOr<StagingVolume> CreateStagingVolume(const StagingVolumeParams& params);

  // Sets the staging volume's size to `size_bytes` rounded up to its
  // volblocksize, smaller or larger. Only for a staging volume whose data
  // ends before that size (a body of unknown length, written into a volume
  // of the largest allowed size): a shrink cuts off what lies beyond.
  absl::Status TrimStagingVolume(StagingVolume& staging, uint64_t size_bytes);

  // The largest volume the pool can hold: its capacity (used + available).
  absl::StatusOr<uint64_t> MaxVolumeSize();

  // Makes the staging volume, whose data the caller has written and
  // flushed, the template staging.template_name: snapshot @template, device
  // removed (volmode=none), then one rename into templates/. So a template
  // is listed only complete with its snapshot. On failure the staging
  // volume is left for DiscardStagingVolume.
  absl::StatusOr<TemplateInfo> CompleteStagingVolume(const StagingVolume& staging);

  // Destroys a staging volume and its snapshots, and waits for its device
  // to vanish.
  absl::Status DiscardStagingVolume(const StagingVolume& staging);

  // --- Send and receive streams (volume_streams.cc) ---

  // Resolves and checks what SendVolume sends, before any byte is written:
  // NOT_FOUND for a missing volume, snapshot or base (a base guid no
  // snapshot of the volume has), INVALID_ARGUMENT for a base that is not
  // older than the snapshot, both a base name and guid, or a token that is
  // not one of this volume's (with the others empty).
  absl::StatusOr<SendPlan> PlanSend(const SendVolumeParams& params);

  // Writes the planned stream into `fd` (a pipe whose other end the caller
  // reads). Blocks until the stream is written; CANCELLED if the reader
  // closed its end. A snapshot being sent cannot be destroyed meanwhile
  // (ZFS holds it).
  absl::Status Send(const SendPlan& plan, int fd);

  // Receives the stream read from `fd` (its first record is read here and
  // refused with INVALID_ARGUMENT unless it is one zvol's stream ZFS 2.1
  // knows) into volume params.volume_name, under the name's lock:
  // - a full stream makes a new volume: received under .mvirt/receiving,
  //   carrying params.volume_id (ALREADY_EXISTS if another volume has it or
  //   the name is taken), renamed into place and its device ready once
  //   complete, so listings and events see it only then;
  // - an incremental stream adds its snapshot to the existing volume, which
  //   must carry params.volume_id if given and have the stream's base
  //   unchanged since (FAILED_PRECONDITION otherwise); refused with
  //   FAILED_PRECONDITION, naming who, while its device is open.
  // The new snapshot carries params.snapshot_id and, unless
  // params.last_stream, the kReplicationBaseHold hold, which the volume's
  // older snapshots lose (with params.last_stream, all of them lose it).
  // A stream that ends early
  // fails with ABORTED and keeps what arrived (GetReceiveState's token
  // resumes it, AbortReceive drops it); another receive into that name is
  // refused until then, except the stream that resumes it. A retry of a
  // receive that completed (the volume has the stream's snapshot, same
  // guid) returns the volume without reading the stream.
  absl::StatusOr<ReceiveResult> Receive(const ReceiveVolumeParams& params, int fd);

  // OK if nothing has managed volume `name`'s device open (as far as
  // processes, mounts, loop, dm, md and iSCSI users show); else
  // FAILED_PRECONDITION naming them, `op` first. NOT_FOUND if there is no
  // such volume.
  absl::Status RequireDeviceClosed(absl::string_view op, const std::string& name);

  // What SendVolume sends of template `name`: its one snapshot, in full.
  // NOT_FOUND if there is no such template.
  absl::StatusOr<SendPlan> PlanSendTemplate(const std::string& name);

  // Makes template params.template_name from the full stream of a
  // template's snapshot read from `fd`: received under .mvirt/incoming
  // with the template's id, then renamed into place complete (listed only
  // then). ALREADY_EXISTS if a template of that name exists with another
  // id (the same id: returned as it is, a retry); INVALID_ARGUMENT for
  // anything but a full stream of a snapshot named "template". Not
  // resumable: a cut stream leaves nothing.
  absl::StatusOr<TemplateInfo> ReceiveTemplate(const ReceiveTemplateParams& params, int fd);

  // The interrupted receive into volume name `name`, if any (an empty
  // token if there is none).
  absl::StatusOr<ReceiveStateInfo> GetReceiveState(const std::string& name);

  // Drops what an interrupted receive into `name` kept (the half-received
  // new volume, or the partial snapshot of an existing one, which stays as
  // it was). NOT_FOUND if there is none.
  absl::Status AbortReceive(const std::string& name);

  // Drops, as AbortReceive does, every interrupted receive that nothing has
  // touched (Receive or GetReceiveState of its name) for `idle`: a sender
  // that never comes back must not pin the partial data (and the name)
  // forever. Those left before this daemon started count as touched when
  // first seen (new volumes' at start-up by CollectGarbage, increments'
  // by the first call of this), so a restart never drops one early. Logs
  // what it drops.
  void SweepAbandonedReceives(absl::Duration idle);

  // --- Change streams ---

  // Every mutation publishes the changed object's full state here, after it
  // is done. Subscribers never slow the mutations down (see Broadcaster).
  Broadcaster<VolumeEventInfo>& volume_events() { return volume_events_; }
  // Ends every subscription, e.g. at shutdown.
  void CloseEvents();

  // Told of every change of a template, after it is done and under the
  // template's lock (so in the order of the changes): its id and full
  // state, or nullopt once it is deleted. Must not block or call back into
  // the manager. ImportManager installs one (template events carry import
  // jobs too, which this layer does not know); nullptr removes it.
  using TemplateObserver =
      std::function<void(const std::string& template_id, const std::optional<TemplateInfo>& info)>;
  void SetTemplateObserver(TemplateObserver observer);

 private:
  void PublishVolume(const VolumeInfo& volume);
  void PublishVolumeDeleted(const std::string& id);
  // Publishes the state of the volume `name`, if it still exists.
  void PublishVolumeByName(const std::string& name);
  // The same, owed until the publisher or the next call that locks the
  // volume (LockVolume) pays it, under the volume's lock: so the event
  // keeps its place among those of the calls on that volume. The caller
  // holds that lock. Without a publisher, at once.
  void PublishVolumeSoon(const std::string& name);
  // Publishes the volume's owed event, if any (true then). The caller
  // holds its lock.
  bool PayOwedEvent(const std::string& name);
  // name_locks_.Acquire for a volume's name, paying its owed event first.
  absl::StatusOr<KeyedMutex::Lock> LockVolume(const std::string& name);
  void PublishTemplate(const TemplateInfo& info);
  void PublishTemplateDeleted(const std::string& id);
  // Publishes the state of template `name`, if it exists. Requires its
  // TemplateLockKey held.
  void PublishTemplateByName(const std::string& name);
  // Publishes the state of the template a clone's `origin` snapshot belongs
  // to (its clone_count changed), if `origin` is a listed template's; takes
  // the template's lock.
  void PublishTemplateOfOrigin(const std::string& origin);

  // Lock key of a template name: '/' cannot occur in volume names, so
  // template and volume keys never collide.
  static std::string TemplateLockKey(const std::string& name);
  // ALREADY_EXISTS (the message begins with `op`) when a template named
  // `name` exists or an import of one is running. Requires the name's
  // TemplateLockKey held.
  absl::Status CheckTemplateNameFree(absl::string_view op, const std::string& name);
  // Creates <pool>/.mvirt and its areas where missing (see dataset_names.h).
  absl::Status EnsureReservedDatasets();
  // Clones snapshot `origin` as volume params.name; see CloneVolume.
  absl::StatusOr<VolumeInfo> CloneFrom(const std::string& op, const SnapshotProps& origin,
                                       const VolumeProps& origin_volume,
                                       const CloneVolumeParams& params);
  // The zvol of managed template `name` (validated), or NOT_FOUND.
  absl::StatusOr<VolumeProps> GetManagedTemplate(const std::string& name);
  absl::StatusOr<TemplateInfo> ToTemplateInfo(const VolumeProps& props);
  // Reserves all of volume `dataset`'s size (refreservation=auto): a thick
  // volume. RESOURCE_EXHAUSTED, saying so, if the pool cannot.
  absl::Status ReserveAll(const std::string& dataset);
  // Makes a new volume or clone `dataset` for volume `name` with `make`,
  // which creates it at the staging name it is given (under
  // .mvirt/creating, with its device) with every property; then renames it
  // into place. On failure nothing is left (a crash leaves only the staging
  // dataset, swept at start-up). Requires the name's lock.
  absl::Status MakeInCreating(absl::string_view op, const std::string& name, const std::string& id,
                              const std::string& dataset,
                              const std::function<absl::Status(const std::string&)>& make);
  // Who holds the device at `path` open, asked again for about 3 s
  // (Backoff) while anyone does: udev opens a zvol for a moment after
  // every change, which must not count as a user. Empty once nobody does.
  std::vector<DeviceHolder> LastingHolders(const std::string& path);
  // Destroys what .mvirt/receiving holds complete (a crash between a
  // receive and its rename); interrupted receives stay for their resume.
  // Notes every interrupted receive of a new volume as touched now (see
  // SweepAbandonedReceives).
  void SweepFinishedReceives();
  // Records a touch of the receive into volume name `name`.
  void TouchReceive(const std::string& name);
  // AbortReceive with the name's lock held.
  absl::Status AbortReceiveLocked(const std::string& op, const std::string& name);
  // The new volume `dataset` once its device is ready; publishes its event
  // first, ready or not (DEADLINE_EXCEEDED leaves it for a retry).
  absl::StatusOr<VolumeInfo> FinishNewVolume(absl::string_view op, const std::string& dataset);

  // `status`, except that a NOT_FOUND while the pool itself is gone
  // (exported, destroyed, lost) becomes UNAVAILABLE: the object is not
  // known to be missing, the pool is.
  absl::Status UnlessPoolGone(const absl::Status& status);
  // The managed volume `name` (validated), or NOT_FOUND.
  absl::StatusOr<VolumeProps> GetManaged(absl::string_view op, const std::string& name);
  absl::StatusOr<VolumeInfo> ToVolumeInfo(const VolumeProps& props);
  // The same from `snapshots` already read (oldest first).
  VolumeInfo ToVolumeInfoWith(const VolumeProps& props,
                              const std::vector<SnapshotProps>& snapshots) const;
  // The zvol a new volume is to be made at, as GetVolume reads it:
  // NOT_FOUND when the name is free (told by Exists, without libzfs).
  absl::StatusOr<VolumeProps> LookUpNewName(const std::string& dataset);
  // Lock key of a volume id ('/' keeps it apart from names).
  static std::string IdLockKey(const std::string& id) { return "id/" + id; }
  // ALREADY_EXISTS if a managed volume other than `dataset` carries `id`
  // (ids identify volumes in events). Call with IdLockKey(id) held.
  absl::Status CheckIdUnused(absl::string_view op, const std::string& id,
                             const std::string& dataset);
  // With `id` given: IdLockKey(id) locked (held by the result) and then
  // CheckIdUnused. Without: nothing is locked or checked.
  absl::StatusOr<std::optional<KeyedMutex::Lock>> LockUnusedId(absl::string_view op,
                                                               const std::string& id,
                                                               const std::string& dataset);
  // INVALID_ARGUMENT if `size` exceeds the pool's capacity.
  absl::Status CheckCapacity(absl::string_view op, const std::string& name, uint64_t size);
  // The space guard's admission of `claim` for `op`, with the pool's
  // figures read now; keep the ticket until the change is made (or failed).
  absl::StatusOr<SpaceGuard::Ticket> AdmitSpace(absl::string_view op, const SpaceClaim& claim);
  // The pool's figures for the space guard; the provisioned total only
  // `with_provisioned`.
  absl::StatusOr<SpaceNow> ReadSpace(bool with_provisioned);
  // The volsize of every managed volume (not templates) summed, and
  // how many there are (from the volume index, which follows the pool's
  // history).
  absl::Status SumProvisioned(uint64_t* bytes, uint64_t* count);

  // The snapshot `snapshot` of managed volume `volume`, or NOT_FOUND.
  absl::StatusOr<SnapshotProps> GetSnapshotOf(absl::string_view op, const VolumeProps& volume,
                                              const std::string& snapshot);
  // "pool/c (clone of pool/v@s), pool/v@t (held: 'keep')": what depends on
  // `snapshots`, or "" if nothing does; the kReplicationBaseHold hold not
  // counted if `except_replication_hold`.
  std::string DescribeDependents(const std::vector<SnapshotProps>& snapshots,
                                 bool except_replication_hold = false);
  // Holds `snapshot` (full name) of volume dataset `dataset` as its
  // replication base and releases that hold from its other snapshots; with
  // `last`, releases it from all of them.
  absl::Status MarkReplicationBase(const std::string& dataset, const std::string& snapshot,
                                   bool last);
  // `status` of a failed `op` on `dataset`; when ZFS refused because the
  // device is open (IsBusy), names who holds it as far as can be seen.
  absl::Status DescribeFailure(absl::string_view op, const std::string& dataset,
                               const absl::Status& status);
  // The error for rollback `op` of `volume` to its `snapshot` that ZFS
  // refused with `refused`: names a missing snapshot, the users of an open
  // device, or the clones and holds of the newer snapshots, read only now.
  absl::Status DescribeRollbackRefusal(const std::string& op, const VolumeProps& volume,
                                       const std::string& snapshot, const absl::Status& refused);
  SnapshotInfo ToSnapshotInfo(const SnapshotProps& props) const;

  Zfs& zfs_;
  ZvolDevices& devices_;
  const VolumeManagerOptions options_;
  const DatasetNames names_;
  KeyedMutex name_locks_;
  SpaceGuard space_guard_;
  // Which volume holds an id (CheckIdUnused), the provisioned total.
  VolumeIndex volume_index_;
  Mutex garbage_mu_;  // one CollectGarbage at a time
  Mutex reserved_mu_;
  std::set<std::string> reserved_templates_ ABSL_GUARDED_BY(reserved_mu_);
  Broadcaster<VolumeEventInfo> volume_events_;
  Mutex observer_mu_;  // held while the observer runs, so removing it waits
  TemplateObserver template_observer_ ABSL_GUARDED_BY(observer_mu_);
  // Volumes whose event is owed (PublishVolumeSoon), each published by the
  // publisher or by the next call that locks the volume, whichever is first.
  Mutex owed_mu_;
  std::set<std::string> owed_events_ ABSL_GUARDED_BY(owed_mu_);
  // When each receive's name was last touched (SweepAbandonedReceives).
  Mutex receive_touch_mu_;
  std::map<std::string, absl::Time> receive_touched_ ABSL_GUARDED_BY(receive_touch_mu_);
  // The volumes were read for interrupted increments (the first sweep).
  bool volumes_scanned_for_receives_ ABSL_GUARDED_BY(receive_touch_mu_) = false;
  // Last: its destructor runs the queued publications while all the above
  // still exists. Null unless publish_snapshot_events_after_return.
  std::unique_ptr<SerialExecutor> publisher_;
};

// True if `props` carry a local mvirt:id, i.e. the daemon created them.
bool IsManaged(const UserProps& props);
// True if all of the volume's size is reserved (refreservation): thick.
bool IsThick(const VolumeProps& props);

// Makes <pool>/.mvirt and its areas (templates, incoming, ...) as the daemon
// keeps them, those missing only.
absl::Status EnsureReservedAreas(Zfs& zfs, const DatasetNames& names);

// OK if `name` is a valid volume name and `id` is empty (one is generated)
// or a UUID; INVALID_ARGUMENT otherwise.
absl::Status ValidateNewVolume(const std::string& name, const std::string& id);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_VOLUME_VOLUME_MANAGER_H_
