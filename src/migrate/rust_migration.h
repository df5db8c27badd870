// Moving a pool from the Rust mvirt-zfs's layout to this daemon's: the plan
// (what to rename and mark, read from the pool as it is now and the Rust
// daemon's rows) and its steps, applied one at a time.
//
// Rust layout -> this daemon's:
//   <pool>/templates/<id>@img        -> <pool>/.mvirt/templates/<name>@template
//                                       (mvirt:kind=template, mvirt:id=<id>,
//                                       mvirt:import-source if an import made it)
//   <pool>/volumes/<id>              -> <pool>/<name> (mvirt:kind=volume, mvirt:id=<id>)
//   <pool>/volumes/<id>@<zfs_name>   -> <pool>/<name>@<name> (mvirt:id=<snapshot id>)
// Only renames and user properties: nothing is destroyed or copied, clones
// follow their renamed origins. Each object is marked before it is renamed,
// so a plan made again after an interruption finds where it stopped (an
// object already in place with its id counts as done). Whatever the rows and
// the pool disagree on (a row without a dataset, a dataset without a row, a
// name taken, twice or invalid, a device in use) is reported and left alone:
// nothing is guessed.
#ifndef MVIRT_ZFS_MIGRATE_RUST_MIGRATION_H_
#define MVIRT_ZFS_MIGRATE_RUST_MIGRATION_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "migrate/rust_metadata.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {

struct MigrationStep {
  enum class Kind { kEnsureLayout, kSetProperty, kRename };
  Kind kind = Kind::kSetProperty;
  std::string dataset;  // dataset or snapshot the step changes
  std::string key;      // kSetProperty: the user property
  std::string value;    // kSetProperty: its value; kRename: the new name
  // "rename vmpool/volumes/<id> -> vmpool/web-1"
  std::string Describe() const;
};

struct MigrationPlan {
  std::vector<MigrationStep> steps;
  std::vector<std::string> findings;  // disagreements, each left alone
  size_t already_migrated = 0;        // volumes, snapshots and templates in place
};

// Who has a device open, "" if nobody (LinuxZvolDevices in the command,
// a fake in tests).
using DeviceUser = std::function<std::string(const std::string& device_path)>;

// The steps that move what `rows` describe into this daemon's layout in
// `pool`, as the pool is now. Reads only. UNAVAILABLE if the pool cannot be
// read.
absl::StatusOr<MigrationPlan> PlanRustMigration(Zfs& zfs, const std::string& pool,
                                                const RustMetadata& rows,
                                                const DeviceUser& device_user);

// Performs one step. Idempotent where ZFS allows it (a property set again).
absl::Status ApplyMigrationStep(Zfs& zfs, const std::string& pool, const MigrationStep& step);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_MIGRATE_RUST_MIGRATION_H_
