#include "migrate/rust_metadata.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mvirt::zfs {
namespace {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct FinalizeStatement {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;
using Statement = std::unique_ptr<sqlite3_stmt, FinalizeStatement>;

std::string Text(sqlite3_stmt* s, int column) {
  const unsigned char* text = sqlite3_column_text(s, column);
  return text != nullptr ? reinterpret_cast<const char*>(text) : "";
}

std::optional<std::string> NullableText(sqlite3_stmt* s, int column) {
  if (sqlite3_column_type(s, column) == SQLITE_NULL) return std::nullopt;
  return Text(s, column);
}

// Runs `sql` and calls `row` for each result row.
absl::Status ForEachRow(sqlite3* db, const std::string& path, const std::string& sql,
                        const std::function<void(sqlite3_stmt*)>& row) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    // A missing table or column: not the Rust daemon's database.
    return absl::InvalidArgumentError(absl::StrCat(path, " is not the Rust mvirt-zfs's metadata (",
                                                   sqlite3_errmsg(db), " in: ", sql, ")"));
  }
  Statement statement(raw);
  for (;;) {
    const int rc = sqlite3_step(statement.get());
    if (rc == SQLITE_DONE) return absl::OkStatus();
    if (rc != SQLITE_ROW) {
      return absl::UnavailableError(
          absl::StrCat("reading ", path, ": ", sqlite3_errmsg(db), " (", sql, ")"));
    }
    row(statement.get());
  }
}

}  // namespace

absl::StatusOr<RustMetadata> ReadRustMetadata(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("no metadata file ", path));
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ",
                                               db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  RustMetadata md;
  absl::Status s = ForEachRow(
      db.get(), path,
      "SELECT id, name, zfs_path, size_bytes, origin_template_id FROM volumes ORDER BY name, id",
      [&](sqlite3_stmt* r) {
        md.volumes.push_back({Text(r, 0), Text(r, 1), Text(r, 2),
                              static_cast<uint64_t>(sqlite3_column_int64(r, 3)),
                              NullableText(r, 4)});
      });
  if (s.ok()) {
    s = ForEachRow(db.get(), path,
                   "SELECT id, volume_id, name, zfs_name FROM snapshots ORDER BY volume_id, "
                   "created_at, id",
                   [&](sqlite3_stmt* r) {
                     md.snapshots.push_back({Text(r, 0), Text(r, 1), Text(r, 2), Text(r, 3)});
                   });
  }
  if (s.ok()) {
    s = ForEachRow(db.get(), path, "SELECT id, name, size_bytes FROM templates ORDER BY name",
                   [&](sqlite3_stmt* r) {
                     md.templates.push_back({Text(r, 0), Text(r, 1),
                                             static_cast<uint64_t>(sqlite3_column_int64(r, 2))});
                   });
  }
  if (s.ok()) {
    s = ForEachRow(db.get(), path,
                   "SELECT template_name, source FROM import_jobs WHERE upper(state) = 'COMPLETED' "
                   "ORDER BY completed_at",
                   [&](sqlite3_stmt* r) {
                     md.completed_imports.push_back({Text(r, 0), Text(r, 1)});
                   });
  }
  if (!s.ok()) return s;
  return md;
}

}  // namespace mvirt::zfs
