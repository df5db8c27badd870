// Test fixture: a SQLite file laid out as the Rust mvirt-zfs's metadata
// after all of its migrations (tables volumes, snapshots, templates,
// import_jobs, as ../shared/docs/upstream-layout.md describes them), with
// rows added the way that daemon writes them. Used by the unit tests and
// the real-ZFS migration test.
#ifndef MVIRT_ZFS_TESTS_UNIT_RUST_DATABASE_H_
#define MVIRT_ZFS_TESTS_UNIT_RUST_DATABASE_H_

#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace mvirt::zfs::testing {

class RustDatabase {
 public:
  // Creates `path` (replacing any file there) with the Rust daemon's schema.
  explicit RustDatabase(std::string path) : path_(std::move(path)) {
    ::unlink(path_.c_str());
    if (sqlite3_open(path_.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("sqlite3_open");
    Exec(
        "CREATE TABLE volumes (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, zfs_path TEXT "
        "NOT NULL, device_path TEXT NOT NULL, size_bytes INTEGER NOT NULL, origin_template_id "
        "TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
        "CREATE TABLE snapshots (id TEXT PRIMARY KEY NOT NULL, volume_id TEXT NOT NULL "
        "REFERENCES volumes(id) ON DELETE CASCADE, name TEXT NOT NULL, zfs_name TEXT NOT NULL, "
        "created_at TEXT NOT NULL, UNIQUE(volume_id, name));"
        "CREATE TABLE templates (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL UNIQUE, "
        "base_zvol_path TEXT, snapshot_path TEXT, size_bytes INTEGER NOT NULL, created_at TEXT "
        "NOT NULL);"
        "CREATE TABLE import_jobs (id TEXT PRIMARY KEY NOT NULL, template_name TEXT NOT NULL, "
        "source TEXT NOT NULL, format TEXT, state TEXT NOT NULL, bytes_written INTEGER NOT NULL "
        "DEFAULT 0, total_bytes INTEGER, error TEXT, created_at TEXT NOT NULL, completed_at "
        "TEXT);");
  }
  ~RustDatabase() { sqlite3_close(db_); }
  RustDatabase(const RustDatabase&) = delete;
  RustDatabase& operator=(const RustDatabase&) = delete;

  const std::string& path() const { return path_; }

  void Volume(const std::string& pool, const std::string& id, const std::string& name,
              uint64_t size, const std::string& origin_template_id = "") {
    const std::string zfs_path = absl::StrCat(pool, "/volumes/", id);
    Exec(absl::StrCat("INSERT INTO volumes VALUES (", Q(id), ",", Q(name), ",", Q(zfs_path), ",",
                      Q("/dev/zvol/" + zfs_path), ",", size, ",",
                      origin_template_id.empty() ? "NULL" : Q(origin_template_id), ",", Q(kWhen),
                      ",", Q(kWhen), ");"));
  }
  void Snapshot(const std::string& id, const std::string& volume_id, const std::string& name,
                const std::string& zfs_name) {
    Exec(absl::StrCat("INSERT INTO snapshots VALUES (", Q(id), ",", Q(volume_id), ",", Q(name), ",",
                      Q(zfs_name), ",", Q(kWhen), ");"));
  }
  void Template(const std::string& pool, const std::string& id, const std::string& name,
                uint64_t size) {
    const std::string base = absl::StrCat(pool, "/templates/", id);
    Exec(absl::StrCat("INSERT INTO templates VALUES (", Q(id), ",", Q(name), ",", Q(base), ",",
                      Q(base + "@img"), ",", size, ",", Q(kWhen), ");"));
  }
  void Import(const std::string& id, const std::string& template_name, const std::string& source,
              const std::string& state) {
    Exec(absl::StrCat("INSERT INTO import_jobs VALUES (", Q(id), ",", Q(template_name), ",",
                      Q(source), ",'qcow2',", Q(state), ",0,NULL,NULL,", Q(kWhen), ",", Q(kWhen),
                      ");"));
  }
  void Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error != nullptr ? error : "?";
      sqlite3_free(error);
      throw std::runtime_error(message + " in " + sql);
    }
  }

 private:
  static constexpr char kWhen[] = "2026-05-01T12:00:00Z";
  static std::string Q(const std::string& s) {
    return "'" + absl::StrReplaceAll(s, {{"'", "''"}}) + "'";
  }
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_UNIT_RUST_DATABASE_H_
