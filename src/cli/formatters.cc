#include "cli/formatters.h"

#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cli/output.h"
#include "common/sizes.h"
#include "common/time_format.h"

namespace mvirt::zfs::cli {
namespace {

// A CREATED cell: the age, or the exact time in a wide table.
std::string Created(const std::string& rfc3339, const TableStyle& style) {
  return style.wide ? rfc3339 : FormatAge(rfc3339, style.now);
}

// The name a snapshot table shows: a snapshot's `name` or `full_name`.
using SnapshotName = const std::string& (Snapshot::*)() const;

// NAME USED CREATED ID (wide: CREATED_AT, FULL_NAME), one row per snapshot,
// each line prefixed by `indent`.
void PrintSnapshotRows(const google::protobuf::RepeatedPtrField<Snapshot>& snapshots,
                       SnapshotName name, std::ostream& out, const TableStyle& style,
                       std::string_view indent = "") {
  std::vector<Table::Column> columns = {
      {"NAME"}, {"USED", Table::Align::kRight}, {style.wide ? "CREATED_AT" : "CREATED"}, {"ID"}};
  if (style.wide) columns.push_back({"FULL_NAME"});
  Table table(columns);
  for (const Snapshot& snapshot : snapshots) {
    std::vector<std::string> row = {(snapshot.*name)(), FormatSize(snapshot.used_bytes()),
                                    Created(snapshot.created_at(), style), snapshot.id()};
    if (style.wide) row.push_back(snapshot.full_name());
    table.AddRow(std::move(row));
  }
  table.Print(out, indent);
}

// "-" for an empty value (e.g. the source volume of an imported template).
std::string OrDash(const std::string& value) { return value.empty() ? "-" : value; }

// The bytes a progress display counts in the job's current phase.
struct PhaseProgress {
  uint64_t done = 0;
  uint64_t total = 0;  // 0: unknown
};
PhaseProgress ProgressOf(const ImportJob& job) {
  if (job.state() == IMPORT_JOB_STATE_DOWNLOADING) {
    return {job.downloaded_bytes(), job.download_total_bytes()};
  }
  return {job.bytes_written(), job.total_bytes()};
}

// "0:52", "1:02:03".
std::string FormatDuration(uint64_t seconds) {
  if (seconds >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60);
  }
  return absl::StrFormat("%d:%02d", seconds / 60, seconds % 60);
}

// "35%" or "-" when the total is unknown.
std::string Percent(const PhaseProgress& p) {
  if (p.total == 0) return "-";
  return absl::StrCat(p.done * 100 / p.total, "%");
}

}  // namespace

std::string FormatAge(const std::string& rfc3339, absl::Time now) {
  absl::Time then;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, rfc3339, &then, &error)) return rfc3339;
  const int64_t seconds = absl::ToInt64Seconds(now - then);
  if (seconds < 1) return "just now";
  if (seconds < 60) return absl::StrCat(seconds, "s ago");
  if (seconds < 3600) return absl::StrCat(seconds / 60, "m ago");
  if (seconds < 86400) return absl::StrCat(seconds / 3600, "h ago");
  return absl::StrCat(seconds / 86400, "d ago");
}

std::string ImportStateWord(ImportJobState state) {
  return absl::AsciiStrToLower(absl::StripPrefix(ImportJobState_Name(state), "IMPORT_JOB_STATE_"));
}

void PrintImportJob(const ImportJob& job, std::ostream& out) {
  KeyValueList fields;
  fields.Add("id", job.id());
  fields.Add("template", job.template_name());
  fields.Add("source", job.source());
  fields.Add("state", ImportStateWord(job.state()));
  fields.Add("format", OrDash(job.format()));
  fields.Add("written", absl::StrCat(FormatSize(job.bytes_written()), " of ",
                                     job.total_bytes() > 0 ? FormatSize(job.total_bytes()) : "?"));
  if (job.downloaded_bytes() > 0) {
    fields.Add("downloaded",
               absl::StrCat(
                   FormatSize(job.downloaded_bytes()), " of ",
                   job.download_total_bytes() > 0 ? FormatSize(job.download_total_bytes()) : "?"));
  }
  if (job.has_size_bytes()) fields.Add("size", FormatSizeWithBytes(job.size_bytes()));
  if (!job.sha256().empty()) fields.Add("sha256", job.sha256());
  if (job.has_error()) fields.Add("error", job.error());
  fields.Add("created_at", job.created_at());
  if (job.has_completed_at()) fields.Add("completed_at", job.completed_at());
  fields.Print(out);
  if (job.has_template_()) {
    out << "template:\n";
    std::ostringstream block;
    PrintTemplate(job.template_(), block);
    std::istringstream lines(block.str());
    for (std::string line; std::getline(lines, line);) out << "  " << line << "\n";
  }
}

