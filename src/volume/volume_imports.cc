// VolumeManager: the ZFS side of image imports. An import writes into a
// staging zvol under .mvirt/imports (the only part of .mvirt whose zvols get
// devices), then CompleteStagingVolume snapshots it and renames it into
// templates/ in one step. Staging zvols left by a crash are swept at
// start-up (CollectGarbage).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crash_point.h"
#include "common/log.h"
#include "common/names.h"
#include "common/sizes.h"
#include "common/status_util.h"
#include "device/zvol_device.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {

absl::Status VolumeManager::ReserveTemplateName(const std::string& template_name) {
  if (absl::Status s = ValidateName("template name", template_name); !s.ok()) return s;
  const std::string op = absl::StrCat("import template '", template_name, "'");
  absl::StatusOr<KeyedMutex::Lock> lock = name_locks_.Acquire(TemplateLockKey(template_name));
  if (!lock.ok()) return Annotate(lock.status(), op);
  if (absl::Status s = CheckTemplateNameFree(op, template_name); !s.ok()) return s;
  MutexLock reserved(&reserved_mu_);
  reserved_templates_.insert(template_name);
  return absl::OkStatus();
}

void VolumeManager::ReleaseTemplateName(const std::string& template_name) {
  MutexLock reserved(&reserved_mu_);
  reserved_templates_.erase(template_name);
}

absl::Status VolumeManager::CheckTemplateNameFree(absl::string_view op, const std::string& name) {
  if (zfs_.Exists(names_.Template(name))) {
    return absl::AlreadyExistsError(absl::StrCat(op, ": a template of that name exists"));
  }
  MutexLock reserved(&reserved_mu_);
  if (reserved_templates_.count(name) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(op, ": an import of a template of that name is running"));
  }
  return absl::OkStatus();
}

absl::StatusOr<StagingVolume> VolumeManager::CreateStagingVolume(
    const StagingVolumeParams& params) {
  const std::string op = absl::StrCat("import template '", params.template_name, "'");
  // Rounded down when the size is the pool's whole capacity (a body of
  // unknown length): rounding it up would exceed the capacity.
  absl::StatusOr<uint64_t> volsize = RoundUpToBlock(params.size_bytes, kDefaultVolblocksize);
  if (!volsize.ok()) return Annotate(volsize.status(), op);
  if (absl::StatusOr<uint64_t> max = MaxVolumeSize();
      max.ok() && *volsize > *max && params.size_bytes <= *max) {
    *volsize = *max / kDefaultVolblocksize * kDefaultVolblocksize;
  }
  if (absl::Status s = CheckCapacity("import template", params.template_name, *volsize); !s.ok()) {
    return s;
  }
  // Admitted with the free space of now: the image's data is written later
  // (its size is not known before), so the reserve cannot be claimed up front.
  absl::StatusOr<SpaceGuard::Ticket> space = AdmitSpace(op, {*volsize, 0});
  if (!space.ok()) return space.status();
  if (absl::Status s = EnsureReservedDatasets(); !s.ok()) return Annotate(s, op);
  StagingVolume staging;
  staging.template_name = params.template_name;
  staging.template_id = params.template_id;
  staging.import_source = params.import_source;
  staging.dataset = names_.ImportStaging(params.template_name, params.job_id);
  staging.device = ZvolDevicePath(staging.dataset);
  staging.volsize = *volsize;
  staging.volblocksize = kDefaultVolblocksize;
  // Every property the template needs is set atomically with the create;
  // the zvol is invisible until CompleteStagingVolume moves it.
  UserProps props = {{kIdProperty, params.template_id},
                     {kKindProperty, kKindTemplate},
                     {kImportJobProperty, params.job_id}};
  if (!params.import_source.empty()) props[kImportSourceProperty] = params.import_source;
  if (absl::Status s =
          zfs_.CreateVolume(staging.dataset, staging.volsize, staging.volblocksize, props);
      !s.ok()) {
    return Annotate(s, op);
  }
  if (absl::Status s = devices_.WaitReady(staging.device, staging.dataset, options_.device_timeout);
      !s.ok()) {
    if (absl::Status d = DiscardStagingVolume(staging); !d.ok()) LogError(op, ": ", d.message());
    return Annotate(s, op);
  }
  CrashPoint("import/staged");
  LogInfo(op, ": staging zvol ", staging.dataset, " (", staging.volsize, " bytes)");
  return staging;
}

