#include "volume/volume_manager.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/names.h"
#include "common/sizes.h"
#include "common/status_util.h"
#include "device/zvol_device.h"

namespace mvirt::zfs {

bool IsManaged(const UserProps& props) { return props.count(kIdProperty) > 0; }

absl::Status ValidateNewVolume(const std::string& name, const std::string& id) {
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  if (id.empty()) return absl::OkStatus();  // one is generated
  return ValidateId(id);
}

VolumeManager::VolumeManager(Zfs& zfs, VolumeManagerOptions options)
    : zfs_(zfs), options_(std::move(options)) {}

std::string VolumeManager::DatasetName(const std::string& name) const {
  return absl::StrCat(options_.pool, "/", name);
}

absl::StatusOr<PoolStatsInfo> VolumeManager::GetPoolStats() {
  absl::StatusOr<PoolProps> pool = zfs_.GetPool(options_.pool);
  if (!pool.ok()) return pool.status();
  absl::StatusOr<std::vector<VolumeProps>> volumes = zfs_.ListVolumes(options_.pool);
  if (!volumes.ok()) return volumes.status();
  PoolStatsInfo stats;
  stats.name = pool->name;
  stats.used_bytes = pool->used;
  stats.available_bytes = pool->available;
  stats.total_bytes = pool->used + pool->available;
  stats.compression_ratio = pool->compressratio;
  for (const VolumeProps& v : *volumes) {
    if (IsManaged(v.user_props)) stats.provisioned_bytes += v.volsize;
  }
  return stats;
}

absl::StatusOr<uint64_t> VolumeManager::MaxVolumeSize() {
  absl::StatusOr<PoolProps> pool = zfs_.GetPool(options_.pool);
  if (!pool.ok()) return pool.status();
  return pool->used + pool->available;
}

absl::Status VolumeManager::CheckCapacity(absl::string_view op, const std::string& name,
                                          uint64_t size) {
  absl::StatusOr<uint64_t> capacity_or = MaxVolumeSize();
  if (!capacity_or.ok()) return capacity_or.status();
  const uint64_t capacity = *capacity_or;
  if (size > capacity) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, " '", name, "': size ", size, " bytes (", FormatSize(size),
        ") exceeds the capacity of pool '", options_.pool, "' (", capacity, " bytes, ",
        FormatSize(capacity), "); a volume may be at most as large as its pool"));
  }
  return absl::OkStatus();
}

