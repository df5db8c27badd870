// Options shared by the commands that make a new volume: volume create,
// volume clone and template clone.
#ifndef MVIRT_ZFS_CLI_VOLUME_OPTIONS_H_
#define MVIRT_ZFS_CLI_VOLUME_OPTIONS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/sizes.h"

namespace mvirt::zfs::cli {

// Adds "--id UUID": the id the new volume carries (default: generated).
void AddVolumeIdOption(CLI::App& command, std::string& id);

// The options of a command that clones a new volume from a snapshot or a
// template.
struct CloneOptions {
  // --size; unset: the new volume has the size of its source.
  std::optional<std::string> size;
  // --id; empty: generated.
  std::string id;
  // --thick: all of its size reserved.
  bool thick = false;
};

// Adds --thick to `command`.
void AddThickOption(CLI::App& command, bool& thick);

// Adds --size, --id and --thick to `command`, filled into `options`.
void AddCloneOptions(CLI::App& command, CloneOptions& options);

// Copies `options` into a clone request (CloneVolumeRequest or
// CloneFromTemplateRequest). INVALID_ARGUMENT if --size is not a size.
template <typename Request>
absl::Status SetCloneOptions(const CloneOptions& options, Request& request) {
  if (options.size.has_value()) {
    absl::StatusOr<uint64_t> size = ParseSize(*options.size);
    if (!size.ok()) return size.status();
    request.set_size_bytes(*size);
  }
  request.set_id(options.id);
  request.set_thick(options.thick);
  return absl::OkStatus();
}

}  // namespace mvirt::zfs::cli

#endif  // MVIRT_ZFS_CLI_VOLUME_OPTIONS_H_
