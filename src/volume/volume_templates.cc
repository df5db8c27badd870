// VolumeManager: templates (golden images that volumes are cloned from).
//
// Template T is a zvol with snapshot @template (names in dataset_names.h);
// clones are made from that snapshot. A template is built in the incoming
// area and renamed into place only when complete, so a half-built one is
// never listed. A deleted template whose data clones still use moves to the
// deleted area with its snapshot marked for deferred destruction; it is
// destroyed once no clone is left (CollectGarbage).
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crash_point.h"
#include "common/log.h"
#include "common/names.h"
#include "common/status_util.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {

std::string VolumeManager::TemplateLockKey(const std::string& name) { return "template/" + name; }

absl::Status EnsureReservedAreas(Zfs& zfs, const DatasetNames& names) {
  if (absl::Status s = zfs.EnsureHiddenFilesystem(names.ReservedRoot(), /*zvol_devices=*/false);
      !s.ok()) {
    return s;
  }
  for (ReservedArea area :
       {ReservedArea::kTemplates, ReservedArea::kIncoming, ReservedArea::kDeleted,
        ReservedArea::kImports, ReservedArea::kCreating, ReservedArea::kReceiving}) {
    if (absl::Status s =
            zfs.EnsureHiddenFilesystem(names.Area(area), DatasetNames::AreaHasZvolDevices(area));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status VolumeManager::EnsureReservedDatasets() { return EnsureReservedAreas(zfs_, names_); }

absl::StatusOr<TemplateInfo> VolumeManager::ToTemplateInfo(const VolumeProps& props) {
  const std::string snapshot = DatasetNames::TemplateSnapshotOf(props.name);
  absl::StatusOr<SnapshotProps> snap = zfs_.GetSnapshot(snapshot);
  if (!snap.ok()) return snap.status();
  TemplateInfo t;
  t.id = props.user_props.at(kIdProperty);
  t.name = props.name.substr(props.name.rfind('/') + 1);
  t.snapshot_path = snapshot;
  auto source = props.user_props.find(kSourceVolumeProperty);
  if (source != props.user_props.end()) t.source_volume = source->second;
  auto image = props.user_props.find(kImportSourceProperty);
  if (image != props.user_props.end()) t.import_source = image->second;
  t.size_bytes = props.volsize;
  t.created_at = props.creation;
  t.clone_count = static_cast<uint32_t>(snap->clones.size());
  return t;
}

absl::StatusOr<std::vector<TemplateInfo>> VolumeManager::ListTemplates() {
  const std::string dir = names_.Area(ReservedArea::kTemplates);
  if (!zfs_.Exists(dir)) {
    if (absl::Status s = UnlessPoolGone(absl::NotFoundError(dir)); !absl::IsNotFound(s)) return s;
    return std::vector<TemplateInfo>{};
  }
  absl::StatusOr<std::vector<VolumeProps>> all = zfs_.ListVolumes(dir);
  if (!all.ok()) return UnlessPoolGone(all.status());
  std::vector<TemplateInfo> out;
  for (const VolumeProps& props : *all) {
    if (!IsManaged(props.user_props)) continue;
    absl::StatusOr<TemplateInfo> info = ToTemplateInfo(props);
    if (absl::IsNotFound(info.status())) continue;  // deleted meanwhile
    if (!info.ok()) return info.status();
    out.push_back(std::move(*info));
  }
  return out;
}

absl::StatusOr<VolumeProps> VolumeManager::GetManagedTemplate(const std::string& name) {
  absl::StatusOr<VolumeProps> props = zfs_.GetVolume(names_.Template(name));
  if (props.ok() && IsManaged(props->user_props)) return props;
  if (props.ok() || absl::IsNotFound(props.status())) {
    return absl::NotFoundError(
        absl::StrCat("no template '", name, "' in pool '", options_.pool, "'"));
  }
  return props.status();
}

absl::StatusOr<TemplateInfo> VolumeManager::GetTemplate(const std::string& name) {
  if (absl::Status s = ValidateName("template name", name); !s.ok()) return s;
  absl::StatusOr<VolumeProps> props = GetManagedTemplate(name);
  if (!props.ok()) return props.status();
  return ToTemplateInfo(*props);
}

absl::StatusOr<TemplateInfo> VolumeManager::PromoteToTemplate(const std::string& volume,
                                                              const std::string& snapshot,
                                                              const std::string& template_name) {
  if (absl::Status s = ValidateName("volume name", volume); !s.ok()) return s;
  if (absl::Status s = ValidateName("snapshot name", snapshot); !s.ok()) return s;
  if (absl::Status s = ValidateName("template name", template_name); !s.ok()) return s;
  const std::string op =
      absl::StrCat("promote '", volume, "@", snapshot, "' to template '", template_name, "'");
  absl::StatusOr<KeyedMutex::Lock> template_lock =
      name_locks_.Acquire(TemplateLockKey(template_name));
  if (!template_lock.ok()) return Annotate(template_lock.status(), op);
  absl::StatusOr<KeyedMutex::Lock> volume_lock = LockVolume(volume);
  if (!volume_lock.ok()) return Annotate(volume_lock.status(), op);
  absl::StatusOr<VolumeProps> source = GetManaged("promote", volume);
  if (!source.ok()) return source.status();
  absl::StatusOr<SnapshotProps> snap = GetSnapshotOf("promote", *source, snapshot);
  if (!snap.ok()) return snap.status();
  const std::string target = names_.Template(template_name);
  if (absl::Status s = CheckTemplateNameFree(op, template_name); !s.ok()) return s;
  // The template is a full copy of the snapshot's data.
  absl::StatusOr<SpaceGuard::Ticket> space = AdmitSpace(op, {snap->volsize, snap->referenced});
  if (!space.ok()) return space.status();
  if (absl::Status s = EnsureReservedDatasets(); !s.ok()) return Annotate(s, op);

  // Build under incoming/, complete it, then rename it into place.
  const std::string id = NewUuid();
  const std::string incoming = names_.IncomingTemplate(template_name, id);
  auto fail = [&](const absl::Status& failure) {
    if (zfs_.Exists(incoming)) {
      if (absl::Status d = zfs_.DestroyWithSnapshots(incoming); !d.ok()) {
        LogError(op, ": could not remove the partial template: ", d.message());
      }
    }
    return Annotate(failure, op);
  };
  if (absl::Status s = zfs_.CopySnapshot(snap->name, DatasetNames::TemplateSnapshotOf(incoming));
      !s.ok()) {
    return fail(s);
  }
  CrashPoint("promote/copied");
  for (const auto& [key, value] : UserProps{
           {kIdProperty, id}, {kKindProperty, kKindTemplate}, {kSourceVolumeProperty, volume}}) {
    if (absl::Status s = zfs_.SetProperty(incoming, key, value); !s.ok()) return fail(s);
  }
  CrashPoint("promote/marked");
  if (absl::Status s = zfs_.Rename(incoming, target); !s.ok()) return fail(s);
  CrashPoint("promote/renamed");
  LogInfo("promoted ", snap->name, " to template ", target, " (id ", id, ")");
  absl::StatusOr<TemplateInfo> info = GetTemplate(template_name);
  if (info.ok()) PublishTemplate(*info);
  return info;
}

absl::StatusOr<VolumeInfo> VolumeManager::CloneFromTemplate(const std::string& template_name,
                                                            const CloneVolumeParams& params) {
  if (absl::Status s = ValidateName("template name", template_name); !s.ok()) return s;
  if (absl::Status s = ValidateNewVolume(params.name, params.id); !s.ok()) return s;
  const std::string op =
      absl::StrCat("clone template '", template_name, "' as '", params.name, "'");
  absl::StatusOr<KeyedMutex::Lock> template_lock =
      name_locks_.Acquire(TemplateLockKey(template_name));
  if (!template_lock.ok()) return Annotate(template_lock.status(), op);
  absl::StatusOr<KeyedMutex::Lock> volume_lock = LockVolume(params.name);
  if (!volume_lock.ok()) return Annotate(volume_lock.status(), op);
  absl::StatusOr<VolumeProps> tmpl = GetManagedTemplate(template_name);
  if (!tmpl.ok()) return Annotate(tmpl.status(), op);
  if (params.size_bytes.has_value() && *params.size_bytes < tmpl->volsize) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": size ", *params.size_bytes, " bytes is smaller than the template's ",
                     tmpl->volsize, " bytes; a clone may only be as large or larger"));
  }
  absl::StatusOr<SnapshotProps> snap =
      zfs_.GetSnapshot(DatasetNames::TemplateSnapshotOf(tmpl->name));
  if (!snap.ok()) return Annotate(snap.status(), op);
  absl::StatusOr<VolumeInfo> info = CloneFrom(op, *snap, *tmpl, params);
  // Its clone_count changed if the clone exists (also when its device was
  // not ready in time); published under the template's lock, so template
  // events follow the order of the template's changes.
  if (info.ok() || zfs_.Exists(names_.Volume(params.name))) PublishTemplateByName(template_name);
  return info;
}

