#include "volume/dataset_names.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace mvirt::zfs {
namespace {

absl::string_view AreaDir(ReservedArea area) {
  switch (area) {
    case ReservedArea::kTemplates:
      return "templates";
    case ReservedArea::kIncoming:
      return "incoming";
    case ReservedArea::kDeleted:
      return "deleted";
    case ReservedArea::kImports:
      return "imports";
    case ReservedArea::kCreating:
      return "creating";
    case ReservedArea::kReceiving:
      return "receiving";
  }
  return "";
}

}  // namespace

std::string DatasetNames::Volume(absl::string_view name) const {
  return absl::StrCat(pool_, "/", name);
}

std::string DatasetNames::VolumeNameOf(absl::string_view dataset) const {
  absl::string_view name = dataset;
  absl::ConsumePrefix(&name, absl::StrCat(pool_, "/"));
  return std::string(name);
}

std::string DatasetNames::Snapshot(absl::string_view dataset, absl::string_view snapshot) {
  return absl::StrCat(dataset, "@", snapshot);
}

std::string DatasetNames::SnapshotNameOf(absl::string_view full_name) {
  const size_t at = full_name.find('@');
  return at == absl::string_view::npos ? std::string() : std::string(full_name.substr(at + 1));
}

std::string DatasetNames::DatasetOf(absl::string_view full_name) {
  return std::string(full_name.substr(0, full_name.find('@')));
}

std::string DatasetNames::ReservedRoot() const { return absl::StrCat(pool_, "/", kReservedDir); }

std::string DatasetNames::Area(ReservedArea area) const {
  return absl::StrCat(ReservedRoot(), "/", AreaDir(area));
}

bool DatasetNames::InArea(ReservedArea area, absl::string_view dataset_or_snapshot) const {
  return absl::StartsWith(dataset_or_snapshot, absl::StrCat(Area(area), "/"));
}

bool DatasetNames::AreaHasZvolDevices(ReservedArea area) {
  return area == ReservedArea::kImports || area == ReservedArea::kCreating ||
         area == ReservedArea::kReceiving;
}

std::string DatasetNames::Template(absl::string_view name) const {
  return absl::StrCat(Area(ReservedArea::kTemplates), "/", name);
}

std::string DatasetNames::TemplateSnapshotOf(absl::string_view dataset) {
  return Snapshot(dataset, kTemplateSnapshot);
}

std::optional<std::string> DatasetNames::TemplateNameOf(
    absl::string_view dataset_or_snapshot) const {
  absl::string_view rest = dataset_or_snapshot;
  if (!absl::ConsumePrefix(&rest, absl::StrCat(Area(ReservedArea::kTemplates), "/"))) {
    return std::nullopt;
  }
  rest = rest.substr(0, rest.find('@'));
  if (rest.empty() || absl::StrContains(rest, '/')) return std::nullopt;
  return std::string(rest);
}

std::string DatasetNames::IncomingTemplate(absl::string_view name, absl::string_view id) const {
  return absl::StrCat(Area(ReservedArea::kIncoming), "/", name, "-", id);
}

std::string DatasetNames::DeletedTemplate(absl::string_view name, absl::string_view id) const {
  return absl::StrCat(Area(ReservedArea::kDeleted), "/", name, "-", id);
}

std::string DatasetNames::ImportStaging(absl::string_view template_name,
                                        absl::string_view job_id) const {
  return absl::StrCat(Area(ReservedArea::kImports), "/", template_name, "-", job_id);
}

std::string DatasetNames::Creating(absl::string_view name, absl::string_view id) const {
  return absl::StrCat(Area(ReservedArea::kCreating), "/", name, "-", id);
}

std::string DatasetNames::Receiving(absl::string_view name) const {
  return absl::StrCat(Area(ReservedArea::kReceiving), "/", name);
}

}  // namespace mvirt::zfs
