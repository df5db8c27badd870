// Following an import job until it ends, with a live progress line.
#ifndef MVIRT_ZFS_CLI_IMPORT_FOLLOW_H_
#define MVIRT_ZFS_CLI_IMPORT_FOLLOW_H_

#include <chrono>
#include <cstdint>

#include "cli/command.h"
#include "mvirt_zfs.pb.h"

namespace mvirt::zfs::cli {

// The speed of the current phase of an import, smoothed over samples.
class TransferRate {
 public:
  // Takes a sample: `done` bytes of the phase `state` at `now`. A new phase
  // starts the measurement afresh.
  void Add(ImportJobState state, uint64_t done, std::chrono::steady_clock::time_point now);
  // Bytes per second; 0 until two samples of one phase were seen.
  double bytes_per_second() const { return rate_; }

 private:
  ImportJobState state_ = IMPORT_JOB_STATE_UNSPECIFIED;
  uint64_t done_ = 0;
  std::chrono::steady_clock::time_point at_;
  double rate_ = 0;
};

// Polls GetImportJob through `client` every `interval` and shows the progress on stderr (one
// redrawn line on a terminal, a line per state change and every 10 s
// otherwise) until the job ends. Then prints the template (COMPLETED, exit
// 0) or one error line (FAILED, CANCELLED; exit 1).
int FollowImport(const GlobalOptions& options, ZfsClient& client, ImportJob job,
                 std::chrono::milliseconds interval = std::chrono::milliseconds(500));

}  // namespace mvirt::zfs::cli

#endif  // MVIRT_ZFS_CLI_IMPORT_FOLLOW_H_
