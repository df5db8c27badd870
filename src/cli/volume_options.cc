#include "cli/volume_options.h"

namespace mvirt::zfs::cli {

void AddVolumeIdOption(CLI::App& command, std::string& id) {
  command.add_option("--id", id, "Id the volume carries (default: generated)")->type_name("UUID");
}

void AddCloneOptions(CLI::App& command, CloneOptions& options) {
  command
      .add_option("--size", options.size,
                  "New size, at least the source's, e.g. 80G (default: the source's)")
      ->type_name("SIZE");
  AddVolumeIdOption(command, options.id);
  AddThickOption(command, options.thick);
}

void AddThickOption(CLI::App& command, bool& thick) {
  command.add_flag("--thick", thick,
                   "Reserve all of its size (refreservation), so that its writes never fail for "
                   "lack of space (default: thin, space taken as written)");
}

}  // namespace mvirt::zfs::cli
