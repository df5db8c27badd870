// The client config file of mvirt-zfsctl: TOML with the global options'
// long names as keys, e.g.
//   endpoint = "unix:/run/mvirt-zfs/mvirt-zfs.sock"
//   timeout = 120
//   output = "wide"
// Which file: --config FILE, else $MVIRT_ZFSCTL_CONFIG (both must exist),
// else the first of $XDG_CONFIG_HOME/mvirt-zfsctl.toml (default
// ~/.config/mvirt-zfsctl.toml) and /etc/mvirt-zfs/mvirt-zfsctl.toml that
// exists, else none. Its values are defaults: $MVIRT_ZFS_ENDPOINT and the
// command line override them.
#ifndef MVIRT_ZFS_CLI_CLIENT_CONFIG_H_
#define MVIRT_ZFS_CLI_CLIENT_CONFIG_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/command.h"

namespace mvirt::zfs::cli {

// Reads an environment variable (std::getenv in the program; a map in tests).
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The config file to read for `args` (the command line without the program
// name), or nullopt. NOT_FOUND for a named file that does not exist.
absl::StatusOr<std::optional<std::string>> FindClientConfig(const std::vector<std::string>& args,
                                                            const EnvLookup& env);

// Sets `options` from the file at `path`. INVALID_ARGUMENT naming the file
// and key for an unknown key or a bad value; the error of a file that
// cannot be read or parsed.
absl::Status ApplyClientConfig(const std::string& path, GlobalOptions& options);

}  // namespace mvirt::zfs::cli

#endif  // MVIRT_ZFS_CLI_CLIENT_CONFIG_H_