absl::Status VolumeManager::DeleteTemplate(const std::string& name) {
  if (absl::Status s = ValidateName("template name", name); !s.ok()) return s;
  absl::StatusOr<KeyedMutex::Lock> lock = name_locks_.Acquire(TemplateLockKey(name));
  if (!lock.ok()) return Annotate(lock.status(), absl::StrCat("delete template '", name, "'"));
  absl::StatusOr<TemplateInfo> tmpl = GetTemplate(name);
  if (!tmpl.ok()) return Annotate(tmpl.status(), "delete template");
  const std::string dataset = names_.Template(name);
  if (tmpl->clone_count == 0) {
    // The template and its snapshot in one transaction: all or nothing.
    if (absl::Status s = zfs_.DestroyWithSnapshots(dataset); !s.ok()) {
      return Annotate(s, absl::StrCat("delete template '", name, "'"));
    }
    CrashPoint("template-delete/destroyed");
    LogInfo("deleted template ", dataset);
    PublishTemplateDeleted(tmpl->id);
    return absl::OkStatus();
  }
  // Clones still read its blocks: hide it now, destroy it with the last clone.
  const std::string parked = names_.DeletedTemplate(name, tmpl->id);
  if (absl::Status s = zfs_.Rename(dataset, parked); !s.ok()) {
    return Annotate(s, absl::StrCat("delete template '", name, "'"));
  }
  CrashPoint("template-delete/parked");
  if (absl::Status s = zfs_.DeferDestroySnapshots({DatasetNames::TemplateSnapshotOf(parked)});
      !s.ok()) {
    LogWarning("delete template '", name, "': ", s.message(), " (retried by the next clean-up)");
  }
  LogInfo("deleted template ", dataset, "; its data stays at ", parked, " until its ",
          tmpl->clone_count, " clones are gone");
  PublishTemplateDeleted(tmpl->id);
  // The last clone may have gone between the count and the rename.
  CollectGarbage(/*at_startup=*/false);
  return absl::OkStatus();
}

