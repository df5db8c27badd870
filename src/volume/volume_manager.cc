#include "volume/volume_manager.h"

#include <functional>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/crash_point.h"
#include "common/log.h"
#include "common/names.h"
#include "common/sizes.h"
#include "common/status_util.h"
#include "device/zvol_device.h"

namespace mvirt::zfs {

bool IsManaged(const UserProps& props) { return props.count(kIdProperty) > 0; }

// Owed events of different volumes are read side by side (a snapshot of
// several volumes owes one per volume); six of the adapter's eight libzfs
// handles stay free for calls meanwhile.
constexpr int kPublisherThreads = 2;

bool IsThick(const VolumeProps& props) {
  return props.volsize > 0 && props.refreservation >= props.volsize;
}

absl::StatusOr<VolumeProps> VolumeManager::LookUpNewName(const std::string& dataset) {
  // The name is usually free: a cheap existence check (no libzfs) first.
  if (!zfs_.Exists(dataset)) {
    return absl::NotFoundError(absl::StrCat("'", dataset, "' does not exist"));
  }
  return zfs_.GetVolume(dataset);
}

absl::Status ValidateNewVolume(const std::string& name, const std::string& id) {
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  if (id.empty()) return absl::OkStatus();  // one is generated
  return ValidateId(id);
}

VolumeManager::VolumeManager(Zfs& zfs, ZvolDevices& devices, VolumeManagerOptions options)
    : zfs_(zfs),
      devices_(devices),
      options_(std::move(options)),
      names_(options_.pool),
      space_guard_(options_.space),
      volume_index_(zfs_, options_.pool, kIdProperty),
      publisher_(options_.publish_snapshot_events_after_return
                     ? std::make_unique<SerialExecutor>(kPublisherThreads)
                     : nullptr) {}

absl::Status VolumeManager::UnlessPoolGone(const absl::Status& status) {
  if (!absl::IsNotFound(status) || zfs_.Exists(options_.pool)) return status;
  return absl::UnavailableError(
      absl::StrCat("pool '", options_.pool, "' is not imported (exported, destroyed or lost); ",
                   "the call can be retried once it is back (", status.message(), ")"));
}

absl::StatusOr<PoolStatsInfo> VolumeManager::GetPoolStats() {
  absl::StatusOr<PoolProps> pool = zfs_.GetPool(options_.pool);
  if (!pool.ok()) return UnlessPoolGone(pool.status());
  PoolStatsInfo stats;
  if (absl::Status s = SumProvisioned(&stats.provisioned_bytes, &stats.volume_count); !s.ok()) {
    return s;
  }
  stats.name = pool->name;
  stats.used_bytes = pool->used;
  stats.available_bytes = pool->available;
  stats.total_bytes = pool->used + pool->available;
  stats.compression_ratio = pool->compressratio;
  stats.health = pool->health;
  stats.pool_size_bytes = pool->size;
  stats.pool_allocated_bytes = pool->allocated;
  stats.pool_free_bytes = pool->free;
  stats.capacity_percent = pool->capacity;
  stats.fragmentation_percent = pool->fragmentation;
  for (const TopLevelVdev& vdev : pool->top_level_vdevs) {
    stats.vdevs.push_back({vdev.name, vdev.state});
  }
  if (stats.total_bytes > 0) {
    stats.overcommit_ratio =
        static_cast<double>(stats.provisioned_bytes) / static_cast<double>(stats.total_bytes);
  }
  stats.max_overcommit = space_guard_.limits().max_overcommit;
  stats.reserve_bytes = space_guard_.ReserveBytes(stats.total_bytes);
  return stats;
}

absl::Status VolumeManager::SumProvisioned(uint64_t* bytes, uint64_t* count) {
  absl::StatusOr<ProvisionedTotal> total = volume_index_.Provisioned();
  if (!total.ok()) return UnlessPoolGone(total.status());
  *bytes = total->bytes;
  *count = total->volumes;
  return absl::OkStatus();
}

absl::StatusOr<SpaceNow> VolumeManager::ReadSpace(bool with_provisioned) {
  absl::StatusOr<DatasetSpace> root = zfs_.GetSpace(options_.pool);
  if (!root.ok()) return UnlessPoolGone(root.status());
  SpaceNow now;
  now.pool_bytes = root->used + root->available;
  now.available_bytes = root->available;
  if (!with_provisioned) return now;
  uint64_t count = 0;
  if (absl::Status s = SumProvisioned(&now.provisioned_bytes, &count); !s.ok()) return s;
  return now;
}

absl::StatusOr<SpaceGuard::Ticket> VolumeManager::AdmitSpace(absl::string_view op,
                                                             const SpaceClaim& claim) {
  return space_guard_.Admit(op, options_.pool, claim,
                            [&] { return ReadSpace(space_guard_.NeedsProvisioned()); });
}

absl::StatusOr<PoolProps> VolumeManager::ReadPool() {
  absl::StatusOr<PoolProps> pool = zfs_.GetPool(options_.pool);
  if (!pool.ok()) return UnlessPoolGone(pool.status());
  return pool;
}

absl::StatusOr<uint64_t> VolumeManager::MaxVolumeSize() {
  absl::StatusOr<DatasetSpace> root = zfs_.GetSpace(options_.pool);
  if (!root.ok()) return UnlessPoolGone(root.status());
  return root->used + root->available;
}

absl::Status VolumeManager::CheckCapacity(absl::string_view op, const std::string& name,
                                          uint64_t size) {
  absl::StatusOr<uint64_t> capacity_or = MaxVolumeSize();
  if (!capacity_or.ok()) return capacity_or.status();
  const uint64_t capacity = *capacity_or;
  if (size > capacity) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, " '", name, "': size ", size, " bytes (", FormatSize(size),
                     ") exceeds the capacity of pool '", options_.pool, "' (", capacity, " bytes, ",
                     FormatSize(capacity), "); a volume may be at most as large as its pool"));
  }
  return absl::OkStatus();
}

