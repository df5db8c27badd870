// The framework shared by every command: global options, exit codes, how a
// subcommand registers the action it runs, and the call-then-print helper.
//
// A command group (pool_commands.cc, volume_commands.cc, ...) adds CLI11
// subcommands and, for each leaf, an Action via SetAction. Parsing only
// selects the action; main runs it afterwards, so actions never run inside
// CLI11's parser and their exit code is returned normally.
#ifndef MVIRT_ZFS_CLI_COMMAND_H_
#define MVIRT_ZFS_CLI_COMMAND_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "cli/client.h"
#include "cli/formatters.h"
#include "cli/output.h"

namespace mvirt::zfs::cli {

// Process exit codes (README, "mvirt-zfsctl"; ExitCodeFor picks the one of
// a failed call).
inline constexpr int kExitOk = 0;
// The call failed (bad input the daemon refused, an internal error, a failed
// import job), or `health` found the daemon not serving.
inline constexpr int kExitRpcError = 1;
// The command line is wrong (unknown option, bad size, missing subcommand).
inline constexpr int kExitUsage = 2;
// The object named does not exist (NOT_FOUND).
inline constexpr int kExitNotFound = 3;
// Refused in the current state: a precondition (in use, has clones, would
// shrink), the name taken, no room, not allowed (FAILED_PRECONDITION,
// ALREADY_EXISTS, ABORTED, RESOURCE_EXHAUSTED, PERMISSION_DENIED,
// UNAUTHENTICATED).
inline constexpr int kExitRefused = 4;
// The daemon or its pool cannot serve now: unreachable, the pool gone or
// suspended, the deadline passed (UNAVAILABLE, DEADLINE_EXCEEDED); a retry
// later may succeed.
inline constexpr int kExitUnavailable = 5;

// The exit code of a call that ended with `code` (kExitOk for OK).
int ExitCodeFor(grpc::StatusCode code);

// Options that apply to every command. Filled in by CLI11 while parsing, so
// only read them from inside an Action.
struct GlobalOptions {
  ConnectionOptions connection;
  // Print the response message as JSON instead of the human layout.
  bool json = false;
  // --config, as given (read before parsing: client_config.h).
  std::string config_file;
  // --output: "table" (default), "wide" (tables with more columns and exact
  // times) or "json" (the same as --json).
  std::string output = "table";
};

// What a command does once the command line is parsed; returns the exit code.
using Action = std::function<int()>;

// State shared between the command groups and main.
struct CommandContext {
  GlobalOptions options;
  // Set by the leaf subcommand that was given; empty if none was.
  Action action;
};

// Adds --endpoint, --config, --json, --timeout and --version to the top-level app and
// makes it accept at most one subcommand. Call before adding subcommands, so
// they inherit `fallthrough` (global options may follow a subcommand).
void AddGlobalOptions(CLI::App& app, GlobalOptions& options);

// Adds a subcommand that only groups others (e.g. "volume"): it accepts at
// most one subcommand and, given none, main prints its help.
CLI::App* AddCommandGroup(CLI::App& parent, std::string name, std::string description);

// Makes `command`, when given on the command line, select `run` as the action.
void SetAction(CLI::App* command, CommandContext& context, Action run);

// Parses the command line and runs the selected action. Returns the exit
// code: kExitUsage for CLI11 errors (after printing its message) and for a
// group without subcommand (after printing the group's help); 0 for --help
// and --version; otherwise the action's result.
int ParseAndRun(CLI::App& app, CommandContext& context, int argc, char** argv);

// Prints `status` as a one-line error and returns kExitUsage. For arguments
// that CLI11 accepted but the command could not interpret (e.g. sizes).
int ReportUsageError(const absl::Status& status);

// Writes `message` as one JSON line to stdout. Returns kExitOk, or prints an
// error and returns kExitRpcError if it cannot be converted.
int PrintJson(const google::protobuf::Message& message);

// Prints `status` (not OK) as one error line (see DescribeRpcError) and
// returns ExitCodeFor(its code).
int ReportRpcError(const grpc::Status& status, const ConnectionOptions& connection);

// Prints a response: as one JSON line with --json (see PrintJson), else with
// print(message, std::cout). Returns kExitOk, or PrintJson's error.
template <typename Message, typename PrintHuman>
int PrintMessage(const GlobalOptions& options, const Message& message, const PrintHuman& print) {
  if (options.json) return PrintJson(message);
  print(message, std::cout);
  return kExitOk;
}

// A table printer bound to the --output style: "wide" or not, now's time.
template <typename Message>
auto InStyle(const GlobalOptions& options,
             void (*print)(const Message&, std::ostream&, const TableStyle&)) {
  TableStyle style;
  style.wide = options.output == "wide";
  return [print, style](const Message& message, std::ostream& out) { print(message, out, style); };
}

// Calls `method` with `request` on options.connection. On success prints the
// response (see PrintMessage) and returns kExitOk; on failure prints one
// error line and returns ExitCodeFor(its code).
template <typename Request, typename Response, typename PrintHuman>
int CallAndPrint(const GlobalOptions& options, UnaryMethod<Request, Response> method,
                 const Request& request, PrintHuman print) {
  ZfsClient client(options.connection);
  Response response;
  grpc::Status status = client.Call(method, request, &response);
  if (!status.ok()) return ReportRpcError(status, options.connection);
  return PrintMessage(options, response, print);
}

// Calls the server-streaming `method` with `request` (no --timeout deadline)
// and prints each message as it arrives (see PrintMessage), flushing stdout
// after each. Returns kExitOk when the daemon ends the stream; if it ends with
// an error, prints one error line and returns ExitCodeFor(its code). Runs until then
// or until the process is interrupted.
template <typename Request, typename Response, typename PrintHuman>
int StreamAndPrint(const GlobalOptions& options, StreamMethod<Request, Response> method,
                   const Request& request, PrintHuman print) {
  ZfsClient client(options.connection);
  grpc::Status status = client.Stream(method, request, [&](const Response& message) {
    PrintMessage(options, message, print);
    std::cout.flush();
  });
  if (!status.ok()) return ReportRpcError(status, options.connection);
  return kExitOk;
}

}  // namespace mvirt::zfs::cli

#endif  // MVIRT_ZFS_CLI_COMMAND_H_
