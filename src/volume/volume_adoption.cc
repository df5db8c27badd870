// VolumeManager: adopting a zvol this daemon did not create, and releasing
// a volume from management. Both change marks (user properties) and at most
// a name; data, snapshots and devices are never touched.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crash_point.h"
#include "common/log.h"
#include "common/names.h"
#include "common/status_util.h"
#include "device/zvol_device.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {

absl::StatusOr<VolumeInfo> VolumeManager::AdoptVolume(const AdoptVolumeParams& params) {
  const std::string& dataset = params.dataset;
  const std::string op = absl::StrCat("adopt zvol '", dataset, "'");
  // Everything about the request is checked before ZFS is read.
  const std::string prefix = options_.pool + "/";
  if (!absl::StartsWith(dataset, prefix) || dataset.size() == prefix.size() ||
      dataset.find('@') != std::string::npos || dataset.size() > 255) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": give the zvol's dataset name in pool '",
                                                   options_.pool, "' (", prefix, "NAME)"));
  }
  if (dataset == names_.ReservedRoot() || absl::StartsWith(dataset, names_.ReservedRoot() + "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": ", names_.ReservedRoot(), " is this daemon's own namespace"));
  }
  std::string name = params.new_name;
  if (name.empty()) {
    name = names_.VolumeNameOf(dataset);
    if (names_.Volume(name) != dataset || !ValidateName("volume name", name).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": it is not named as a volume (", prefix,
                       "NAME with a valid volume name); give new_name to rename it into place"));
    }
  } else if (absl::Status s = ValidateName("new volume name", name); !s.ok()) {
    return Annotate(s, op);
  }
  if (!params.id.empty()) {
    if (absl::Status s = ValidateId(params.id); !s.ok()) return Annotate(s, op);
  }
  const std::string target = names_.Volume(name);
  const bool rename = target != dataset;
  if (rename && params.allow_open) {
    return absl::InvalidArgumentError(
        absl::StrCat(op,
                     ": allow_open cannot be combined with new_name (the rename would move "
                     "the device path from under its user)"));
  }

  absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(name);
  if (!lock.ok()) return Annotate(lock.status(), op);
  absl::StatusOr<VolumeProps> props = zfs_.GetVolume(dataset);
  if (!props.ok()) {
    if (absl::IsNotFound(props.status()) && rename && !params.id.empty()) {
      // A retry of an adoption that completed: the volume carries the id.
      if (absl::StatusOr<VolumeProps> done = zfs_.GetVolume(target);
          done.ok() && IsManaged(done->user_props) &&
          done->user_props.at(kIdProperty) == params.id) {
        return ToVolumeInfo(*done);
      }
    }
    if (absl::IsNotFound(props.status())) {
      return UnlessPoolGone(absl::NotFoundError(absl::StrCat(op, ": no such zvol")));
    }
    if (absl::IsInvalidArgument(props.status())) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": it is not a zvol"));
    }
    return Annotate(props.status(), op);
  }
  // Marked already: adopted in place, or cut between its marks and its
  // rename (the retry names the id and the rename goes on).
  const bool marked = IsManaged(props->user_props);
  if (marked) {
    const std::string& id = props->user_props.at(kIdProperty);
    const bool same = params.id.empty() ? !rename : params.id == id;
    if (!same) {
      return absl::AlreadyExistsError(
          absl::StrCat(op, ": it is managed by mvirt-zfs already (id ", id, ")"));
    }
    if (!rename) return FinishNewVolume(op, dataset);
  }
  if (!props->origin.empty() && !params.allow_unmanaged_origin) {
    absl::StatusOr<VolumeProps> origin = zfs_.GetVolume(DatasetNames::DatasetOf(props->origin));
    if (!origin.ok() || !IsManaged(origin->user_props)) {
      return absl::FailedPreconditionError(absl::StrCat(
          op, ": it is a clone of '", props->origin,
          "', which mvirt-zfs does not manage (its volume could not refuse a delete or rollback "
          "that this clone depends on); adopt the origin first, or set allow_unmanaged_origin"));
    }
  }
  const std::string path = ZvolDevicePath(dataset);
  if (props->key_loaded && (rename || !params.allow_open)) {
    if (std::vector<DeviceHolder> holders = LastingHolders(path); !holders.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(op, ": device ", path, " is in use by ", DescribeHolders(holders),
                       rename ? "; a rename would move it from under them: stop them first"
                              : "; stop them first, or set allow_open to adopt it as it is"));
    }
  }
  if (rename) {
    absl::StatusOr<VolumeProps> taken = LookUpNewName(target);
    if (taken.ok() || absl::IsInvalidArgument(taken.status())) {
      return absl::AlreadyExistsError(
          absl::StrCat(op, ": a volume or dataset named '", name, "' exists"));
    }
    if (!absl::IsNotFound(taken.status())) return Annotate(taken.status(), op);
  }
  absl::StatusOr<std::optional<KeyedMutex::Lock>> id_lock = LockUnusedId(op, params.id, target);
  if (!id_lock.ok()) return id_lock.status();
  const std::string id = params.id.empty() ? NewUuid() : params.id;

  // Marked where it is (mvirt:kind, then mvirt:id: managed from that
  // instant), then renamed into place: a crash between the two leaves a
  // marked zvol outside the volume namespace, which the retry renames. A
  // failed mark or rename is undone (the id first), the marks only if this
  // call set them.
  auto undo = [&](const absl::Status& failure) {
    if (marked) return failure;
    for (const char* key : {kIdProperty, kKindProperty}) {
      if (absl::Status s = zfs_.ClearUserProperty(dataset, key); !s.ok()) {
        LogError(op, ": could not remove ", key, " again: ", s.message());
      }
    }
    return failure;
  };
  if (!marked) {
    if (absl::Status s = zfs_.SetProperty(dataset, kKindProperty, kKindVolume); !s.ok()) {
      return undo(Annotate(s, op));
    }
    if (absl::Status s = zfs_.SetProperty(dataset, kIdProperty, id); !s.ok()) {
      return undo(Annotate(s, op));
    }
    CrashPoint("adopt/marked");
  }
  if (rename) {
    if (absl::Status s = zfs_.Rename(dataset, target); !s.ok()) {
      return undo(DescribeFailure(op, dataset, s));
    }
    CrashPoint("adopt/renamed");
  }
  LogInfo("adopted zvol ", dataset, rename ? absl::StrCat(" as ", target) : std::string(), " (id ",
          id, ")");
  if (rename && props->key_loaded) {
    if (absl::Status s = devices_.WaitGone(path, options_.device_timeout); !s.ok()) {
      return Annotate(s, op);
    }
  }
  return FinishNewVolume(op, target);
}

