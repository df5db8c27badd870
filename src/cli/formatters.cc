#include "cli/formatters.h"

#include <string>

#include "cli/output.h"
#include "common/sizes.h"

namespace mvirt::zfs::cli {

void PrintVolume(const Volume& volume, std::ostream& out) {
  KeyValueList fields;
  fields.Add("id", volume.id());
  fields.Add("name", volume.name());
  fields.Add("path", volume.path());
  fields.Add("size", FormatSizeWithBytes(volume.volsize_bytes()));
  fields.Add("used", FormatSize(volume.used_bytes()));
  fields.Add("volblocksize", FormatSize(volume.volblocksize()));
  fields.Add("compression_ratio", FormatRatio(volume.compression_ratio()));
  fields.Add("created_at", volume.created_at());
  fields.Print(out);
  if (volume.snapshots().empty()) return;

  out << "snapshots:\n";
  Table table({{"NAME"}, {"USED", Table::Align::kRight}, {"CREATED"}});
  for (const Snapshot& snapshot : volume.snapshots()) {
    table.AddRow({snapshot.name(), FormatSize(snapshot.used_bytes()), snapshot.created_at()});
  }
  table.Print(out, "  ");
}

void PrintVolumeTable(const ListVolumesResponse& response, std::ostream& out) {
  Table table({{"NAME"},
               {"SIZE", Table::Align::kRight},
               {"USED", Table::Align::kRight},
               {"VOLBLOCKSIZE", Table::Align::kRight},
               {"RATIO", Table::Align::kRight},
               {"SNAPSHOTS", Table::Align::kRight},
               {"CREATED"},
               {"ID"}});
  for (const Volume& volume : response.volumes()) {
    table.AddRow({volume.name(), FormatSize(volume.volsize_bytes()),
                  FormatSize(volume.used_bytes()), FormatSize(volume.volblocksize()),
                  FormatRatio(volume.compression_ratio()),
                  std::to_string(volume.snapshots_size()), volume.created_at(), volume.id()});
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
  fields.Print(out);
}

}  // namespace mvirt::zfs::cli