absl::Status VolumeManager::CheckIdUnused(absl::string_view op, const std::string& id,
                                          const std::string& dataset) {
  // ZFS is the only record of which ids are taken (a volume made or changed
  // with `zfs` by hand counts): the index follows the pool's history log.
  absl::StatusOr<std::vector<std::string>> holders = volume_index_.Holders(id);
  if (!holders.ok()) return holders.status();
  for (const std::string& holder : *holders) {
    if (holder != dataset) {
      return absl::AlreadyExistsError(absl::StrCat(
          op, " '", names_.VolumeNameOf(dataset), "': id ", id, " already belongs to volume '",
          names_.VolumeNameOf(holder), "'; ids identify volumes and must be unique"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<KeyedMutex::Lock>> VolumeManager::LockUnusedId(
    absl::string_view op, const std::string& id, const std::string& dataset) {
  if (id.empty()) return std::nullopt;
  absl::StatusOr<KeyedMutex::Lock> locked = name_locks_.Acquire(IdLockKey(id));
  if (!locked.ok()) return Annotate(locked.status(), op);
  if (absl::Status s = CheckIdUnused(op, id, dataset); !s.ok()) return s;
  return std::optional<KeyedMutex::Lock>(std::move(*locked));
}

absl::StatusOr<VolumeInfo> VolumeManager::Create(const CreateVolumeParams& params) {
  // Validate everything before touching ZFS.
  if (absl::Status s = ValidateNewVolume(params.name, params.id); !s.ok()) return s;
  uint64_t volblocksize = params.volblocksize.value_or(kDefaultVolblocksize);
  if (absl::Status s = ValidateVolblocksize(volblocksize); !s.ok()) return s;
  const std::string op = absl::StrCat("create volume '", params.name, "'");
  absl::StatusOr<uint64_t> volsize = RoundUpToBlock(params.size_bytes, volblocksize);
  if (!volsize.ok()) return Annotate(volsize.status(), op);
  if (absl::Status s = CheckCapacity("create volume", params.name, *volsize); !s.ok()) return s;

  const std::string dataset = names_.Volume(params.name);
  absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(params.name);
  if (!lock.ok()) return Annotate(lock.status(), op);

  absl::StatusOr<VolumeProps> existing = LookUpNewName(dataset);
  // NOT_FOUND: the name is free; INVALID_ARGUMENT: it exists and is not a zvol;
  // any other failure says nothing about the name.
  if (!existing.ok() && !absl::IsNotFound(existing.status()) &&
      !absl::IsInvalidArgument(existing.status())) {
    return Annotate(existing.status(), op);
  }
  if (existing.ok() || !absl::IsNotFound(existing.status())) {
    if (!existing.ok() || !IsManaged(existing->user_props)) {
      return absl::AlreadyExistsError(absl::StrCat(
          op, ": dataset '", dataset, "' already exists and is not managed by mvirt-zfs"));
    }
    const std::string& existing_id = existing->user_props.at(kIdProperty);
    const bool thick = IsThick(*existing);
    bool same = !params.id.empty() && params.id == existing_id && existing->volsize == *volsize &&
                existing->volblocksize == volblocksize && thick == params.thick;
    if (!same) {
      return absl::AlreadyExistsError(absl::StrCat(
          op, ": a volume of that name already exists (id ", existing_id, ", ", existing->volsize,
          " bytes, volblocksize ", existing->volblocksize, thick ? ", thick" : ", thin",
          "); a retry must send the same id, size, volblocksize and provisioning"));
    }
    // An idempotent retry, perhaps of a call whose device wait timed out or
    // that a crash cut off.
    return FinishNewVolume(op, dataset);
  }

  absl::StatusOr<std::optional<KeyedMutex::Lock>> id_lock =
      LockUnusedId("create volume", params.id, dataset);
  if (!id_lock.ok()) return id_lock.status();
  absl::StatusOr<SpaceGuard::Ticket> space =
      AdmitSpace(op, {*volsize, params.thick ? *volsize : 0});
  if (!space.ok()) return space.status();
  const std::string id = params.id.empty() ? NewUuid() : params.id;
  const UserProps props = {{kIdProperty, id}, {kKindProperty, kKindVolume}};
  // Born under .mvirt/creating and renamed into place once complete: ZFS
  // sets a new dataset's properties in a second step, and a crash between
  // the two must not leave an unmanaged zvol blocking the name.
  absl::Status made = MakeInCreating(op, params.name, id, dataset, [&](const std::string& staging) {
    absl::Status s = zfs_.CreateVolume(staging, *volsize, volblocksize, props);
    if (s.ok() && params.thick) s = ReserveAll(staging);
    return s;
  });
  if (!made.ok()) return made;
  LogInfo("created volume ", dataset, " (id ", id, ", ", *volsize, " bytes, volblocksize ",
          volblocksize, params.thick ? ", thick" : "", ")");
  return FinishNewVolume(op, dataset);
}

absl::Status VolumeManager::ReserveAll(const std::string& dataset) {
  absl::Status s = zfs_.SetProperty(dataset, "refreservation", "auto");
  if (!absl::IsResourceExhausted(s)) return s;
  absl::StatusOr<VolumeProps> props = zfs_.GetVolume(dataset);
  return absl::ResourceExhaustedError(
      absl::StrCat("the pool cannot reserve ",
                   props.ok() ? absl::StrCat(props->volsize, " bytes") : std::string("its size"),
                   " for a thick volume (", s.message(), "); nothing was created"));
}

absl::Status VolumeManager::MakeInCreating(
    absl::string_view op, const std::string& name, const std::string& id,
    const std::string& dataset, const std::function<absl::Status(const std::string&)>& make) {
  const std::string staging = names_.Creating(name, id);
  // Left by an attempt with the same id that a crash cut off: never listed,
  // never complete. The name lock keeps every other attempt out.
  if (zfs_.Exists(staging)) {
    if (absl::Status s = zfs_.DestroyWithSnapshots(staging); !s.ok()) return Annotate(s, op);
  }
  absl::Status made = make(staging);
  if (absl::IsNotFound(made) &&
      !zfs_.Exists(names_.Area(ReservedArea::kCreating))) {  // removed by hand?
    if (absl::Status s = EnsureReservedDatasets(); !s.ok()) return Annotate(s, op);
    made = make(staging);
  }
  if (made.ok()) {
    CrashPoint("creating/made");
    made = zfs_.Rename(staging, dataset);
  }
  if (made.ok()) {
    CrashPoint("creating/renamed");
    return absl::OkStatus();
  }
  // Nothing half-made stays behind.
  if (zfs_.Exists(staging)) {
    if (absl::Status d = zfs_.DestroyWithSnapshots(staging); !d.ok()) {
      LogError(op, ": could not remove ", staging, " (removed at the next start): ", d.message());
    }
  }
  return Annotate(made, op);
}

absl::StatusOr<VolumeInfo> VolumeManager::FinishNewVolume(absl::string_view op,
                                                          const std::string& dataset) {
  // The volume exists: its event is published whether or not its device
  // becomes ready in time (a retry with the same id then returns it).
  absl::StatusOr<VolumeProps> created = zfs_.GetVolume(dataset);
  if (!created.ok()) return Annotate(created.status(), op);
  absl::Status ready = absl::OkStatus();
  if (created->key_loaded) {
    ready = devices_.WaitReady(ZvolDevicePath(dataset), dataset, options_.device_timeout);
  } else {
    // An encrypted volume that arrived raw: no device until its key is
    // loaded (zfs load-key), which is the operator's to do.
    LogInfo(op, ": ", dataset, " is encrypted and its key is not loaded: no device until ",
            "`zfs load-key ", dataset, "`");
  }
  absl::StatusOr<VolumeInfo> info = ToVolumeInfo(*created);
  if (!info.ok()) return Annotate(info.status(), op);
  PublishVolume(*info);
  if (!ready.ok()) return Annotate(ready, op);
  return info;
}

absl::StatusOr<VolumeProps> VolumeManager::GetManaged(absl::string_view op,
                                                      const std::string& name) {
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  const std::string dataset = names_.Volume(name);
  absl::StatusOr<VolumeProps> props = zfs_.GetVolume(dataset);
  if (!props.ok()) {
    if (absl::IsNotFound(props.status())) {
      if (absl::Status gone = UnlessPoolGone(props.status()); !absl::IsNotFound(gone)) return gone;
      return absl::NotFoundError(
          absl::StrCat(op, " '", name, "': no volume '", name, "' in pool '", options_.pool, "'"));
    }
    if (absl::IsInvalidArgument(props.status())) {  // exists, not a zvol
      return absl::NotFoundError(absl::StrCat(op, " '", name, "': dataset '", dataset,
                                              "' is not a volume managed by mvirt-zfs"));
    }
    return props.status();
  }
  if (!IsManaged(props->user_props)) {
    return absl::NotFoundError(absl::StrCat(op, " '", name, "': zvol '", dataset,
                                            "' exists but is not managed by mvirt-zfs (no ",
                                            kIdProperty, " property); it is left alone"));
  }
  return props;
}

absl::StatusOr<VolumeInfo> VolumeManager::ToVolumeInfo(const VolumeProps& props) {
  absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(props.name);
  if (!snaps.ok()) return snaps.status();
  return ToVolumeInfoWith(props, *snaps);
}

VolumeInfo VolumeManager::ToVolumeInfoWith(const VolumeProps& props,
                                           const std::vector<SnapshotProps>& snapshots) const {
  VolumeInfo v;
  v.id = props.user_props.at(kIdProperty);
  v.name = names_.VolumeNameOf(props.name);
  v.path = ZvolDevicePath(props.name);
  v.volsize_bytes = props.volsize;
  v.used_bytes = props.used;
  v.volblocksize = props.volblocksize;
  v.compression_ratio = props.compressratio;
  v.created_at = props.creation;
  for (const SnapshotProps& s : snapshots) v.snapshots.push_back(ToSnapshotInfo(s));
  v.encrypted = props.encrypted;
  v.key_loaded = props.key_loaded;
  v.refreservation_bytes = props.refreservation;
  v.thick = IsThick(props);
  v.referenced_bytes = props.referenced;
  v.written_bytes = props.written;
  v.used_by_snapshots_bytes = props.usedbysnapshots;
  v.logical_used_bytes = props.logicalused;
  return v;
}

SnapshotInfo VolumeManager::ToSnapshotInfo(const SnapshotProps& s) const {
  SnapshotInfo info;
  auto id = s.user_props.find(kIdProperty);
  info.id = id != s.user_props.end() ? id->second : std::to_string(s.guid);
  info.name = DatasetNames::SnapshotNameOf(s.name);
  info.full_name = s.name;
  info.used_bytes = s.used;
  info.created_at = s.creation;
  info.createtxg = s.createtxg;
  info.guid = s.guid;
  return info;
}

absl::Status VolumeManager::DescribeFailure(absl::string_view op, const std::string& dataset,
                                            const absl::Status& status) {
  if (!IsBusy(status)) return Annotate(status, op);
  // The kernel said "open"; name who, as far as can be seen from here.
  const std::string path = ZvolDevicePath(dataset);
  std::vector<DeviceHolder> holders = devices_.Holders(path);
  if (holders.empty()) {
    return BusyError(absl::StrCat(
        op, ": device ", path, " is in use (the kernel holds it open, but no process, mount, ",
        "loop, device-mapper, md or iSCSI user was found; it may be a user in another kernel ",
        "subsystem); stop its users first. Nothing was changed"));
  }
  return BusyError(absl::StrCat(op, ": device ", path, " is in use by ", DescribeHolders(holders),
                                "; stop its users first. Nothing was changed"));
}

absl::StatusOr<VolumeInfo> VolumeManager::Get(const std::string& name) {
  absl::StatusOr<VolumeProps> props = GetManaged("get volume", name);
  if (!props.ok()) return props.status();
  return ToVolumeInfo(*props);
}

absl::StatusOr<std::vector<VolumeInfo>> VolumeManager::List() {
  absl::StatusOr<std::vector<VolumeProps>> all = zfs_.ListVolumes(options_.pool);
  if (!all.ok()) return UnlessPoolGone(all.status());
  std::vector<VolumeInfo> out;
  for (const VolumeProps& props : *all) {
    if (!IsManaged(props.user_props)) continue;
    absl::StatusOr<VolumeInfo> info = ToVolumeInfo(props);
    if (absl::IsNotFound(info.status())) continue;  // deleted meanwhile
    if (!info.ok()) return info.status();
    out.push_back(std::move(*info));
  }
  return out;
}

absl::StatusOr<VolumeInfo> VolumeManager::Resize(const std::string& name, uint64_t new_size_bytes) {
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  if (new_size_bytes == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("resize volume '", name, "': new size must be greater than 0"));
  }
  absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(name);
  if (!lock.ok()) return Annotate(lock.status(), absl::StrCat("resize volume '", name, "'"));
  absl::StatusOr<VolumeProps> props = GetManaged("resize volume", name);
  if (!props.ok()) return props.status();
  absl::StatusOr<uint64_t> volsize = RoundUpToBlock(new_size_bytes, props->volblocksize);
  if (!volsize.ok()) return Annotate(volsize.status(), absl::StrCat("resize volume '", name, "'"));
  if (*volsize < props->volsize) {
    return absl::FailedPreconditionError(
        absl::StrCat("resize volume '", name, "': shrinking from ", props->volsize, " to ",
                     *volsize, " bytes would destroy data; volumes can only grow"));
  }
  if (*volsize == props->volsize) return ToVolumeInfo(*props);
  if (absl::Status s = CheckCapacity("resize volume", name, *volsize); !s.ok()) return s;
  const uint64_t growth = *volsize - props->volsize;
  absl::StatusOr<SpaceGuard::Ticket> space = AdmitSpace(absl::StrCat("resize volume '", name, "'"),
                                                        {growth, IsThick(*props) ? growth : 0});
  if (!space.ok()) return space.status();
  absl::Status set = zfs_.SetVolsize(props->name, *volsize);
  volume_index_.Changed(props->name);  // a volsize change writes no history record
  if (!set.ok()) return set;
  CrashPoint("resize/set");
  LogInfo("resized volume ", props->name, " from ", props->volsize, " to ", *volsize, " bytes");
  absl::StatusOr<VolumeProps> resized = zfs_.GetVolume(props->name);
  if (!resized.ok()) return resized.status();
  absl::StatusOr<VolumeInfo> info = ToVolumeInfo(*resized);
  if (info.ok()) PublishVolume(*info);
  return info;
}

absl::Status VolumeManager::Delete(const std::string& name, bool release_replication_holds) {
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  const std::string op = absl::StrCat("delete volume '", name, "'");
  std::string origin;
  {
    absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(name);
    if (!lock.ok()) return Annotate(lock.status(), op);
    absl::StatusOr<VolumeProps> props = GetManaged("delete volume", name);
    if (!props.ok()) return props.status();
    const std::string& dataset = props->name;

    // Name the dependents ZFS would refuse for (a clearer message); ZFS
    // itself is the arbiter below.
    absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(dataset);
    if (!snaps.ok()) return snaps.status();
    if (std::string deps = DescribeDependents(*snaps, release_replication_holds); !deps.empty()) {
      const bool ours = deps.find(kReplicationBaseHold) != std::string::npos;
      return absl::FailedPreconditionError(absl::StrCat(
          op, ": its snapshots are depended on by ", deps,
          "; delete the clones or release the holds first",
          ours ? " (release_holds, `mvirt-zfsctl volume delete --release-holds`, releases "
                 "this daemon's replication hold)"
               : "",
          ". Nothing was changed"));
    }
    std::vector<std::string> released;
    if (release_replication_holds) {
      for (const SnapshotProps& s : *snaps) {
        if (s.userrefs > 0 && zfs_.Release(s.name, kReplicationBaseHold).ok()) {
          released.push_back(s.name);
        }
      }
    }
    // The snapshots and the volume go in one transaction, and not at all
    // while anything has the device open.
    if (absl::Status s = zfs_.DestroyWithSnapshots(dataset); !s.ok()) {
      for (const std::string& snapshot : released) {
        if (absl::Status h = zfs_.Hold(snapshot, kReplicationBaseHold); !h.ok()) {
          LogWarning(op, ": could not put the replication hold of ", snapshot,
                     " back: ", h.message());
        }
      }
      return DescribeFailure(op, dataset, s);
    }
    if (!released.empty()) {
      LogInfo(op, ": released the replication hold of ", absl::StrJoin(released, ", "));
    }
    CrashPoint("delete/destroyed");
    LogInfo("deleted volume ", dataset, " and ", snaps->size(), " snapshots");
    PublishVolumeDeleted(props->user_props.at(kIdProperty));
    if (absl::Status s = devices_.WaitGone(ZvolDevicePath(dataset), options_.device_timeout);
        !s.ok()) {
      LogWarning(op, ": ", s.message());
    }
    origin = props->origin;
  }
  if (!origin.empty()) {
    // Outside the volume's lock: template events take the template's.
    PublishTemplateOfOrigin(origin);
    // It may have been the last clone of a deleted template (one deleted
    // since its origin was read, too). A clone of a volume's snapshot is not.
    if (names_.InArea(ReservedArea::kDeleted, origin) ||
        names_.InArea(ReservedArea::kTemplates, origin)) {
      CollectGarbage(/*at_startup=*/false);
    }
  }
  return absl::OkStatus();
}

void VolumeManager::PublishVolume(const VolumeInfo& volume) {
  volume_events_.Publish({volume.id, absl::ToUnixSeconds(absl::Now()), volume, std::nullopt});
}

void VolumeManager::PublishVolumeDeleted(const std::string& id) {
  volume_events_.Publish({id, absl::ToUnixSeconds(absl::Now()), std::nullopt, std::nullopt});
}

void VolumeManager::PublishVolumeByName(const std::string& name) {
  absl::StatusOr<VolumeInfo> info = Get(name);
  if (info.ok()) PublishVolume(*info);
}

void VolumeManager::PublishVolumeSoon(const std::string& name) {
  if (publisher_ == nullptr) {
    PublishVolumeByName(name);
    return;
  }
  {
    MutexLock lock(&owed_mu_);
    owed_events_.insert(name);
  }
  publisher_->Submit(name, [this, name] {
    KeyedMutex::Lock lock = name_locks_.AcquireUninterruptible(name);
    const absl::Time start = absl::Now();
    if (PayOwedEvent(name)) {
      LogDebug("volume ", name, ": owed event read by the publisher in ",
               absl::FormatDuration(absl::Now() - start));
    }
  });
}

bool VolumeManager::PayOwedEvent(const std::string& name) {
  {
    MutexLock lock(&owed_mu_);
    if (owed_events_.erase(name) == 0) return false;
  }
  PublishVolumeByName(name);
  return true;
}

absl::StatusOr<KeyedMutex::Lock> VolumeManager::LockVolume(const std::string& name) {
  const absl::Time start = absl::Now();
  absl::StatusOr<KeyedMutex::Lock> lock = name_locks_.Acquire(name);
  if (!lock.ok()) return lock;
  const absl::Time locked = absl::Now();
  const bool paid = PayOwedEvent(name);
  if (paid || locked - start > absl::Milliseconds(10)) {
    LogDebug("volume ", name, ": the call waited ", absl::FormatDuration(locked - start),
             " for its lock",
             paid ? absl::StrCat(", then read its owed event in ",
                                 absl::FormatDuration(absl::Now() - locked))
                  : "");
  }
  return lock;
}

void VolumeManager::CloseEvents() { volume_events_.Close(); }

void VolumeManager::SetTemplateObserver(TemplateObserver observer) {
  MutexLock lock(&observer_mu_);
  template_observer_ = std::move(observer);
}

}  // namespace mvirt::zfs
