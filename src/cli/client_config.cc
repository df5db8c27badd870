#include "cli/client_config.h"

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mvirt::zfs::cli {
namespace {

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The file a command line names with --config FILE or --config=FILE.
std::optional<std::string> ConfigArgument(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) return args[i + 1];
    if (absl::StartsWith(args[i], "--config=")) return args[i].substr(9);
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::optional<std::string>> FindClientConfig(const std::vector<std::string>& args,
                                                            const EnvLookup& env) {
  std::optional<std::string> named = ConfigArgument(args);
  const char* source = "--config";
  if (!named) {
    named = env("MVIRT_ZFSCTL_CONFIG");
    source = "$MVIRT_ZFSCTL_CONFIG";
  }
  if (named) {
    if (!Exists(*named)) {
      return absl::NotFoundError(
          absl::StrCat("config file ", *named, " (", source, ") does not exist"));
    }
    return named;
  }
  std::vector<std::string> candidates;
  if (std::optional<std::string> xdg = env("XDG_CONFIG_HOME"); xdg && !xdg->empty()) {
    candidates.push_back(*xdg + "/mvirt-zfsctl.toml");
  } else if (std::optional<std::string> home = env("HOME"); home && !home->empty()) {
    candidates.push_back(*home + "/.config/mvirt-zfsctl.toml");
  }
  candidates.push_back("/etc/mvirt-zfs/mvirt-zfsctl.toml");
  for (const std::string& path : candidates) {
    if (Exists(path)) return path;
  }
  return std::nullopt;
}

absl::Status ApplyClientConfig(const std::string& path, GlobalOptions& options) {
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_file(path);
  } catch (const CLI::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat("config file ", path, ": ", e.what()));
  }
  for (const CLI::ConfigItem& item : items) {
    const std::string key = item.fullname();
    if (item.inputs.size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("config file ", path, ": '", key, "' takes one value"));
    }
    const std::string& value = item.inputs[0];
    auto bad = [&](absl::string_view expected) {
      return absl::InvalidArgumentError(absl::StrCat("config file ", path, ": '", key, "' must be ",
                                                     expected, ", got '", value, "'"));
    };
    if (key == "endpoint") {
      if (value.empty()) return bad("host:port or unix:/path");
      options.connection.endpoint = value;
    } else if (key == "timeout") {
      double seconds = 0;
      if (!absl::SimpleAtod(value, &seconds) || !(seconds > 0)) {
        return bad("a number of seconds greater than 0");
      }
      options.connection.timeout_seconds = seconds;
    } else if (key == "output") {
      if (value != "table" && value != "wide" && value != "json") {
        return bad("table, wide or json");
      }
      options.output = value;
    } else if (key == "json") {
      const std::string lower = absl::AsciiStrToLower(value);
      if (lower != "true" && lower != "false") return bad("true or false");
      options.json = lower == "true";
    } else {
      return absl::InvalidArgumentError(absl::StrCat("config file ", path, ": unknown key '", key,
                                                     "' (known: endpoint, timeout, output, json)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace mvirt::zfs::cli
