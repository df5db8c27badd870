#include <ostream>

#include "cli/commands.h"

namespace mvirt::zfs::cli {
namespace {

// Prints "client: X" and "server: Y"; with --json only the server's
// VersionInfo (the client version is what --version prints).
int RunVersion(const GlobalOptions& options) {
  return CallAndPrint(options, &ZfsService::Stub::GetVersion, GetVersionRequest(),
                      [](const VersionInfo& server, std::ostream& out) {
                        out << "client: " << MVIRT_ZFS_VERSION << "\n"
                            << "server: " << server.version() << "\n";
                      });
}

}  // namespace

void AddVersionCommand(CLI::App& app, CommandContext& context) {
  CLI::App* command = app.add_subcommand("version", "Show client and daemon version");
  SetAction(command, context, [&options = context.options] { return RunVersion(options); });
}

}  // namespace mvirt::zfs::cli