absl::Status VolumeManager::CheckIdUnused(absl::string_view op, const std::string& id,
                                          const std::string& dataset) {
  absl::StatusOr<std::vector<VolumeProps>> volumes = zfs_.ListVolumes(options_.pool);
  if (!volumes.ok()) return volumes.status();
  for (const VolumeProps& v : *volumes) {
    auto it = v.user_props.find(kIdProperty);
    if (it != v.user_props.end() && it->second == id && v.name != dataset) {
      return absl::AlreadyExistsError(absl::StrCat(
          op, " '", dataset.substr(options_.pool.size() + 1), "': id ", id,
          " already belongs to volume '", v.name.substr(options_.pool.size() + 1),
          "'; ids identify volumes and must be unique"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<VolumeInfo> VolumeManager::Create(const CreateVolumeParams& params) {
  // Validate everything before touching ZFS.
  if (absl::Status s = ValidateNewVolume(params.name, params.id); !s.ok()) return s;
  uint64_t volblocksize = params.volblocksize.value_or(kDefaultVolblocksize);
  if (absl::Status s = ValidateVolblocksize(volblocksize); !s.ok()) return s;
  absl::StatusOr<uint64_t> volsize = RoundUpToBlock(params.size_bytes, volblocksize);
  if (!volsize.ok()) return Annotate(volsize.status(), absl::StrCat("create volume '", params.name, "'"));
  if (absl::Status s = CheckCapacity("create volume", params.name, *volsize); !s.ok()) return s;

  const std::string dataset = DatasetName(params.name);
  const std::string path = ZvolDevicePath(dataset);
  KeyedMutex::Lock lock(name_locks_, params.name);

  absl::StatusOr<VolumeProps> existing = zfs_.GetVolume(dataset);
  if (existing.ok() || !absl::IsNotFound(existing.status())) {
    if (!existing.ok() || !IsManaged(existing->user_props)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "create volume '", params.name, "': dataset '", dataset,
          "' already exists and is not managed by mvirt-zfs"));
    }
    const std::string& existing_id = existing->user_props.at(kIdProperty);
    bool same = !params.id.empty() && params.id == existing_id &&
                existing->volsize == *volsize && existing->volblocksize == volblocksize;
    if (!same) {
      return absl::AlreadyExistsError(absl::StrCat(
          "create volume '", params.name, "': a volume of that name already exists (id ",
          existing_id, ", ", existing->volsize, " bytes, volblocksize ", existing->volblocksize,
          "); a retry must send the same id, size and volblocksize"));
    }
    // An idempotent retry, perhaps of a call whose device wait timed out.
    if (absl::Status s = WaitForZvolDevice(path, dataset, options_.device_timeout); !s.ok()) {
      return Annotate(s, absl::StrCat("create volume '", params.name, "'"));
    }
    return ToVolumeInfo(*existing);
  }

  std::optional<KeyedMutex::Lock> id_lock;
  if (!params.id.empty()) {
    id_lock.emplace(name_locks_, IdLockKey(params.id));
    if (absl::Status s = CheckIdUnused("create volume", params.id, dataset); !s.ok()) return s;
  }
  std::string id = params.id.empty() ? NewUuid() : params.id;
  UserProps props = {{kIdProperty, id}, {kKindProperty, kKindVolume}};
  if (absl::Status s = zfs_.CreateVolume(dataset, *volsize, volblocksize, props); !s.ok()) {
    return s;
  }
  LogInfo("created volume ", dataset, " (id ", id, ", ", *volsize, " bytes, volblocksize ",
          volblocksize, ")");
  if (absl::Status s = WaitForZvolDevice(path, dataset, options_.device_timeout); !s.ok()) {
    return Annotate(s, absl::StrCat("create volume '", params.name, "'"));
  }
  absl::StatusOr<VolumeProps> created = zfs_.GetVolume(dataset);
  if (!created.ok()) return created.status();
  absl::StatusOr<VolumeInfo> info = ToVolumeInfo(*created);
  if (info.ok()) PublishVolume(*info);
  return info;
}

absl::StatusOr<VolumeProps> VolumeManager::GetManaged(absl::string_view op,
                                                      const std::string& name) {
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  const std::string dataset = DatasetName(name);
  absl::StatusOr<VolumeProps> props = zfs_.GetVolume(dataset);
  if (!props.ok()) {
    if (absl::IsNotFound(props.status())) {
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
  VolumeInfo v;
  v.id = props.user_props.at(kIdProperty);
  v.name = props.name.substr(options_.pool.size() + 1);
  v.path = ZvolDevicePath(props.name);
  v.volsize_bytes = props.volsize;
  v.used_bytes = props.used;
  v.volblocksize = props.volblocksize;
  v.compression_ratio = props.compressratio;
  v.created_at = props.creation;
  absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(props.name);
  if (!snaps.ok()) return snaps.status();
  for (const SnapshotProps& s : *snaps) v.snapshots.push_back(ToSnapshotInfo(s));
  return v;
}

SnapshotInfo VolumeManager::ToSnapshotInfo(const SnapshotProps& s) const {
  SnapshotInfo info;
  auto id = s.user_props.find(kIdProperty);
  info.id = id != s.user_props.end() ? id->second : std::to_string(s.guid);
  info.name = s.name.substr(s.name.find('@') + 1);
  info.full_name = s.name;
  info.used_bytes = s.used;
  info.created_at = s.creation;
  info.createtxg = s.createtxg;
  return info;
}

absl::Status VolumeManager::CheckNotInUse(absl::string_view op, const std::string& name,
                                          const std::string& dataset) {
  const std::string path = ZvolDevicePath(dataset);
  std::vector<DeviceHolder> holders = FindLastingDeviceHolders(path, absl::Seconds(2));
  if (holders.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(op, " '", name, "': device ", path,
                                                    " is in use by ", DescribeHolders(holders),
                                                    "; stop its users first"));
}

absl::StatusOr<VolumeInfo> VolumeManager::Get(const std::string& name) {
  absl::StatusOr<VolumeProps> props = GetManaged("get volume", name);
  if (!props.ok()) return props.status();
  return ToVolumeInfo(*props);
}

absl::StatusOr<std::vector<VolumeInfo>> VolumeManager::List() {
  absl::StatusOr<std::vector<VolumeProps>> all = zfs_.ListVolumes(options_.pool);
  if (!all.ok()) return all.status();
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

absl::StatusOr<VolumeInfo> VolumeManager::Resize(const std::string& name,
                                                 uint64_t new_size_bytes) {
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  if (new_size_bytes == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("resize volume '", name, "': new size must be greater than 0"));
  }
  KeyedMutex::Lock lock(name_locks_, name);
  absl::StatusOr<VolumeProps> props = GetManaged("resize volume", name);
  if (!props.ok()) return props.status();
  absl::StatusOr<uint64_t> volsize = RoundUpToBlock(new_size_bytes, props->volblocksize);
  if (!volsize.ok()) return Annotate(volsize.status(), absl::StrCat("resize volume '", name, "'"));
  if (*volsize < props->volsize) {
    return absl::FailedPreconditionError(absl::StrCat(
        "resize volume '", name, "': shrinking from ", props->volsize, " to ", *volsize,
        " bytes would destroy data; volumes can only grow"));
  }
  if (*volsize == props->volsize) return ToVolumeInfo(*props);
  if (absl::Status s = CheckCapacity("resize volume", name, *volsize); !s.ok()) return s;
  if (absl::Status s = zfs_.SetVolsize(props->name, *volsize); !s.ok()) return s;
  LogInfo("resized volume ", props->name, " from ", props->volsize, " to ", *volsize, " bytes");
  absl::StatusOr<VolumeProps> resized = zfs_.GetVolume(props->name);
  if (!resized.ok()) return resized.status();
  absl::StatusOr<VolumeInfo> info = ToVolumeInfo(*resized);
  if (info.ok()) PublishVolume(*info);
  return info;
}

absl::Status VolumeManager::Delete(const std::string& name) {
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  KeyedMutex::Lock lock(name_locks_, name);
  absl::StatusOr<VolumeProps> props = GetManaged("delete volume", name);
  if (!props.ok()) return props.status();
  const std::string& dataset = props->name;
  const std::string path = ZvolDevicePath(dataset);

  // Refuse, changing nothing, while anything depends on the volume.
  absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(dataset);
  if (!snaps.ok()) return snaps.status();
  if (std::string deps = DescribeDependents(*snaps); !deps.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "delete volume '", name, "': its snapshots are depended on by ", deps,
        "; delete the clones or release the holds first"));
  }
  std::vector<std::string> snapshot_names;
  for (const SnapshotProps& s : *snaps) snapshot_names.push_back(s.name);
  if (absl::Status s = CheckNotInUse("delete volume", name, dataset); !s.ok()) return s;

  if (absl::Status s = zfs_.DestroySnapshots(snapshot_names); !s.ok()) {
    return Annotate(s, absl::StrCat("delete volume '", name, "'"));
  }
  if (absl::Status s = zfs_.Destroy(dataset); !s.ok()) {
    if (s.code() == absl::StatusCode::kFailedPrecondition) {
      // Opened since the check above: name who holds it now.
      if (absl::Status busy = CheckNotInUse("delete volume", name, dataset); !busy.ok()) return busy;
    }
    return Annotate(s, absl::StrCat("delete volume '", name, "'"));
  }
  LogInfo("deleted volume ", dataset, " and ", snapshot_names.size(), " snapshots");
  PublishVolumeDeleted(props->user_props.at(kIdProperty));
  if (!props->origin.empty()) {
    PublishTemplateOfOrigin(props->origin);
    // It may have been the last clone of a deleted template.
    CollectGarbage(/*at_startup=*/false);
  }
  if (absl::Status s = WaitForDeviceGone(path, options_.device_timeout); !s.ok()) {
    LogWarning("delete volume '", name, "': ", s.message());
  }
  return absl::OkStatus();
}

void VolumeManager::PublishVolume(const VolumeInfo& volume) {
  volume_events_.Publish({volume.id, absl::ToUnixSeconds(absl::Now()), volume});
}

void VolumeManager::PublishVolumeDeleted(const std::string& id) {
  volume_events_.Publish({id, absl::ToUnixSeconds(absl::Now()), std::nullopt});
}

void VolumeManager::PublishVolumeByName(const std::string& name) {
  absl::StatusOr<VolumeInfo> info = Get(name);
  if (info.ok()) PublishVolume(*info);
}

void VolumeManager::CloseEvents() {
  volume_events_.Close();
  template_events_.Close();
}

}  // namespace mvirt::zfs
