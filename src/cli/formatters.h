// Human-readable layouts of the daemon's messages. One function per resource
// kind; new commands (e.g. import jobs) add theirs here.
#ifndef MVIRT_ZFS_CLI_FORMATTERS_H_
#define MVIRT_ZFS_CLI_FORMATTERS_H_

#include <ostream>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "mvirt_zfs.pb.h"

namespace mvirt::zfs::cli {

// How tables are laid out. By default CREATED is an age ("5m ago", "3d
// ago", against `now`); `wide` (--output wide) shows the exact time
// (CREATED_AT, RFC 3339) and adds the columns named at each table.
struct TableStyle {
  bool wide = false;
  absl::Time now = absl::Now();
};

// "just now", "42s ago", "5m ago", "3h ago", "12d ago" from an RFC 3339
// time; the text itself if it is not one.
std::string FormatAge(const std::string& rfc3339, absl::Time now);

// "key: value" lines (id, name, path, size, used, volblocksize,
// compression_ratio, created_at), then a table of the snapshots if any
// (NAME USED CREATED ID).
void PrintVolume(const Volume& volume, std::ostream& out);

// One row per volume: NAME SIZE USED VOLBLOCKSIZE RATIO SNAPSHOTS CREATED ID
// (wide: CREATED_AT, and PATH). Prints just the header when there are no
// volumes.
void PrintVolumeTable(const ListVolumesResponse& response, std::ostream& out,
                      const TableStyle& style = {});

// "key: value" lines: name, total, used, available, provisioned,
// compression_ratio.
void PrintPoolStats(const PoolStats& stats, std::ostream& out);
// "pool 'vmpool' (ONLINE) follows the seed's standards", or that line with
// the number of differences and a SETTING/VDEV/IS/WANTED/FIX table.
void PrintPoolCheck(const PoolCheck& check, std::ostream& out);

// "key: value" lines: id, name, full_name, used, created_at.
void PrintSnapshot(const Snapshot& snapshot, std::ostream& out);

// One row per snapshot, oldest first: NAME USED CREATED ID (wide:
// CREATED_AT, and FULL_NAME). Prints just the header when there are none.
void PrintSnapshotTable(const ListSnapshotsResponse& response, std::ostream& out,
                        const TableStyle& style = {});

// The snapshots one CreateSnapshots call made: like PrintSnapshotTable, but
// NAME is the full name (pool/volume@snapshot), as all share one short name.
void PrintCreatedSnapshots(const CreateSnapshotsResponse& response, std::ostream& out);

// "key: value" lines: id, name, snapshot_path, source_volume, size,
// created_at, clone_count.
void PrintTemplate(const Template& template_, std::ostream& out);

// One row per template: NAME SIZE SOURCE CLONES CREATED ID (wide:
// CREATED_AT, and SNAPSHOT_PATH, IMPORT_SOURCE). Prints just the header when
// there are none.
void PrintTemplateTable(const ListTemplatesResponse& response, std::ostream& out,
                        const TableStyle& style = {});

// "key: value" lines: id, template, source, state, format, progress,
// downloaded (while downloading), error, created_at, completed_at, then the
// template's fields once COMPLETED.
void PrintImportJob(const ImportJob& job, std::ostream& out);

// One row per job: ID TEMPLATE STATE PROGRESS CREATED SOURCE (wide:
// CREATED_AT, and FORMAT, WRITTEN, ERROR). Prints just the header when there
// are none.
void PrintImportJobTable(const ListImportJobsResponse& response, std::ostream& out,
                         const TableStyle& style = {});

// "pending", "downloading", ... for IMPORT_JOB_STATE_PENDING, ...
std::string ImportStateWord(ImportJobState state);

// One progress line of a running import, at most `width` characters:
//   "writing      [#######.............]  35%  358 MiB/1.0 GiB  12.5 MiB/s  ETA 0:52"
// DOWNLOADING shows the download (bytes only when its length is unknown);
// CONVERTING and WRITING the disk written. `rate` (bytes/s, 0 = unknown)
// gives the speed and the ETA.
std::string FormatImportProgress(const ImportJob& job, double rate, size_t width = 80);

// One line: "<time> volume <id> <name> updated size=.. used=.. snapshots=N",
// or "<time> volume <id> deleted". Times are RFC 3339, UTC.
void PrintVolumeEvent(const VolumeEvent& event, std::ostream& out);

// One line: "<time> template <id> <name> updated" followed by
// " size=.. source=.. clones=N" if the event carries the template and
// " import=<state> written=../.. [error=..]" if it carries an import job; or
// "<time> template <id> deleted" when it carries neither.
void PrintTemplateEvent(const TemplateEvent& event, std::ostream& out);

// A print function for CallAndPrint and the Delete*Response messages:
// "deleted <what>", or "<what> was not deleted".
inline auto DeletionPrinter(std::string what) {
  return [what = std::move(what)](const auto& response, std::ostream& out) {
    if (response.deleted()) {
      out << "deleted " << what << "\n";
    } else {
      out << what << " was not deleted\n";
    }
  };
}

}  // namespace mvirt::zfs::cli

#endif  // MVIRT_ZFS_CLI_FORMATTERS_H_
