#include "migrate/rust_migration.h"

#include <map>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "device/zvol_device.h"
#include "volume/dataset_names.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {
namespace {

constexpr char kRustImageSnapshot[] = "img";

// One object's plan: its steps, or why it is left alone.
class Planner {
 public:
  Planner(Zfs& zfs, const std::string& pool, const RustMetadata& rows,
          const DeviceUser& device_user)
      : zfs_(zfs), pool_(pool), names_(pool), rows_(rows), device_user_(device_user) {}

  absl::StatusOr<MigrationPlan> Plan() {
    if (!zfs_.Exists(pool_)) {
      return absl::UnavailableError(absl::StrCat("pool '", pool_, "' is not imported"));
    }
    PlanTemplates();
    PlanVolumes();
    ReportOrphans(pool_ + "/templates", known_templates_, "template");
    ReportOrphans(pool_ + "/volumes", known_volumes_, "volume");
    return std::move(plan_);
  }

 private:
  void Find(std::string text) { plan_.findings.push_back(std::move(text)); }
  void Set(const std::string& dataset, const std::string& key, const std::string& value) {
    plan_.steps.push_back({MigrationStep::Kind::kSetProperty, dataset, key, value});
  }
  void Rename(const std::string& from, const std::string& to) {
    plan_.steps.push_back({MigrationStep::Kind::kRename, from, "", to});
  }
  // Sets `props` on `dataset` where it does not carry them already.
  void Mark(const std::string& dataset, const UserProps& have, const UserProps& want) {
    for (const auto& [key, value] : want) {
      auto it = have.find(key);
      if (it == have.end() || it->second != value) Set(dataset, key, value);
    }
  }
  // An id the pool already gives another object: never taken twice.
  std::optional<std::string> Owner(const std::string& id) {
    if (!ids_.has_value()) {
      ids_.emplace();
      for (const std::string& parent : {pool_, names_.Area(ReservedArea::kTemplates),
                                        pool_ + "/volumes", pool_ + "/templates"}) {
        if (!zfs_.Exists(parent)) continue;
        absl::StatusOr<std::vector<VolumeDigest>> all = zfs_.ScanVolumes(parent, kIdProperty);
        if (!all.ok()) continue;
        for (const VolumeDigest& v : *all) {
          if (!v.id.empty()) (*ids_)[v.id] = v.name;
        }
      }
    }
    auto it = ids_->find(id);
    if (it == ids_->end()) return std::nullopt;
    return it->second;
  }

  void PlanTemplates() {
    for (const RustTemplateRow& t : rows_.templates) {
      known_templates_.insert(t.id);
      const std::string what = absl::StrCat("template row ", t.id, " ('", Printable(t.name), "')");
      if (!ValidateName("template name", t.name).ok()) {
        Find(absl::StrCat(what, ": its name is not a valid template name here; left as it is"));
        continue;
      }
      const std::string src = absl::StrCat(pool_, "/templates/", t.id);
      const std::string dst = names_.Template(t.name);
      absl::StatusOr<VolumeProps> placed = zfs_.GetVolume(dst);
      if (placed.ok()) {
        auto id = placed->user_props.find(kIdProperty);
        if (id != placed->user_props.end() && id->second == t.id &&
            zfs_.Exists(DatasetNames::TemplateSnapshotOf(dst))) {
          ++plan_.already_migrated;
        } else {
          Find(absl::StrCat(what, ": ", dst, " exists and is another template; left as it is"));
        }
        continue;
      }
      if (zfs_.Exists(dst)) {
        Find(absl::StrCat(what, ": ", dst, " exists and is not a zvol; left as it is"));
        continue;
      }
      absl::StatusOr<VolumeProps> props = zfs_.GetVolume(src);
      if (!props.ok()) {
        Find(absl::StrCat(what, ": no zvol ", src, " (", props.status().message(), ")"));
        continue;
      }
      const std::string img = absl::StrCat(src, "@", kRustImageSnapshot);
      const std::string tmpl = DatasetNames::TemplateSnapshotOf(src);
      const bool has_img = zfs_.Exists(img), has_template = zfs_.Exists(tmpl);
      if (!has_img && !has_template) {
        Find(absl::StrCat(what, ": ", src, " has no @", kRustImageSnapshot,
                          " snapshot; left as it is"));
        continue;
      }
      if (std::optional<std::string> owner = Owner(t.id); owner && *owner != src) {
        Find(absl::StrCat(what, ": id ", t.id, " is carried by ", *owner, "; left as it is"));
        continue;
      }
      UserProps want = {{kKindProperty, kKindTemplate}, {kIdProperty, t.id}};
      for (const RustImportRow& job : rows_.completed_imports) {
        if (job.template_name == t.name) want[kImportSourceProperty] = job.source;  // the newest
      }
      if (!layout_planned_ && !zfs_.Exists(names_.Area(ReservedArea::kTemplates))) {
        plan_.steps.push_back({MigrationStep::Kind::kEnsureLayout, names_.ReservedRoot(), "", ""});
      }
      layout_planned_ = true;
      Mark(src, props->user_props, want);
      if (has_img && !has_template) Rename(img, tmpl);
      Rename(src, dst);
    }
  }

