// VolumeManager: snapshots, rollback and clones of volumes.
#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crash_point.h"
#include "common/log.h"
#include "common/names.h"
#include "common/sizes.h"
#include "common/status_util.h"
#include "device/zvol_device.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {
std::string VolumeManager::DescribeDependents(const std::vector<SnapshotProps>& snaps,
                                              bool except_replication_hold) {
  std::vector<std::string> out;
  for (const SnapshotProps& s : snaps) {
    for (const std::string& c : s.clones)
      out.push_back(absl::StrCat(c, " (clone of ", s.name, ")"));
    if (s.userrefs == 0) continue;
    absl::StatusOr<std::vector<std::string>> tags = zfs_.Holds(s.name);
    if (!tags.ok()) {  // gone meanwhile, or unreadable: ZFS decides below
      out.push_back(absl::StrCat(s.name, " (", s.userrefs, " holds)"));
      continue;
    }
    std::vector<std::string> named;
    for (const std::string& tag : *tags) {
      if (tag == kReplicationBaseHold) {
        if (except_replication_hold) continue;
        named.push_back(absl::StrCat("'", tag,
                                     "': the base of the next incremental replication into "
                                     "this volume, released when a newer snapshot arrives"));
      } else {
        named.push_back(absl::StrCat("'", tag, "'"));
      }
    }
    if (!named.empty()) {
      out.push_back(absl::StrCat(s.name, " (held: ", absl::StrJoin(named, ", "), ")"));
    }
  }
  return absl::StrJoin(out, ", ");
}

