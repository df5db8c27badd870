// Generic output helpers: aligned tables, "key: value" blocks, JSON, and the
// one-line error format. Nothing here knows about particular messages; the
// per-resource layouts are in formatters.h.
#ifndef MVIRT_ZFS_CLI_OUTPUT_H_
#define MVIRT_ZFS_CLI_OUTPUT_H_

#include <google/protobuf/message.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs::cli {

// The program name that prefixes every error line.
inline constexpr std::string_view kProgramName = "mvirt-zfsctl";

// Writes "mvirt-zfsctl: <message>\n" to stderr. (absl::string_view: this
// abseil build's string_view is not std::string_view, and Status::message()
// returns it.)
void PrintError(absl::string_view message);

// A table printed with columns padded to their widest cell, two spaces
// apart, and no trailing whitespace. Rows must have one cell per column.
class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };

  explicit Table(std::vector<Column> columns);

  void AddRow(std::vector<std::string> cells);

  // Prints the header line and the rows, each line prefixed by `indent`.
  void Print(std::ostream& out, std::string_view indent = "") const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// "key: value" lines with values aligned in one column, in insertion order.
class KeyValueList {
 public:
  void Add(std::string key, std::string value);
  void Print(std::ostream& out) const;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// The message as one line of JSON: proto field names, default-valued scalar
// fields included (uint64 values are strings, per the proto3 JSON mapping).
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);

// "1.00x".
std::string FormatRatio(double ratio);

// "50 GiB (53687091200 bytes)".
std::string FormatSizeWithBytes(uint64_t bytes);

}  // namespace mvirt::zfs::cli

#endif  // MVIRT_ZFS_CLI_OUTPUT_H_
