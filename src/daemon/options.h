// The daemon's options: flags, and the same keys in an optional config file
// (TOML/INI, e.g. `pool = "vmpool"`). Flags override the file. Pure logic,
// unit-tested.
#ifndef MVIRT_ZFS_DAEMON_OPTIONS_H_
#define MVIRT_ZFS_DAEMON_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/log.h"
#include "import/import_options.h"

namespace mvirt::zfs {

inline constexpr char kDefaultConfigFile[] = "/etc/mvirt-zfs/mvirt-zfs.toml";

struct DaemonOptions {
  std::string pool = "vmpool";
  // host:port, [v6]:port, or unix:/path. The default is where mvirt's node
  // agent proxies /mvirt.zfs.ZfsService/* to.
  std::string listen = "[::1]:50053";
  LogLevel log_level = LogLevel::kInfo;
  // How long SIGTERM/SIGINT waits for calls in flight before cancelling them.
  int shutdown_timeout_seconds = 30;
  // Seconds to wait for /dev/zvol links to appear or vanish.
  int device_timeout_seconds = 30;
  // Events a watch subscriber may fall behind by before it is disconnected.
  int watch_buffer = 1024;
  // Seconds a watch subscriber may leave an event unread before it is
  // disconnected.
  int watch_stall_timeout_seconds = 60;
  // Seconds an interrupted receive may wait untouched (no ReceiveVolume or
  // GetReceiveState of its name) before its partial data is dropped; 0:
  // kept until AbortReceive.
  int64_t abandon_receive_after_seconds = 7 * 24 * 3600;
  // The space guard (volume/space_guard.h): the most volsize that creates,
  // clones, imports and resizes may provision, as a multiple of the pool's
  // size (0: no limit); the share of the pool's size in percent that they
  // and snapshots may not take from its free space (0: none).
  double max_overcommit = 0;
  double reserve_percent = 10;
  // Seconds between two looks of the snapshot scheduler at the volumes'
  // snapshot policies.
  int snapshot_policy_interval_seconds = 60;
  // Watch streams open at once; more are refused with RESOURCE_EXHAUSTED.
  int max_watchers = 256;
  // Who may call (see README, "Who may call"): the unix socket's mode and
  // group; members of `socket_group` may also call over loopback TCP.
  int socket_mode = 0660;
  std::string socket_group;  // empty: root only
  // TLS for TCP listeners (required on non-loopback addresses unless
  // insecure_listen): server certificate and key (PEM), and the CA that
  // client certificates must chain to (mutual TLS) if set. Files are
  // re-read when they change.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  bool insecure_listen = false;
  // Replication to other daemons (ReplicateVolume, MigrateVolume): the CA
  // their server certificates must chain to, and this node's certificate
  // and key shown to them (mutual TLS). Needed for targets on other hosts.
  std::string peer_ca, peer_cert, peer_key;
  // Prometheus metrics on HTTP: HOST:PORT or [V6]:PORT of an IP literal, or
  // PORT alone for loopback (127.0.0.1). Empty: no metrics.
  std::string metrics_listen;
  // mvirt-log's LogService, where every audit event is also sent:
  // https://HOST:PORT (TLS; mutual with log_cert and log_key) or
  // http://HOST:PORT. Empty: not sent.
  std::string log_endpoint;
  std::string log_ca_file, log_cert, log_key;
  // Image imports: state directory, import directories, HTTP policy, limits.
  ImportOptions import;
};

// What the command line asks for: run with `options`, or exit at once with
// `exit_code` after printing `message` (help, version, or a usage error).
struct ParsedCommandLine {
  bool run = false;
  DaemonOptions options;
  int exit_code = 0;
  std::string message;
};

// Parses argv (args[0] is the program name). Never exits the process.
ParsedCommandLine ParseDaemonCommandLine(const std::vector<std::string>& args);

// INVALID_ARGUMENT if `listen` is neither unix:/absolute/path nor host:port.
absl::Status ValidateListenAddress(const std::string& listen);

// --metrics-listen as the exposer binds it: "PORT" becomes
// "127.0.0.1:PORT"; IP:PORT and [IPV6]:PORT stay (port 0: any free port).
// INVALID_ARGUMENT for anything else (host names included).
absl::StatusOr<std::string> NormalizeMetricsListen(const std::string& listen);

// True if `listen` is a unix socket or a TCP address that only this host can
// reach (a loopback IP, or "localhost").
bool IsLocalListenAddress(const std::string& listen);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DAEMON_OPTIONS_H_