absl::Status VolumeManager::MarkReplicationBase(const std::string& dataset,
                                                const std::string& snapshot, bool last) {
  absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(dataset);
  if (!snaps.ok()) return snaps.status();
  if (!last) {
    // A retry of an older stream's receive moves nothing: the newest
    // snapshot (ListSnapshots: the last) is the base.
    if (!snaps->empty() && snaps->back().name != snapshot) return absl::OkStatus();
    absl::Status held = zfs_.Hold(snapshot, kReplicationBaseHold);
    if (!held.ok() && !absl::IsAlreadyExists(held)) return held;
  }
  for (const SnapshotProps& s : *snaps) {
    if (s.userrefs == 0 || (!last && s.name == snapshot)) continue;
    absl::Status released = zfs_.Release(s.name, kReplicationBaseHold);
    if (!released.ok() && !absl::IsNotFound(released)) {
      // One more held snapshot than needed; the next receive tries again.
      LogWarning("release the replication hold of ", s.name, ": ", released.message());
    } else if (released.ok()) {
      LogInfo("released the replication hold of ", s.name);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SnapshotProps> VolumeManager::GetSnapshotOf(absl::string_view op,
                                                           const VolumeProps& volume,
                                                           const std::string& snapshot) {
  absl::StatusOr<SnapshotProps> snap =
      zfs_.GetSnapshot(DatasetNames::Snapshot(volume.name, snapshot));
  if (absl::IsNotFound(snap.status())) {
    return absl::NotFoundError(absl::StrCat(op, " '", volume.name, "@", snapshot,
                                            "': volume has no snapshot '", snapshot, "'"));
  }
  return snap;
}

absl::StatusOr<SnapshotInfo> VolumeManager::CreateSnapshot(const std::string& volume,
                                                           const std::string& snapshot) {
  absl::StatusOr<std::vector<SnapshotInfo>> taken = CreateSnapshots({volume}, snapshot);
  if (!taken.ok()) return taken.status();
  return taken->front();
}

absl::StatusOr<std::vector<SnapshotInfo>> VolumeManager::CreateSnapshots(
    const std::vector<std::string>& volumes, const std::string& snapshot,
    const UserProps& extra_props) {
  if (volumes.empty()) {
    return absl::InvalidArgumentError("create snapshots: no volume names given");
  }
  if (absl::Status s = ValidateName("snapshot name", snapshot); !s.ok()) return s;
  std::set<std::string> unique;
  for (const std::string& v : volumes) {
    if (absl::Status s = ValidateName("volume name", v); !s.ok()) return s;
    if (!unique.insert(v).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("create snapshots: volume '", v, "' is named twice"));
    }
  }
  // Lock every volume, in name order (std::set) so that concurrent
  // multi-volume calls cannot deadlock.
  std::vector<KeyedMutex::Lock> locks;
  for (const std::string& v : unique) {
    absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(v);
    if (!lock.ok()) return Annotate(lock.status(), absl::StrCat("create snapshot of '", v, "'"));
    locks.push_back(std::move(*lock));
  }
  // Snapshots take no space at once, but none is taken in the reserve.
  absl::StatusOr<SpaceGuard::Ticket> space = AdmitSpace(
      absl::StrCat("create snapshot '", snapshot, "' of '", absl::StrJoin(volumes, "', '"), "'"),
      {});
  if (!space.ok()) return space.status();
  // One channel program checks that every volume is ours and takes every
  // snapshot with its own id and the call's group id: one transaction
  // group, all or none.
  const std::string group = NewUuid();
  std::vector<NewSnapshot> wanted;
  for (const std::string& v : volumes) {
    UserProps props = extra_props;
    props[kIdProperty] = NewUuid();
    props[kSnapshotGroupProperty] = group;
    wanted.push_back({DatasetNames::Snapshot(names_.Volume(v), snapshot), std::move(props)});
  }
  absl::StatusOr<std::vector<SnapshotProps>> taken = zfs_.TakeSnapshots(wanted, kIdProperty);
  if (!taken.ok()) {
    if (absl::IsNotFound(taken.status())) {
      // Say which volume, and why, as every other call does.
      for (const std::string& v : volumes) {
        if (absl::StatusOr<VolumeProps> props = GetManaged("create snapshot", v); !props.ok()) {
          return props.status();
        }
      }
    }
    return taken.status();
  }
  CrashPoint("snapshot/taken");
  std::vector<SnapshotInfo> out;
  std::vector<std::string> full_names;
  for (const SnapshotProps& t : *taken) {
    out.push_back(ToSnapshotInfo(t));
    full_names.push_back(t.name);
  }
  LogInfo("created snapshot(s) ", absl::StrJoin(full_names, ", "));
  // The reply needs only the new snapshots; each volume's event (with all
  // its snapshots) is read after the call has returned.
  for (const std::string& v : volumes) PublishVolumeSoon(v);
  return out;
}

absl::StatusOr<std::vector<SnapshotInfo>> VolumeManager::ListSnapshots(const std::string& volume) {
  absl::StatusOr<VolumeProps> props = GetManaged("list snapshots of", volume);
  if (!props.ok()) return props.status();
  absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(props->name);
  if (!snaps.ok()) return snaps.status();
  std::vector<SnapshotInfo> out;
  for (const SnapshotProps& s : *snaps) out.push_back(ToSnapshotInfo(s));
  return out;
}

absl::Status VolumeManager::DeleteSnapshot(const std::string& volume, const std::string& snapshot) {
  if (absl::Status s = ValidateName("volume name", volume); !s.ok()) return s;
  if (absl::Status s = ValidateName("snapshot name", snapshot); !s.ok()) return s;
  absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(volume);
  if (!lock.ok())
    return Annotate(lock.status(), absl::StrCat("delete snapshot '", volume, "@", snapshot, "'"));
  absl::StatusOr<VolumeProps> props = GetManaged("delete snapshot", volume);
  if (!props.ok()) return props.status();
  absl::StatusOr<SnapshotProps> snap = GetSnapshotOf("delete snapshot", *props, snapshot);
  if (!snap.ok()) return snap.status();
  if (std::string deps = DescribeDependents({*snap}); !deps.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "delete snapshot '", snap->name, "': depended on by ", deps, "; delete them first"));
  }
  if (absl::Status s = zfs_.DestroySnapshots({snap->name}); !s.ok()) return s;
  LogInfo("deleted snapshot ", snap->name);
  PublishVolumeByName(volume);
  return absl::OkStatus();
}

