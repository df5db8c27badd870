// The Rust mvirt-zfs's SQLite metadata (see docs: its tables volumes,
// snapshots, templates, import_jobs), read-only: a thin adapter over
// libsqlite3 that returns plain rows and nothing else.
#ifndef MVIRT_ZFS_MIGRATE_RUST_METADATA_H_
#define MVIRT_ZFS_MIGRATE_RUST_METADATA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mvirt::zfs {

struct RustVolumeRow {
  std::string id;    // a UUID; its dataset is <pool>/volumes/<id>
  std::string name;  // user-visible, not unique in the schema
  std::string zfs_path;
  uint64_t size_bytes = 0;
  std::optional<std::string> origin_template_id;
};

struct RustSnapshotRow {
  std::string id;
  std::string volume_id;
  std::string name;      // user-visible
  std::string zfs_name;  // the part after '@' (a UUID)
};

struct RustTemplateRow {
  std::string id;    // its dataset is <pool>/templates/<id>, snapshot @img
  std::string name;  // unique
  uint64_t size_bytes = 0;
};

// The newest COMPLETED import of a template name: where its image came from.
struct RustImportRow {
  std::string template_name;
  std::string source;
};

struct RustMetadata {
  std::vector<RustVolumeRow> volumes;
  std::vector<RustSnapshotRow> snapshots;
  std::vector<RustTemplateRow> templates;
  std::vector<RustImportRow> completed_imports;
};

// Reads every row of the file at `path`, opened read-only (the Rust
// daemon's file is never written). NOT_FOUND if there is no such file,
// INVALID_ARGUMENT if it is not that daemon's database (a table or column
// missing), UNAVAILABLE for any other SQLite failure; the message says which.
absl::StatusOr<RustMetadata> ReadRustMetadata(const std::string& path);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_MIGRATE_RUST_METADATA_H_