void PrintImportJobTable(const ListImportJobsResponse& response, std::ostream& out,
                         const TableStyle& style) {
  std::vector<Table::Column> columns = {{"ID"},
                                        {"TEMPLATE"},
                                        {"STATE"},
                                        {"PROGRESS", Table::Align::kRight},
                                        {style.wide ? "CREATED_AT" : "CREATED"},
                                        {"SOURCE"}};
  if (style.wide) {
    columns.push_back({"FORMAT"});
    columns.push_back({"WRITTEN", Table::Align::kRight});
    columns.push_back({"ERROR"});
  }
  Table table(columns);
  for (const ImportJob& job : response.jobs()) {
    std::vector<std::string> row = {job.id(),
                                    job.template_name(),
                                    ImportStateWord(job.state()),
                                    Percent(ProgressOf(job)),
                                    Created(job.created_at(), style),
                                    job.source()};
    if (style.wide) {
      row.push_back(OrDash(job.format()));
      row.push_back(FormatSize(job.bytes_written()));
      row.push_back(job.has_error() ? job.error() : "-");
    }
    table.AddRow(std::move(row));
  }
  table.Print(out);
}

std::string FormatImportProgress(const ImportJob& job, double rate, size_t width) {
  const PhaseProgress p = ProgressOf(job);
  std::string line = absl::StrFormat("%-12s", ImportStateWord(job.state()));
  if (job.state() == IMPORT_JOB_STATE_PENDING) {
    line += "waiting for a free import slot";
  } else if (p.total > 0) {
    constexpr size_t kBar = 20;
    size_t filled = static_cast<size_t>(p.done * kBar / p.total);
    absl::StrAppend(&line, "[", std::string(filled, '#'), std::string(kBar - filled, '.'), "] ",
                    absl::StrFormat("%4s", Percent(p)), "  ", FormatSize(p.done), "/",
                    FormatSize(p.total));
  } else {
    absl::StrAppend(&line, FormatSize(p.done));
  }
  if (p.total > 0 && p.done == p.total && job.state() != IMPORT_JOB_STATE_DOWNLOADING) {
    line += "  finishing";  // flush, snapshot, rename into place
  } else if (rate > 0 && job.state() != IMPORT_JOB_STATE_PENDING) {
    absl::StrAppend(&line, "  ", FormatSize(static_cast<uint64_t>(rate)), "/s");
    if (p.total > p.done) {
      absl::StrAppend(&line, "  ETA ",
                      FormatDuration(static_cast<uint64_t>((p.total - p.done) / rate)));
    }
  }
  if (line.size() > width) line.resize(width);
  return line;
}

void PrintVolume(const Volume& volume, std::ostream& out) {
  KeyValueList fields;
  fields.Add("id", volume.id());
  fields.Add("name", volume.name());
  fields.Add("path", volume.path());
  fields.Add("size", FormatSizeWithBytes(volume.volsize_bytes()));
  fields.Add("used", FormatSize(volume.used_bytes()));
  fields.Add("referenced", FormatSize(volume.referenced_bytes()));
  fields.Add("written", absl::StrCat(FormatSize(volume.written_bytes()),
                                     volume.snapshots().empty() ? "" : " since the last snapshot"));
  fields.Add("used_by_snapshots", FormatSize(volume.used_by_snapshots_bytes()));
  fields.Add("logical_used", FormatSize(volume.logical_used_bytes()));
  fields.Add("volblocksize", FormatSize(volume.volblocksize()));
  fields.Add("compression_ratio", FormatRatio(volume.compression_ratio()));
  fields.Add("created_at", volume.created_at());
  fields.Add("provisioning",
             volume.thick()
                 ? absl::StrCat("thick (", FormatSize(volume.refreservation_bytes()), " reserved)")
                 : "thin");
  if (volume.encrypted()) {
    fields.Add("encryption", volume.key_loaded() ? "on, key loaded"
                                                 : "on, key not loaded (no device: zfs load-key)");
  }
  fields.Print(out);
  if (volume.snapshots().empty()) return;

  out << "snapshots:\n";
  PrintSnapshotRows(volume.snapshots(), &Snapshot::name, out, TableStyle{}, "  ");
}

