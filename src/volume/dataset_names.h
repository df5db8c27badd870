// Where every dataset the daemon makes lives in its pool: the one place that
// builds and parses these names (nothing else concatenates "<pool>/" or "@").
//
//   <pool>/<name>                       volume <name>; <name>@<snap> its snapshots
//   <pool>/.mvirt                       the daemon's own datasets (unmounted
//                                       filesystems; no volume name starts with '.')
//   <pool>/.mvirt/templates/<T>         template T, a zvol with snapshot @template
//   <pool>/.mvirt/incoming/<T>-<id>     a template being promoted; swept at start-up
//   <pool>/.mvirt/deleted/<T>-<id>      a deleted template that clones still use;
//                                       destroyed with its last clone
//   <pool>/.mvirt/imports/<T>-<job>     an image being imported; swept at start-up
//   <pool>/.mvirt/creating/<name>-<id>  a volume or clone being made, renamed into
//                                       place once complete; swept at start-up
//   <pool>/.mvirt/receiving/<name>      a volume being received (a full stream),
//                                       renamed into place once complete; an
//                                       interrupted one stays for its resume
#ifndef MVIRT_ZFS_VOLUME_DATASET_NAMES_H_
#define MVIRT_ZFS_VOLUME_DATASET_NAMES_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace mvirt::zfs {

// The areas under <pool>/.mvirt.
enum class ReservedArea { kTemplates, kIncoming, kDeleted, kImports, kCreating, kReceiving };

class DatasetNames {
 public:
  // The name of every template's one snapshot, which clones come from.
  static constexpr char kTemplateSnapshot[] = "template";
  // The root of the daemon's own datasets, below the pool.
  static constexpr char kReservedDir[] = ".mvirt";

  explicit DatasetNames(std::string pool) : pool_(std::move(pool)) {}

  const std::string& pool() const { return pool_; }

  // <pool>/<name>
  std::string Volume(absl::string_view name) const;
  // The volume name of `dataset` (<pool>/<name>): <name>.
  std::string VolumeNameOf(absl::string_view dataset) const;
  // <dataset>@<snapshot>
  static std::string Snapshot(absl::string_view dataset, absl::string_view snapshot);
  // The parts of "<dataset>@<snapshot>": <snapshot>, and <dataset>; a name
  // without '@' is all dataset (its snapshot name is empty).
  static std::string SnapshotNameOf(absl::string_view full_name);
  static std::string DatasetOf(absl::string_view full_name);

  // <pool>/.mvirt
  std::string ReservedRoot() const;
  // <pool>/.mvirt/<area>
  std::string Area(ReservedArea area) const;
  // True if `dataset_or_snapshot` lies below <pool>/.mvirt/<area>.
  bool InArea(ReservedArea area, absl::string_view dataset_or_snapshot) const;
  // True for the areas whose zvols get devices (imports are written through
  // theirs; volumes being made keep theirs when renamed into place).
  static bool AreaHasZvolDevices(ReservedArea area);

  // <pool>/.mvirt/templates/<name>
  std::string Template(absl::string_view name) const;
  // <dataset>@template: the one snapshot of a template's dataset, in
  // whichever area it is (templates, incoming, deleted, imports).
  static std::string TemplateSnapshotOf(absl::string_view dataset);
  // The template name of `dataset_or_snapshot` if it is a template or a
  // template's snapshot; nullopt otherwise.
  std::optional<std::string> TemplateNameOf(absl::string_view dataset_or_snapshot) const;

  // <pool>/.mvirt/incoming/<name>-<id>
  std::string IncomingTemplate(absl::string_view name, absl::string_view id) const;
  // <pool>/.mvirt/deleted/<name>-<id>
  std::string DeletedTemplate(absl::string_view name, absl::string_view id) const;
  // <pool>/.mvirt/imports/<template_name>-<job_id>
  std::string ImportStaging(absl::string_view template_name, absl::string_view job_id) const;
  // <pool>/.mvirt/creating/<name>-<id>
  std::string Creating(absl::string_view name, absl::string_view id) const;
  // <pool>/.mvirt/receiving/<name>
  std::string Receiving(absl::string_view name) const;

 private:
  std::string pool_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_VOLUME_DATASET_NAMES_H_