absl::StatusOr<VolumeInfo> VolumeManager::Rollback(const std::string& volume,
                                                   const std::string& snapshot) {
  if (absl::Status s = ValidateName("volume name", volume); !s.ok()) return s;
  if (absl::Status s = ValidateName("snapshot name", snapshot); !s.ok()) return s;
  const std::string op = absl::StrCat("roll back '", volume, "' to '", snapshot, "'");
  absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(volume);
  if (!lock.ok()) return Annotate(lock.status(), op);
  absl::StatusOr<VolumeProps> props = GetManaged("roll back", volume);
  if (!props.ok()) return props.status();
  const std::string target = DatasetNames::Snapshot(props->name, snapshot);
  // The newer snapshots and the rollback in one transaction, refused by the
  // kernel while anything has the device open (the seed: "VM must be
  // stopped!"; ZFS itself would roll back under a running guest). ZFS checks
  // everything; only a refusal is read further, to say why.
  if (absl::Status s = zfs_.Rollback(props->name, target); !s.ok()) {
    return DescribeRollbackRefusal(op, *props, snapshot, s);
  }
  CrashPoint("rollback/done");
  LogInfo("rolled back ", props->name, " to ", target, "; every newer snapshot went with it");
  // No reader may see blocks cached from before the rollback.
  const std::string path = ZvolDevicePath(props->name);
  absl::Status ready = devices_.WaitReady(path, props->name, options_.device_timeout);
  if (ready.ok()) {
    if (absl::Status s = devices_.InvalidateCache(path); !s.ok()) LogWarning(op, ": ", s.message());
  }
  absl::StatusOr<VolumeProps> after = zfs_.GetVolume(props->name);
  if (!after.ok()) return after.status();
  absl::StatusOr<VolumeInfo> info = ToVolumeInfo(*after);
  if (!info.ok()) return info.status();
  PublishVolume(*info);
  if (!ready.ok()) return Annotate(ready, op);
  return info;
}

absl::Status VolumeManager::DescribeRollbackRefusal(const std::string& op,
                                                    const VolumeProps& volume,
                                                    const std::string& snapshot,
                                                    const absl::Status& refused) {
  if (IsBusy(refused)) return DescribeFailure(op, volume.name, refused);
  const absl::Status as_refused = Annotate(refused, op);
  if (!absl::IsNotFound(refused) && !absl::IsFailedPrecondition(refused)) return as_refused;
  // Read only now, on the failure path: which snapshot is missing, or which
  // newer snapshots are depended on (by clones, or holds). A read that fails
  // says no more than ZFS did.
  absl::StatusOr<SnapshotProps> target = GetSnapshotOf("roll back to", volume, snapshot);
  if (!target.ok()) return absl::IsNotFound(target.status()) ? target.status() : as_refused;
  absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(volume.name);
  if (!snaps.ok()) return as_refused;
  std::vector<SnapshotProps> newer;
  std::copy_if(snaps->begin(), snaps->end(), std::back_inserter(newer),
               [&](const SnapshotProps& s) { return s.createtxg > target->createtxg; });
  if (std::string deps = DescribeDependents(newer); !deps.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(op, ": newer snapshots that would be destroyed are depended on by ", deps,
                     "; nothing was changed"));
  }
  return as_refused;
}

