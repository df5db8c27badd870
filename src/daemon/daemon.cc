#include "daemon/daemon.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "absl/strings/match.h"
#include "common/log.h"
#include "daemon/options.h"
#include "daemon/pool_check.h"
#include "import/http_fetch.h"
#include "import/import_manager.h"
#include "service/zfs_service.h"
#include "volume/volume_manager.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {
namespace {

// Removes a stale unix socket left by a previous run (bind would fail).
void RemoveStaleSocket(const std::string& listen) {
  if (!absl::StartsWith(listen, "unix:")) return;
  std::string path = listen.substr(5);
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
}

// Returns false if the pool cannot be served.
bool CheckPool(Zfs& zfs, const std::string& pool_name) {
  absl::StatusOr<PoolProps> pool = zfs.GetPool(pool_name);
  if (!pool.ok()) {
    LogError("cannot serve pool '", pool_name, "': ", pool.status().message());
    return false;
  }
  if (absl::Status health = CheckPoolHealth(*pool); !health.ok()) {
    LogError(health.message());
    return false;
  }
  if (pool->health != "ONLINE") {
    LogWarning("pool '", pool_name, "' is ", pool->health, ": serving it, but check `zpool status`");
  }
  for (const std::string& warning : SeedSettingWarnings(*pool)) LogWarning(warning);
  return true;
}

}  // namespace

int RunDaemon(int argc, char** argv) {
  ParsedCommandLine cmd = ParseDaemonCommandLine(std::vector<std::string>(argv, argv + argc));
  if (!cmd.run) {
    std::fputs(cmd.message.c_str(), cmd.exit_code == 0 ? stdout : stderr);
    return cmd.exit_code;
  }
  const DaemonOptions& options = cmd.options;
  SetLogLevel(options.log_level);

  // Block the shutdown signals before any thread starts, so that only
  // sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A write to a closed pipe or socket (a cancelled send/receive, a client
  // gone) must be an EPIPE error, not the end of the daemon.
  ::signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<Zfs>> zfs = OpenLibZfs();
  if (!zfs.ok()) {
    LogError(zfs.status().message());
    return 1;
  }
  if (!CheckPool(**zfs, options.pool)) return 1;

  VolumeManagerOptions volume_options;
  volume_options.pool = options.pool;
  volume_options.device_timeout = absl::Seconds(options.device_timeout_seconds);
  VolumeManager volumes(**zfs, volume_options);
  volumes.CollectGarbage(/*at_startup=*/true);
  InitHttp();
  ImportManager imports(volumes, options.import);
  if (absl::Status s = imports.Recover(); !s.ok()) {
    LogError("cannot start imports: ", s.message());
    return 1;
  }
  ServiceOptions service_options;
  service_options.watch_buffer = static_cast<size_t>(options.watch_buffer);
  service_options.watch_stall_timeout = absl::Seconds(options.watch_stall_timeout_seconds);
  ZfsServiceImpl service(volumes, imports, service_options);

  RemoveStaleSocket(options.listen);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &bound_port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || (!absl::StartsWith(options.listen, "unix:") && bound_port == 0)) {
    LogError("cannot listen on ", options.listen, " (address in use or not available)");
    return 1;
  }
  LogInfo("mvirt-zfs ", MVIRT_ZFS_VERSION, " serving pool '", options.pool, "' on ",
          options.listen);
  sd_notify(0, "READY=1");

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogInfo("received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
          ", finishing calls in flight (up to ", options.shutdown_timeout_seconds, " s)");
  sd_notify(0, "STOPPING=1");
  imports.Shutdown();     // running imports stop and remove their partial data
  volumes.CloseEvents();  // watch streams end now rather than at the deadline
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::seconds(options.shutdown_timeout_seconds));
  server->Wait();
  LogInfo("stopped");
  return 0;
}

}  // namespace mvirt::zfs
