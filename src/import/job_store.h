// JobStore: import job records as one JSON file each in a directory
// (<state_dir>/jobs/<id>.json), so that they survive a daemon restart.
// Writes are atomic (temporary file, fsync, rename, fsync of the
// directory): a crash leaves the old record or the new one, never half.
// The ZFS datasets stay the truth about templates; a record only says what
// happened to a job. Not thread-safe: the caller serializes.
#ifndef MVIRT_ZFS_IMPORT_JOB_STORE_H_
#define MVIRT_ZFS_IMPORT_JOB_STORE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "import/import_job.h"

namespace mvirt::zfs {

// The JSON form of a record, and back. INVALID_ARGUMENT for a malformed one.
std::string ImportJobToJson(const ImportJobInfo& job);
absl::StatusOr<ImportJobInfo> ImportJobFromJson(const std::string& json);

class JobStore {
 public:
  // Records live in `directory`, created (with parents) by Open.
  explicit JobStore(std::string directory) : directory_(std::move(directory)) {}

  // Creates the directory if needed and removes leftover temporary files.
  absl::Status Open();
  // Every readable record; unreadable ones are logged and skipped.
  std::vector<ImportJobInfo> LoadAll() const;
  absl::Status Save(const ImportJobInfo& job);
  absl::Status Remove(const std::string& id);

 private:
  std::string PathOf(const std::string& id) const;
  std::string directory_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_JOB_STORE_H_