absl::StatusOr<VolumeInfo> VolumeManager::CloneVolume(const std::string& source_volume,
                                                      const std::string& snapshot,
                                                      const CloneVolumeParams& params) {
  if (absl::Status s = ValidateName("source volume name", source_volume); !s.ok()) return s;
  if (absl::Status s = ValidateName("snapshot name", snapshot); !s.ok()) return s;
  if (absl::Status s = ValidateNewVolume(params.name, params.id); !s.ok()) return s;
  const std::string op =
      absl::StrCat("clone '", source_volume, "@", snapshot, "' as '", params.name, "'");
  absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(params.name);
  if (!lock.ok()) return Annotate(lock.status(), op);
  absl::StatusOr<VolumeProps> source = GetManaged("clone", source_volume);
  if (!source.ok()) return source.status();
  absl::StatusOr<SnapshotProps> origin = GetSnapshotOf("clone", *source, snapshot);
  if (!origin.ok()) return origin.status();
  return CloneFrom(op, *origin, *source, params);
}

absl::StatusOr<VolumeInfo> VolumeManager::CloneFrom(const std::string& op,
                                                    const SnapshotProps& origin,
                                                    const VolumeProps& origin_volume,
                                                    const CloneVolumeParams& params) {
  // The clone starts with the volsize the origin had at the snapshot; it may
  // only grow. Everything is checked before ZFS is touched.
  const std::string dataset = names_.Volume(params.name);
  uint64_t volsize = origin.volsize;
  if (params.size_bytes.has_value()) {
    absl::StatusOr<uint64_t> rounded =
        RoundUpToBlock(*params.size_bytes, origin_volume.volblocksize);
    if (!rounded.ok()) return Annotate(rounded.status(), op);
    if (*rounded < origin.volsize) {
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": size ", *rounded, " bytes is smaller than the origin's volume size ",
                       origin.volsize, " bytes; a clone may only grow"));
    }
    volsize = *rounded;
    if (absl::Status s = CheckCapacity("clone volume", params.name, volsize); !s.ok()) return s;
  }
  absl::StatusOr<VolumeProps> existing = LookUpNewName(dataset);
  // NOT_FOUND: the name is free; INVALID_ARGUMENT: it exists and is not a zvol;
  // any other failure says nothing about the name.
  if (!existing.ok() && !absl::IsNotFound(existing.status()) &&
      !absl::IsInvalidArgument(existing.status())) {
    return Annotate(existing.status(), op);
  }
  if (existing.ok() || !absl::IsNotFound(existing.status())) {
    // An idempotent retry: the same id, origin and size.
    const bool same = existing.ok() && IsManaged(existing->user_props) && !params.id.empty() &&
                      existing->user_props.at(kIdProperty) == params.id &&
                      existing->origin == origin.name && existing->volsize == volsize &&
                      IsThick(*existing) == params.thick;
    if (!same) {
      return absl::AlreadyExistsError(
          absl::StrCat(op, ": dataset '", dataset,
                       "' already exists; a retry must send the same id, origin, size and "
                       "provisioning"));
    }
    return FinishNewVolume(op, dataset);
  }
  absl::StatusOr<std::optional<KeyedMutex::Lock>> id_lock = LockUnusedId(op, params.id, dataset);
  if (!id_lock.ok()) return id_lock.status();
  absl::StatusOr<SpaceGuard::Ticket> space = AdmitSpace(op, {volsize, params.thick ? volsize : 0});
  if (!space.ok()) return space.status();
  const std::string id = params.id.empty() ? NewUuid() : params.id;
  // Cloned (and grown) under .mvirt/creating, renamed into place complete.
  absl::Status made = MakeInCreating(op, params.name, id, dataset, [&](const std::string& staging) {
    absl::Status s =
        zfs_.Clone(staging, origin.name, {{kIdProperty, id}, {kKindProperty, kKindVolume}});
    if (s.ok()) CrashPoint("clone/cloned");
    if (s.ok() && volsize > origin.volsize) s = zfs_.SetVolsize(staging, volsize);
    if (s.ok() && params.thick) s = ReserveAll(staging);
    return s;
  });
  if (!made.ok()) return made;
  LogInfo("cloned ", origin.name, " as ", dataset, " (id ", id, ")");
  return FinishNewVolume(op, dataset);
}

}  // namespace mvirt::zfs
