// VolumeManager: renames of volumes and snapshots. A rename changes the
// name only: ids, data, snapshots, holds and clones stay (ZFS renames in
// place; clones follow their origin).
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/names.h"
#include "common/status_util.h"
#include "device/zvol_device.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {

absl::StatusOr<VolumeInfo> VolumeManager::RenameVolume(const std::string& name,
                                                       const std::string& new_name,
                                                       const std::string& id) {
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  if (absl::Status s = ValidateName("new volume name", new_name); !s.ok()) return s;
  const std::string op = absl::StrCat("rename volume '", name, "' to '", new_name, "'");
  if (!id.empty()) {
    if (absl::Status s = ValidateId(id); !s.ok()) return Annotate(s, op);
  }
  if (name == new_name) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": the new name is the old one"));
  }
  // Both names, always in the same order: two renames crossing each other
  // cannot deadlock.
  const bool old_first = name < new_name;
  absl::StatusOr<KeyedMutex::Lock> first = LockVolume(old_first ? name : new_name);
  if (!first.ok()) return Annotate(first.status(), op);
  absl::StatusOr<KeyedMutex::Lock> second = LockVolume(old_first ? new_name : name);
  if (!second.ok()) return Annotate(second.status(), op);

  const std::string from = names_.Volume(name);
  const std::string to = names_.Volume(new_name);
  absl::StatusOr<VolumeProps> props = GetManaged("rename volume", name);
  if (absl::IsNotFound(props.status()) && !id.empty()) {
    // A retry of a rename that completed: the volume with that id carries
    // the new name.
    if (absl::StatusOr<VolumeProps> renamed = zfs_.GetVolume(to);
        renamed.ok() && IsManaged(renamed->user_props) &&
        renamed->user_props.at(kIdProperty) == id) {
      return ToVolumeInfo(*renamed);
    }
  }
  if (!props.ok()) return props.status();
  const std::string& volume_id = props->user_props.at(kIdProperty);
  if (!id.empty() && id != volume_id) {
    return absl::FailedPreconditionError(absl::StrCat(op, ": volume '", name, "' is id ", volume_id,
                                                      ", not ", id, "; nothing was changed"));
  }
  absl::StatusOr<VolumeProps> taken = LookUpNewName(to);
  if (taken.ok() || absl::IsInvalidArgument(taken.status())) {
    return absl::AlreadyExistsError(
        absl::StrCat(op, ": a volume or dataset named '", new_name, "' exists"));
  }
  if (!absl::IsNotFound(taken.status())) return Annotate(taken.status(), op);
  // A VM's configuration names the device path: renaming it under the VM
  // would break its next start, and whoever holds it open keeps the old
  // name in use.
  const std::string old_path = ZvolDevicePath(from);
  if (std::vector<DeviceHolder> holders = LastingHolders(old_path); !holders.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(op, ": device ", old_path, " is in use by ", DescribeHolders(holders),
                     "; stop its users first. Nothing was changed"));
  }
  if (absl::Status s = zfs_.Rename(from, to); !s.ok()) return DescribeFailure(op, from, s);
  LogInfo("renamed volume ", from, " to ", to, " (id ", volume_id, ")");
  // The event first (the volume is renamed whether or not its links follow
  // in time), then the links: the old one gone, the new one the volume.
  absl::StatusOr<VolumeProps> renamed = zfs_.GetVolume(to);
  if (!renamed.ok()) return Annotate(renamed.status(), op);
  absl::StatusOr<VolumeInfo> info = ToVolumeInfo(*renamed);
  if (!info.ok()) return Annotate(info.status(), op);
  PublishVolume(*info);
  if (renamed->key_loaded) {
    if (absl::Status s = devices_.WaitGone(old_path, options_.device_timeout); !s.ok()) {
      return Annotate(s, op);
    }
    if (absl::Status s = devices_.WaitReady(ZvolDevicePath(to), to, options_.device_timeout);
        !s.ok()) {
      return Annotate(s, op);
    }
  }
  return info;
}

absl::StatusOr<SnapshotInfo> VolumeManager::RenameSnapshot(const std::string& volume,
                                                           const std::string& snapshot,
                                                           const std::string& new_name,
                                                           const std::string& id) {
  if (absl::Status s = ValidateName("volume name", volume); !s.ok()) return s;
  if (absl::Status s = ValidateName("snapshot name", snapshot); !s.ok()) return s;
  if (absl::Status s = ValidateName("new snapshot name", new_name); !s.ok()) return s;
  const std::string op =
      absl::StrCat("rename snapshot '", volume, "@", snapshot, "' to '", new_name, "'");
  if (!id.empty()) {
    if (absl::Status s = ValidateId(id); !s.ok()) return Annotate(s, op);
  }
  if (snapshot == new_name) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": the new name is the old one"));
  }
  absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(volume);
  if (!lock.ok()) return Annotate(lock.status(), op);
  absl::StatusOr<VolumeProps> props = GetManaged("rename snapshot of", volume);
  if (!props.ok()) return props.status();
  const std::string from = DatasetNames::Snapshot(props->name, snapshot);
  const std::string to = DatasetNames::Snapshot(props->name, new_name);
  absl::StatusOr<SnapshotProps> snap = GetSnapshotOf("rename snapshot", *props, snapshot);
  if (absl::IsNotFound(snap.status()) && !id.empty()) {
    if (absl::StatusOr<SnapshotProps> renamed = zfs_.GetSnapshot(to); renamed.ok()) {
      SnapshotInfo info = ToSnapshotInfo(*renamed);
      if (info.id == id) return info;  // a retry of a rename that completed
    }
  }
  if (!snap.ok()) return snap.status();
  SnapshotInfo before = ToSnapshotInfo(*snap);
  if (!id.empty() && id != before.id) {
    return absl::FailedPreconditionError(absl::StrCat(op, ": snapshot '", snapshot, "' is id ",
                                                      before.id, ", not ", id,
                                                      "; nothing was changed"));
  }
  if (zfs_.Exists(to)) {
    return absl::AlreadyExistsError(
        absl::StrCat(op, ": volume '", volume, "' has a snapshot '", new_name, "'"));
  }
  if (absl::Status s = zfs_.Rename(from, to); !s.ok()) return Annotate(s, op);
  LogInfo("renamed snapshot ", from, " to ", to);
  absl::StatusOr<SnapshotProps> renamed = zfs_.GetSnapshot(to);
  if (!renamed.ok()) return Annotate(renamed.status(), op);
  if (absl::StatusOr<VolumeInfo> info = ToVolumeInfo(*props); info.ok()) PublishVolume(*info);
  return ToSnapshotInfo(*renamed);
}

}  // namespace mvirt::zfs