void PrintVolumeTable(const ListVolumesResponse& response, std::ostream& out,
                      const TableStyle& style) {
  std::vector<Table::Column> columns = {{"NAME"},
                                        {"SIZE", Table::Align::kRight},
                                        {"USED", Table::Align::kRight},
                                        {"VOLBLOCKSIZE", Table::Align::kRight},
                                        {"RATIO", Table::Align::kRight},
                                        {"SNAPSHOTS", Table::Align::kRight},
                                        {style.wide ? "CREATED_AT" : "CREATED"},
                                        {"ID"}};
  if (style.wide) columns.push_back({"PATH"});
  Table table(columns);
  for (const Volume& volume : response.volumes()) {
    std::vector<std::string> row = {volume.name(),
                                    FormatSize(volume.volsize_bytes()),
                                    FormatSize(volume.used_bytes()),
                                    FormatSize(volume.volblocksize()),
                                    FormatRatio(volume.compression_ratio()),
                                    std::to_string(volume.snapshots_size()),
                                    Created(volume.created_at(), style),
                                    volume.id()};
    if (style.wide) row.push_back(volume.path());
    table.AddRow(std::move(row));
  }
  table.Print(out);
}

void PrintPoolStats(const PoolStats& stats, std::ostream& out) {
  KeyValueList fields;
  fields.Add("name", stats.name());
  fields.Add("total", FormatSizeWithBytes(stats.total_bytes()));
  fields.Add("used", FormatSizeWithBytes(stats.used_bytes()));
  fields.Add("available", FormatSizeWithBytes(stats.available_bytes()));
  fields.Add("provisioned", FormatSizeWithBytes(stats.provisioned_bytes()));
  fields.Add("compression_ratio", FormatRatio(stats.compression_ratio()));
  fields.Add("volumes", std::to_string(stats.volume_count()));
  fields.Add("overcommit", absl::StrFormat("%.2fx (limit: %s)", stats.overcommit_ratio(),
                                           stats.max_overcommit() > 0
                                               ? absl::StrFormat("%.2fx", stats.max_overcommit())
                                               : std::string("none")));
  fields.Add("reserve", stats.reserve_bytes() > 0
                            ? absl::StrCat(FormatSize(stats.reserve_bytes()), " kept free")
                            : std::string("none"));
  fields.Add("health", OrDash(stats.health()));
  fields.Add("pool_size", FormatSizeWithBytes(stats.pool_size_bytes()));
  fields.Add("pool_allocated", FormatSizeWithBytes(stats.pool_allocated_bytes()));
  fields.Add("pool_free", FormatSizeWithBytes(stats.pool_free_bytes()));
  fields.Add("capacity", absl::StrCat(stats.capacity_percent(), "%"));
  fields.Add("fragmentation", stats.has_fragmentation_percent()
                                  ? absl::StrCat(stats.fragmentation_percent(), "%")
                                  : std::string("-"));
  fields.Print(out);
  if (stats.vdevs().empty()) return;
  out << "vdevs:\n";
  Table table({{"NAME"}, {"STATE"}});
  for (const PoolVdev& vdev : stats.vdevs()) table.AddRow({vdev.name(), OrDash(vdev.state())});
  table.Print(out, "  ");
}

void PrintPoolCheck(const PoolCheck& check, std::ostream& out) {
  out << "pool '" << check.pool() << "' (" << check.health() << ")";
  if (check.findings().empty()) {
    out << " follows the seed's standards\n";
    return;
  }
  const int n = check.findings_size();
  out << ": " << n << (n == 1 ? " setting differs" : " settings differ")
      << " from the seed's standards\n";
  Table table({{"SETTING"}, {"VDEV"}, {"IS"}, {"WANTED"}, {"WHY"}, {"FIX"}});
  for (const PoolFinding& f : check.findings()) {
    table.AddRow({f.setting(), f.vdev().empty() ? "-" : f.vdev(), f.actual(), f.wanted(),
                  f.reason(), f.fix()});
  }
  table.Print(out);
}