  void PlanVolumes() {
    std::map<std::string, int> uses;
    for (const RustVolumeRow& v : rows_.volumes) ++uses[v.name];
    std::map<std::string, std::vector<const RustSnapshotRow*>> snapshots_of;
    for (const RustSnapshotRow& s : rows_.snapshots) snapshots_of[s.volume_id].push_back(&s);
    for (const RustVolumeRow& v : rows_.volumes) {
      known_volumes_.insert(v.id);
      const std::string what = absl::StrCat("volume row ", v.id, " ('", Printable(v.name), "')");
      if (uses[v.name] > 1) {
        Find(absl::StrCat(what, ": ", uses[v.name], " volume rows have this name; which one keeps ",
                          "it is not guessed: left as it is"));
        continue;
      }
      if (!ValidateName("volume name", v.name).ok()) {
        Find(absl::StrCat(what, ": its name is not a valid volume name here; left as it is"));
        continue;
      }
      const std::string src = absl::StrCat(pool_, "/volumes/", v.id);
      const std::string dst = names_.Volume(v.name);
      std::string at;  // where the volume is now
      absl::StatusOr<VolumeProps> placed = zfs_.GetVolume(dst);
      if (placed.ok()) {
        auto id = placed->user_props.find(kIdProperty);
        if (id == placed->user_props.end() || id->second != v.id) {
          Find(absl::StrCat(what, ": ", dst, " exists and is another volume; left as it is"));
          continue;
        }
        at = dst;
        ++plan_.already_migrated;
      } else if (zfs_.Exists(dst)) {
        Find(absl::StrCat(what, ": ", dst, " exists and is not a zvol; left as it is"));
        continue;
      }
      std::optional<VolumeProps> props;
      if (at.empty()) {
        absl::StatusOr<VolumeProps> source = zfs_.GetVolume(src);
        if (!source.ok()) {
          Find(absl::StrCat(what, ": no zvol ", src, " (", source.status().message(), ")"));
          continue;
        }
        if (std::optional<std::string> owner = Owner(v.id); owner && *owner != src) {
          Find(absl::StrCat(what, ": id ", v.id, " is carried by ", *owner, "; left as it is"));
          continue;
        }
        if (std::string user = device_user_(ZvolDevicePath(src)); !user.empty()) {
          Find(absl::StrCat(what, ": its device ", ZvolDevicePath(src), " is in use by ", user,
                            "; stop it first (its configuration names that path, which becomes ",
                            ZvolDevicePath(dst), ")"));
          continue;
        }
        props = *source;
        at = src;
      }
      if (v.origin_template_id.has_value()) {
        const VolumeProps& p = props.has_value() ? *props : *placed;
        if (p.origin.empty()) {
          Find(absl::StrCat(what, ": its row names template ", *v.origin_template_id,
                            " as its origin, ZFS none (", at,
                            " is not a clone); migrated as ZFS "
                            "has it"));
        }
      }
      PlanSnapshots(v, at, snapshots_of[v.id]);
      if (props.has_value()) {
        Mark(src, props->user_props, {{kKindProperty, kKindVolume}, {kIdProperty, v.id}});
        Rename(src, dst);
      }
    }
  }

