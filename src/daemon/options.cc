#include "daemon/options.h"

#include <CLI/CLI.hpp>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "common/sizes.h"

namespace mvirt::zfs {
namespace {

absl::Status ValidatePoolName(const std::string& pool) {
  bool ok = !pool.empty() && pool.size() <= kMaxPoolNameLength && std::isalpha(static_cast<unsigned char>(pool[0]));
  for (char c : pool) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid pool name '", pool, "': 1-", kMaxPoolNameLength,
        " characters of A-Z a-z 0-9 _ - . :, starting with a letter"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAbsolutePath(absl::string_view flag, const std::string& path) {
  if (!path.empty() && path[0] == '/') return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " '", path, "' must be an absolute path"));
}

// Checks the import flags and sets max_image_bytes from `max_size`.
absl::Status ValidateImportOptions(ImportOptions& options, const std::string& max_size) {
  absl::StatusOr<uint64_t> bytes = ParseSize(max_size);
  if (!bytes.ok() || *bytes == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--import-max-size '", max_size, "': expected a size such as 500G or 2T"));
  }
  options.max_image_bytes = *bytes;
  if (absl::Status s = ValidateAbsolutePath("--state-dir", options.state_dir); !s.ok()) return s;
  if (options.import_dirs.empty()) {
    return absl::InvalidArgumentError("--import-dir: give at least one directory");
  }
  for (const std::string& dir : options.import_dirs) {
    if (absl::Status s = ValidateAbsolutePath("--import-dir", dir); !s.ok()) return s;
  }
  if (!options.ca_file.empty()) {
    if (absl::Status s = ValidateAbsolutePath("--import-ca-file", options.ca_file); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateListenAddress(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:")) {
    if (listen.size() > 6 && listen[5] == '/') return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("invalid listen address '", listen, "': a unix socket needs an absolute path, e.g. unix:/run/mvirt-zfs.sock"));
  }
  size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid listen address '", listen, "': use HOST:PORT, [IPV6]:PORT or unix:/path"));
  }
  return absl::OkStatus();
}

ParsedCommandLine ParseDaemonCommandLine(const std::vector<std::string>& args) {
  ParsedCommandLine result;
  DaemonOptions& o = result.options;
  std::string log_level = "info";

  CLI::App app{"mvirt-zfs: serves the ZFS volumes of a VM host over gRPC (mvirt.zfs.ZfsService)",
               args.empty() ? "mvirt-zfs" : args[0]};
  app.set_version_flag("--version", MVIRT_ZFS_VERSION);
  app.set_config("--config", kDefaultConfigFile,
                 "Config file (TOML) with the same keys as the long flags, e.g. pool = \"vmpool\"; "
                 "read if present");
  app.allow_config_extras(false);  // a misspelt key is an error, not ignored
  app.add_option("--pool", o.pool, "ZFS pool whose volumes are served")->capture_default_str();
  app.add_option("--listen", o.listen, "gRPC address: HOST:PORT, [IPV6]:PORT or unix:/path")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "debug, info, warning or error")->capture_default_str();
  app.add_option("--shutdown-timeout", o.shutdown_timeout_seconds,
                 "Seconds SIGTERM waits for calls in flight")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  app.add_option("--device-timeout", o.device_timeout_seconds,
                 "Seconds to wait for /dev/zvol links to appear or vanish")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--watch-buffer", o.watch_buffer,
                 "Events a Watch* subscriber may fall behind by before it is disconnected")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--watch-stall-timeout", o.watch_stall_timeout_seconds,
                 "Seconds a Watch* subscriber may leave an event unread before it is "
                 "disconnected")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));

  ImportOptions& im = o.import;
  std::string max_size = "1T";
  app.add_option("--state-dir", im.state_dir,
                 "Directory for import job records (jobs/) and downloads in progress (tmp/)")
      ->capture_default_str();
  app.add_option("--import-dir", im.import_dirs,
                 "Directory whose files ImportTemplate may read (repeatable; given, it replaces "
                 "the default)")
      ->capture_default_str();
  app.add_flag("--import-allow-http", im.allow_http,
               "Also accept plain http:// import sources (https:// always works)");
  app.add_option("--import-ca-file", im.ca_file,
                 "PEM file of CAs to trust for https:// imports instead of the system's");
  app.add_option("--import-max-size", max_size,
                 "Largest image accepted (download and disk size), e.g. 500G")
      ->capture_default_str();
  app.add_option("--import-concurrency", im.max_concurrent,
                 "Imports that run at once; more wait as PENDING")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--qemu-img", im.qemu_img, "The qemu-img program (for qcow2 images)")
      ->capture_default_str();

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  if (!reversed.empty()) reversed.pop_back();  // program name
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    result.exit_code = app.exit(e, out, err);
    result.message = out.str() + err.str();
    return result;
  }
  absl::StatusOr<LogLevel> level = ParseLogLevel(log_level);
  absl::Status status = level.status();
  if (status.ok()) status = ValidatePoolName(o.pool);
  if (status.ok()) status = ValidateListenAddress(o.listen);
  if (status.ok()) status = ValidateImportOptions(im, max_size);
  if (!status.ok()) {
    result.exit_code = 2;
    result.message = absl::StrCat("mvirt-zfs: ", status.message(), "\n");
    return result;
  }
  o.log_level = *level;
  result.run = true;
  return result;
}

}  // namespace mvirt::zfs
