// What a replication job is and how far it got: the state ReplicationJobs
// keeps and the watch streams carry (VolumeEvent/TemplateEvent
// replication_job). Plain data, no dependencies.
#ifndef MVIRT_ZFS_REPLICATION_REPLICATION_JOB_INFO_H_
#define MVIRT_ZFS_REPLICATION_REPLICATION_JOB_INFO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mvirt::zfs {

// ReplicationJobInfo.kind of a template's replication.
inline constexpr char kReplicateTemplateKind[] = "replicate-template";

enum class ReplicationState { kRunning, kCompleted, kFailed, kCancelled };

struct ReplicationJobInfo {
  std::string id;
  std::string kind;         // "replicate", "migrate" or "replicate-template"
  std::string volume_name;  // the template's name for "replicate-template"
  std::string target;
  ReplicationState state = ReplicationState::kRunning;
  uint64_t bytes_sent = 0;
  uint64_t total_bytes = 0;
  std::optional<std::string> error;
  std::vector<std::string> snapshots_sent;
  int64_t created_at = 0;  // Unix seconds
  std::optional<int64_t> completed_at;
  std::string step;
  bool ready = false;  // a migration's final step completed
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_REPLICATION_REPLICATION_JOB_INFO_H_