void VolumeManager::WithTemplateLock(const std::string& name, const std::function<void()>& fn) {
  KeyedMutex::Lock lock = name_locks_.AcquireUninterruptible(TemplateLockKey(name));
  fn();
}

void VolumeManager::PublishTemplate(const TemplateInfo& info) {
  MutexLock lock(&observer_mu_);
  if (template_observer_) template_observer_(info.id, info);
}

void VolumeManager::PublishTemplateDeleted(const std::string& id) {
  MutexLock lock(&observer_mu_);
  if (template_observer_) template_observer_(id, std::nullopt);
}

void VolumeManager::PublishTemplateByName(const std::string& name) {
  absl::StatusOr<TemplateInfo> info = GetTemplate(name);
  if (info.ok()) PublishTemplate(*info);
}

void VolumeManager::PublishTemplateOfOrigin(const std::string& origin) {
  std::optional<std::string> template_name = names_.TemplateNameOf(origin);
  if (!template_name) return;
  const std::string& name = *template_name;
  // Under the template's lock (waited for even past the call's deadline:
  // the change it reports has happened), so that a deletion of the template
  // cannot be followed by a stale state of it.
  KeyedMutex::Lock lock = name_locks_.AcquireUninterruptible(TemplateLockKey(name));
  PublishTemplateByName(name);
}

void VolumeManager::CollectGarbage(bool at_startup) {
  MutexLock lock(&garbage_mu_);
  auto sweep = [&](ReservedArea area, bool everything) {
    const std::string dir = names_.Area(area);
    if (!zfs_.Exists(dir)) return;
    absl::StatusOr<std::vector<VolumeProps>> zvols = zfs_.ListVolumes(dir);
    if (!zvols.ok()) {
      LogWarning("clean-up of ", dir, ": ", zvols.status().message());
      return;
    }
    for (const VolumeProps& v : *zvols) {
      absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(v.name);
      if (!snaps.ok()) continue;
      bool in_use = false;
      std::vector<std::string> names;
      for (const SnapshotProps& s : *snaps) {
        in_use = in_use || !s.clones.empty();
        names.push_back(s.name);
      }
      if (in_use && !everything) {
        // Make sure the snapshot goes with its last clone (idempotent).
        if (absl::Status s = zfs_.DeferDestroySnapshots(names); !s.ok()) {
          LogWarning("clean-up of ", v.name, ": ", s.message());
        }
        continue;
      }
      if (absl::Status s = zfs_.DestroyWithSnapshots(v.name); !s.ok()) {
        LogWarning("clean-up of ", v.name, ": ", s.message());
      } else {
        LogInfo("cleaned up ", v.name);
      }
    }
  };
  sweep(ReservedArea::kDeleted, false);
  if (at_startup) {
    // Half-built by a daemon that crashed or was stopped.
    if (absl::Status s = EnsureReservedDatasets(); !s.ok()) {
      LogWarning("cannot create the daemon's datasets under ", names_.ReservedRoot(), ": ",
                 s.message());
    }
    sweep(ReservedArea::kIncoming, true);
    sweep(ReservedArea::kImports, true);
    sweep(ReservedArea::kCreating, true);
    SweepFinishedReceives();
  }
}

}  // namespace mvirt::zfs