absl::StatusOr<std::string> VolumeManager::ReleaseVolume(const std::string& name,
                                                         const std::string& id) {
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  const std::string op = absl::StrCat("release volume '", name, "'");
  if (!id.empty()) {
    if (absl::Status s = ValidateId(id); !s.ok()) return Annotate(s, op);
  }
  absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(name);
  if (!lock.ok()) return Annotate(lock.status(), op);
  const std::string dataset = names_.Volume(name);
  absl::StatusOr<VolumeProps> props = GetManaged("release volume", name);
  std::string volume_id;
  if (props.ok()) {
    volume_id = props->user_props.at(kIdProperty);
    if (!id.empty() && id != volume_id) {
      return absl::FailedPreconditionError(absl::StrCat(
          op, ": volume '", name, "' is id ", volume_id, ", not ", id, "; nothing was changed"));
    }
  } else {
    // Unmanaged: done, unless a release that failed half-way left marks.
    absl::StatusOr<VolumeProps> unmanaged = zfs_.GetVolume(dataset);
    if (!unmanaged.ok() || unmanaged->user_props.count(kKindProperty) == 0) {
      return props.status();
    }
    props = std::move(unmanaged);
  }
  absl::StatusOr<std::vector<SnapshotProps>> snapshots = zfs_.ListSnapshots(dataset);
  if (!snapshots.ok()) return Annotate(snapshots.status(), op);
  // This daemon's retention holds go with its management (nobody would
  // release them later); anyone else's stay.
  for (const SnapshotProps& s : *snapshots) {
    if (s.userrefs == 0) continue;
    absl::StatusOr<std::vector<std::string>> tags = zfs_.Holds(s.name);
    if (!tags.ok()) return Annotate(tags.status(), op);
    for (const std::string& tag : *tags) {
      if (tag != kReplicationBaseHold) continue;
      if (absl::Status r = zfs_.Release(s.name, tag); !r.ok()) return Annotate(r, op);
      LogInfo(op, ": released hold ", tag, " on ", s.name);
    }
  }
  if (!volume_id.empty()) {
    if (absl::Status s = zfs_.ClearUserProperty(dataset, kIdProperty); !s.ok()) {
      return Annotate(s, op);
    }
    CrashPoint("release/unmanaged");
    LogInfo("released volume ", dataset, " (id ", volume_id, ") from management");
    PublishVolumeDeleted(volume_id);
  }
  // The other marks, best effort in the order a retry finds them: the
  // snapshots' first, the volume's mvirt:kind (what a retry looks for) last.
  std::vector<std::string> left;
  auto clear = [&](const std::string& object, const UserProps& marks) {
    for (const auto& [key, value] : marks) {
      if (!absl::StartsWith(key, "mvirt:") || (object == dataset && key == kKindProperty)) continue;
      if (absl::Status s = zfs_.ClearUserProperty(object, key); !s.ok()) {
        left.push_back(absl::StrCat(key, " on ", object, " (", s.message(), ")"));
      }
    }
  };
  for (const SnapshotProps& s : *snapshots) clear(s.name, s.user_props);
  clear(dataset, props->user_props);
  if (left.empty()) {
    if (absl::Status s = zfs_.ClearUserProperty(dataset, kKindProperty); !s.ok()) {
      left.push_back(absl::StrCat(kKindProperty, " on ", dataset, " (", s.message(), ")"));
    }
  }
  if (!left.empty()) {
    return absl::AbortedError(
        absl::StrCat(op, ": the volume is no longer managed, but these marks remain: ",
                     absl::StrJoin(left, ", "), "; call ReleaseVolume again to remove them"));
  }
  return dataset;
}

}  // namespace mvirt::zfs
