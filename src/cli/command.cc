#include "cli/command.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

#include "cli/client_config.h"

namespace mvirt::zfs::cli {

namespace {

// Accepts a number of seconds greater than 0. (CLI::PositiveNumber's error
// message prints DBL_MAX in full.)
CLI::Validator PositiveSeconds() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        double seconds = 0;
        if (!CLI::detail::lexical_cast(input, seconds) || !(seconds > 0)) {
          return "must be a number of seconds greater than 0, got '" + input + "'";
        }
        return "";
      },
      "");
}

}  // namespace

void AddGlobalOptions(CLI::App& app, GlobalOptions& options) {
  app.require_subcommand(0, 1);
  app.fallthrough();
  app.set_version_flag("--version", std::string(kProgramName) + " " + MVIRT_ZFS_VERSION);
  app.add_option("--endpoint", options.connection.endpoint,
                 "Daemon address: host:port or unix:/path/to/socket")
      ->envname("MVIRT_ZFS_ENDPOINT")
      ->capture_default_str();
  app.add_option("--config", options.config_file,
                 "Client config file (TOML: endpoint, timeout, json), below the environment and "
                 "the command line; default: $MVIRT_ZFSCTL_CONFIG, ~/.config/mvirt-zfsctl.toml or "
                 "/etc/mvirt-zfs/mvirt-zfsctl.toml if present")
      ->type_name("FILE");
  app.add_flag("--json", options.json, "Print the response as JSON");
  app.add_option("-o,--output", options.output,
                 "table, wide (tables with more columns and exact times) or json (as --json)")
      ->check(CLI::IsMember({"table", "wide", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", options.connection.timeout_seconds,
                 "Deadline of each call (watch has none)")
      ->type_name("SECONDS")
      ->check(PositiveSeconds())
      ->capture_default_str();
}

CLI::App* AddCommandGroup(CLI::App& parent, std::string name, std::string description) {
  CLI::App* group = parent.add_subcommand(std::move(name), std::move(description));
  group->require_subcommand(0, 1);
  return group;
}

void SetAction(CLI::App* command, CommandContext& context, Action run) {
  command->callback([&context, run = std::move(run)] { context.action = run; });
}

int ParseAndRun(CLI::App& app, CommandContext& context, int argc, char** argv) {
  // The config file's values become the defaults that the environment and
  // the command line then override.
  absl::StatusOr<std::optional<std::string>> config =
      FindClientConfig(std::vector<std::string>(argv + std::min(argc, 1), argv + argc),
                       [](const std::string& name) -> std::optional<std::string> {
                         const char* value = std::getenv(name.c_str());
                         if (value == nullptr) return std::nullopt;
                         return std::string(value);
                       });
  if (!config.ok()) return ReportUsageError(config.status());
  if (config->has_value()) {
    if (absl::Status applied = ApplyClientConfig(**config, context.options); !applied.ok()) {
      return ReportUsageError(applied);
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // Prints help/version to stdout (exit 0) or the error to stderr.
    return app.exit(error) == 0 ? kExitOk : kExitUsage;
  }
  if (context.options.output == "json") context.options.json = true;
  if (!context.action) {
    // help() describes the most deeply nested subcommand that was given.
    std::cerr << app.help();
    return kExitUsage;
  }
  return context.action();
}

int ReportUsageError(const absl::Status& status) {
  PrintError(status.message());
  return kExitUsage;
}

int ExitCodeFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return kExitRefused;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    default:
      return kExitRpcError;
  }
}

int ReportRpcError(const grpc::Status& status, const ConnectionOptions& connection) {
  PrintError(DescribeRpcError(status, connection));
  return ExitCodeFor(status.error_code());
}

int PrintJson(const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = ToJson(message);
  if (!json.ok()) {
    PrintError(json.status().message());
    return kExitRpcError;
  }
  std::cout << *json << "\n";
  return kExitOk;
}

}  // namespace mvirt::zfs::cli
