#include "cli/output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/sizes.h"

namespace mvirt::zfs::cli {

void PrintError(absl::string_view message) { std::cerr << kProgramName << ": " << message << "\n"; }

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

void Table::Print(std::ostream& out, std::string_view indent) const {
  std::vector<size_t> widths(columns_.size());
  for (size_t i = 0; i < columns_.size(); ++i) {
    widths[i] = columns_[i].header.size();
    for (const auto& row : rows_) widths[i] = std::max(widths[i], row[i].size());
  }
  auto print_line = [&](auto cell_at) {
    std::string line(indent);
    for (size_t i = 0; i < columns_.size(); ++i) {
      const std::string& cell = cell_at(i);
      std::string padding(widths[i] - cell.size(), ' ');
      if (i > 0) line += "  ";
      if (columns_[i].align == Align::kRight) {
        absl::StrAppend(&line, padding, cell);
      } else {
        absl::StrAppend(&line, cell, padding);
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  };
  print_line([&](size_t i) -> const std::string& { return columns_[i].header; });
  for (const auto& row : rows_) {
    print_line([&](size_t i) -> const std::string& { return row[i]; });
  }
}

void KeyValueList::Add(std::string key, std::string value) {
  entries_.emplace_back(std::move(key), std::move(value));
}

void KeyValueList::Print(std::ostream& out) const {
  size_t width = 0;
  for (const auto& [key, value] : entries_) width = std::max(width, key.size());
  for (const auto& [key, value] : entries_) {
    out << key << ":" << std::string(width - key.size() + 1, ' ') << value << "\n";
  }
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print ", message.GetTypeName(), " as JSON: ", status.ToString()));
  }
  return json;
}

std::string FormatRatio(double ratio) { return absl::StrFormat("%.2fx", ratio); }

std::string FormatSizeWithBytes(uint64_t bytes) {
  return absl::StrCat(FormatSize(bytes), " (", bytes, " bytes)");
}

}  // namespace mvirt::zfs::cli