void PrintSnapshot(const Snapshot& snapshot, std::ostream& out) {
  KeyValueList fields;
  fields.Add("id", snapshot.id());
  fields.Add("name", snapshot.name());
  fields.Add("full_name", snapshot.full_name());
  fields.Add("used", FormatSize(snapshot.used_bytes()));
  fields.Add("created_at", snapshot.created_at());
  fields.Print(out);
}

void PrintSnapshotTable(const ListSnapshotsResponse& response, std::ostream& out,
                        const TableStyle& style) {
  PrintSnapshotRows(response.snapshots(), &Snapshot::name, out, style);
}

void PrintCreatedSnapshots(const CreateSnapshotsResponse& response, std::ostream& out) {
  PrintSnapshotRows(response.snapshots(), &Snapshot::full_name, out, TableStyle{});
}

void PrintTemplate(const Template& template_, std::ostream& out) {
  KeyValueList fields;
  fields.Add("id", template_.id());
  fields.Add("name", template_.name());
  fields.Add("snapshot_path", template_.snapshot_path());
  fields.Add("source_volume", OrDash(template_.source_volume()));
  if (!template_.import_source().empty()) fields.Add("import_source", template_.import_source());
  fields.Add("size", FormatSizeWithBytes(template_.size_bytes()));
  fields.Add("created_at", template_.created_at());
  fields.Add("clone_count", std::to_string(template_.clone_count()));
  fields.Print(out);
}

void PrintTemplateTable(const ListTemplatesResponse& response, std::ostream& out,
                        const TableStyle& style) {
  std::vector<Table::Column> columns = {{"NAME"},
                                        {"SIZE", Table::Align::kRight},
                                        {"SOURCE"},
                                        {"CLONES", Table::Align::kRight},
                                        {style.wide ? "CREATED_AT" : "CREATED"},
                                        {"ID"}};
  if (style.wide) {
    columns.push_back({"SNAPSHOT_PATH"});
    columns.push_back({"IMPORT_SOURCE"});
  }
  Table table(columns);
  for (const Template& template_ : response.templates()) {
    std::vector<std::string> row = {template_.name(),
                                    FormatSize(template_.size_bytes()),
                                    OrDash(template_.source_volume()),
                                    std::to_string(template_.clone_count()),
                                    Created(template_.created_at(), style),
                                    template_.id()};
    if (style.wide) {
      row.push_back(template_.snapshot_path());
      row.push_back(OrDash(template_.import_source()));
    }
    table.AddRow(std::move(row));
  }
  table.Print(out);
}

void PrintVolumeEvent(const VolumeEvent& event, std::ostream& out) {
  std::string line = absl::StrCat(FormatRfc3339(event.timestamp()), " volume ", event.volume_id());
  if (!event.has_volume()) {
    out << line << " deleted\n";
    return;
  }
  const Volume& volume = event.volume();
  absl::StrAppend(&line, " ", volume.name(), " updated size=", FormatSize(volume.volsize_bytes()),
                  " used=", FormatSize(volume.used_bytes()),
                  " snapshots=", volume.snapshots_size());
  out << line << "\n";
}

void PrintTemplateEvent(const TemplateEvent& event, std::ostream& out) {
  std::string line =
      absl::StrCat(FormatRfc3339(event.timestamp()), " template ", event.template_id());
  if (!event.has_template_() && !event.has_import_job()) {
    out << line << " deleted\n";
    return;
  }
  const std::string& name =
      event.has_template_() ? event.template_().name() : event.import_job().template_name();
  absl::StrAppend(&line, " ", name, " updated");
  if (event.has_template_()) {
    const Template& template_ = event.template_();
    absl::StrAppend(&line, " size=", FormatSize(template_.size_bytes()),
                    " source=", OrDash(template_.source_volume()),
                    " clones=", template_.clone_count());
  }
  if (event.has_import_job()) {
    const ImportJob& job = event.import_job();
    absl::StrAppend(&line, " import=", ImportStateWord(job.state()),
                    " written=", FormatSize(job.bytes_written()), "/",
                    FormatSize(job.total_bytes()));
    if (job.has_error()) absl::StrAppend(&line, " error=", job.error());
  }
  out << line << "\n";
}

}  // namespace mvirt::zfs::cli