absl::Status VolumeManager::TrimStagingVolume(StagingVolume& staging, uint64_t size_bytes) {
  const std::string op = absl::StrCat("import template '", staging.template_name, "'");
  absl::StatusOr<uint64_t> volsize = RoundUpToBlock(size_bytes, staging.volblocksize);
  if (!volsize.ok()) return Annotate(volsize.status(), op);
  if (*volsize == staging.volsize) return absl::OkStatus();
  if (absl::Status s = zfs_.SetVolsize(staging.dataset, *volsize); !s.ok()) return Annotate(s, op);
  LogInfo(op, ": staging zvol ", staging.dataset, " sized to the image, ", *volsize, " bytes");
  staging.volsize = *volsize;
  return absl::OkStatus();
}

absl::StatusOr<TemplateInfo> VolumeManager::CompleteStagingVolume(const StagingVolume& staging) {
  const std::string op = absl::StrCat("import template '", staging.template_name, "'");
  KeyedMutex::Lock lock =
      name_locks_.AcquireUninterruptible(TemplateLockKey(staging.template_name));
  if (absl::Status s = zfs_.Snapshot({DatasetNames::TemplateSnapshotOf(staging.dataset)}, {});
      !s.ok()) {
    return Annotate(s, op);
  }
  CrashPoint("import/snapshotted");
  // Templates are read only through clones: drop the device, as every zvol
  // under templates/ has none. The kernel skips a device that is open (udev
  // may still be probing it after the last write), so set it again until
  // the device is gone.
  const absl::Time deadline = absl::Now() + options_.device_timeout;
  absl::Status gone;
  do {
    if (absl::Status s = zfs_.SetProperty(staging.dataset, "volmode", "none"); !s.ok()) {
      return Annotate(s, op);
    }
    gone = devices_.WaitGone(
        staging.device,
        std::min(absl::Seconds(2), std::max(deadline - absl::Now(), absl::ZeroDuration())));
  } while (!gone.ok() && absl::Now() < deadline);
  if (!gone.ok())
    LogWarning(op, ": ", gone.message(), "; the template keeps a device until reboot");
  const std::string target = names_.Template(staging.template_name);
  CrashPoint("import/hidden");
  if (absl::Status s = zfs_.Rename(staging.dataset, target); !s.ok()) return Annotate(s, op);
  CrashPoint("import/renamed");
  LogInfo(op, ": template ", target, " complete");
  // The template exists from here on, whatever a read of it says.
  absl::StatusOr<VolumeProps> props = GetManagedTemplate(staging.template_name);
  absl::StatusOr<TemplateInfo> info =
      props.ok() ? ToTemplateInfo(*props) : absl::StatusOr<TemplateInfo>(props.status());
  if (info.ok()) return info;
  LogWarning(op, ": cannot read the new template back: ", info.status().message());
  TemplateInfo known;
  known.id = staging.template_id;
  known.name = staging.template_name;
  known.snapshot_path = DatasetNames::TemplateSnapshotOf(target);
  known.import_source = staging.import_source;
  known.size_bytes = staging.volsize;
  known.created_at = absl::ToUnixSeconds(absl::Now());
  return known;
}

absl::Status VolumeManager::DiscardStagingVolume(const StagingVolume& staging) {
  if (!zfs_.Exists(staging.dataset)) return absl::OkStatus();
  if (absl::Status s = zfs_.DestroyWithSnapshots(staging.dataset); !s.ok()) {
    return Annotate(s, absl::StrCat("remove the partial import of template '",
                                    staging.template_name, "' (removed at the next start)"));
  }
  LogInfo("removed the partial import ", staging.dataset);
  if (absl::Status s = devices_.WaitGone(staging.device, options_.device_timeout); !s.ok()) {
    LogWarning("remove ", staging.dataset, ": ", s.message());
  }
  return absl::OkStatus();
}

}  // namespace mvirt::zfs