  // The snapshots of volume row `v`, which is at `at` now.
  void PlanSnapshots(const RustVolumeRow& v, const std::string& at,
                     const std::vector<const RustSnapshotRow*>& rows) {
    absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(at);
    if (!snaps.ok()) {
      Find(absl::StrCat("volume ", at, ": its snapshots cannot be read (", snaps.status().message(),
                        "); they are left as they are"));
      return;
    }
    std::map<std::string, const SnapshotProps*> by_name;
    for (const SnapshotProps& s : *snaps) by_name[DatasetNames::SnapshotNameOf(s.name)] = &s;
    std::set<std::string> accounted;
    for (const RustSnapshotRow* s : rows) {
      const std::string what = absl::StrCat("snapshot row ", s->id, " ('", Printable(v.name), "@",
                                            Printable(s->name), "')");
      if (!ValidateName("snapshot name", s->name).ok()) {
        accounted.insert(s->zfs_name);
        Find(absl::StrCat(what, ": its name is not a valid snapshot name here; left as ",
                          s->zfs_name));
        continue;
      }
      auto placed = by_name.find(s->name);
      if (placed != by_name.end()) {
        accounted.insert(s->name);
        auto id = placed->second->user_props.find(kIdProperty);
        if (id != placed->second->user_props.end() && id->second == s->id) {
          ++plan_.already_migrated;
        } else {
          Find(absl::StrCat(what, ": ", at, "@", s->name, " exists and is another snapshot; ", at,
                            "@", s->zfs_name, " is left as it is"));
          accounted.insert(s->zfs_name);
        }
        continue;
      }
      auto source = by_name.find(s->zfs_name);
      if (source == by_name.end()) {
        Find(absl::StrCat(what, ": no snapshot ", at, "@", s->zfs_name));
        continue;
      }
      accounted.insert(s->zfs_name);
      Mark(source->second->name, source->second->user_props, {{kIdProperty, s->id}});
      Rename(source->second->name, absl::StrCat(at, "@", s->name));
    }
    for (const auto& [name, props] : by_name) {
      if (accounted.count(name) == 0) {
        Find(absl::StrCat("snapshot ", props->name, " has no row: it keeps its name (its id is ",
                          "its guid)"));
      }
    }
  }

  // Zvols under `dir` whose id no row names.
  void ReportOrphans(const std::string& dir, const std::set<std::string>& known,
                     absl::string_view kind) {
    if (!zfs_.Exists(dir)) return;
    absl::StatusOr<std::vector<VolumeProps>> zvols = zfs_.ListVolumes(dir);
    if (!zvols.ok()) return;
    for (const VolumeProps& z : *zvols) {
      if (known.count(z.name.substr(dir.size() + 1)) > 0) continue;
      Find(absl::StrCat(z.name, " has no ", kind, " row: left where it is",
                        kind == "volume" ? " (AdoptVolume takes it under management)" : ""));
    }
  }

  Zfs& zfs_;
  const std::string pool_;
  const DatasetNames names_;
  const RustMetadata& rows_;
  const DeviceUser& device_user_;
  MigrationPlan plan_;
  bool layout_planned_ = false;
  std::set<std::string> known_templates_, known_volumes_;
  std::optional<std::map<std::string, std::string>> ids_;  // id -> dataset
};

}  // namespace

std::string MigrationStep::Describe() const {
  switch (kind) {
    case Kind::kEnsureLayout:
      return absl::StrCat("create ", dataset, " and its areas (templates, ...) if missing");
    case Kind::kSetProperty:
      return absl::StrCat("set ", key, "=", value, " on ", dataset);
    case Kind::kRename:
      return absl::StrCat("rename ", dataset, " -> ", value);
  }
  return "?";
}

absl::StatusOr<MigrationPlan> PlanRustMigration(Zfs& zfs, const std::string& pool,
                                                const RustMetadata& rows,
                                                const DeviceUser& device_user) {
  return Planner(zfs, pool, rows, device_user).Plan();
}

absl::Status ApplyMigrationStep(Zfs& zfs, const std::string& pool, const MigrationStep& step) {
  switch (step.kind) {
    case MigrationStep::Kind::kEnsureLayout:
      return EnsureReservedAreas(zfs, DatasetNames(pool));
    case MigrationStep::Kind::kSetProperty:
      return zfs.SetProperty(step.dataset, step.key, step.value);
    case MigrationStep::Kind::kRename:
      return zfs.Rename(step.dataset, step.value);
  }
  return absl::InternalError("unknown migration step");
}

}  // namespace mvirt::zfs
