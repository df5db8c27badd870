#include "daemon/options.h"

#include <CLI/CLI.hpp>
#include <initializer_list>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "common/net_address.h"
#include "common/sizes.h"
#include "common/status_util.h"

namespace mvirt::zfs {
namespace {

absl::Status ValidatePoolName(const std::string& pool) {
  bool ok = !pool.empty() && pool.size() <= kMaxPoolNameLength &&
            std::isalpha(static_cast<unsigned char>(pool[0]));
  for (char c : pool) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
                c == ':');
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid pool name '", pool, "': 1-", kMaxPoolNameLength,
                     " characters of A-Z a-z 0-9 _ - . :, starting with a letter"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAbsolutePath(absl::string_view flag, const std::string& path) {
  if (!path.empty() && path[0] == '/') return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(flag, " '", path, "' must be an absolute path"));
}

// Checks the import flags and sets max_image_bytes from `max_size`.
absl::Status ValidateImportOptions(ImportOptions& options, const std::string& max_size) {
  absl::StatusOr<uint64_t> bytes = ParseSize(max_size);
  if (!bytes.ok() || *bytes == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--import-max-size '", max_size, "': expected a size such as 500G or 2T"));
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
    if (absl::Status s = ValidateAbsolutePath("--import-ca-file", options.ca_file); !s.ok())
      return s;
  }
  return absl::OkStatus();
}

// An octal file mode such as 0660. (Whoever can connect must still pass the
// uid check: the mode only keeps others from connecting at all.)
absl::Status ParseSocketMode(const std::string& text, int& mode) {
  int parsed = 0;
  bool ok = !text.empty() && text.size() <= 4;
  for (char c : text) ok = ok && c >= '0' && c <= '7';
  if (ok) parsed = std::stoi(text, nullptr, 8);
  if (!ok || parsed > 0777) {
    return absl::InvalidArgumentError(
        absl::StrCat("--socket-mode '", text, "': an octal file mode such as 0660 or 0600"));
  }
  mode = parsed;
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateListenAddress(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:")) {
    if (listen.size() > 6 && listen[5] == '/') return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("invalid listen address '", listen,
                     "': a unix socket needs an absolute path, e.g. unix:/run/mvirt-zfs.sock"));
  }
  if (!ParseHostPort(listen).ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid listen address '", listen,
                                                   "': use HOST:PORT, [IPV6]:PORT or unix:/path"));
  }
  return absl::OkStatus();
}

bool IsLocalListenAddress(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:")) return true;
  absl::StatusOr<HostPort> hp = ParseHostPort(listen);
  if (!hp.ok()) return false;
  if (absl::AsciiStrToLower(hp->host) == "localhost") return true;
  absl::StatusOr<IpAddress> ip = ParseIpAddress(hp->host);
  return ip.ok() && ClassifyAddress(*ip) == AddressClass::kLoopback;
}

absl::StatusOr<std::string> NormalizeMetricsListen(const std::string& listen) {
  auto bad = [&listen](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("--metrics-listen '", Printable(listen), "': ",
                                                   why, " (give PORT, IP:PORT or [IPV6]:PORT)"));
  };
  if (!listen.empty() && listen.find_first_not_of("0123456789") == std::string::npos) {
    int port = 0;
    if (!absl::SimpleAtoi(listen, &port) || port > 65535) return bad("not a TCP port");
    return absl::StrCat("127.0.0.1:", port);
  }
  absl::StatusOr<HostPort> hp = ParseHostPort(listen);
  if (!hp.ok()) return bad(hp.status().message());
  absl::StatusOr<IpAddress> ip = ParseIpAddress(hp->host);
  if (!ip.ok()) return bad("the host must be an IP address");
  return listen;
}

namespace {

// The flags of audit forwarding to mvirt-log: certificate and key as a
// pair, every file an absolute path, none without --log-endpoint. (The
// endpoint's form is checked when its client is made.)
absl::Status ValidateLogForwarding(const DaemonOptions& o) {
  if (o.log_cert.empty() != o.log_key.empty()) {
    return absl::InvalidArgumentError("--log-cert and --log-key go together");
  }
  for (const auto& [flag, path] : {std::pair{"--log-ca-file", &o.log_ca_file},
                                   {"--log-cert", &o.log_cert},
                                   {"--log-key", &o.log_key}}) {
    if (!path->empty()) {
      if (o.log_endpoint.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(flag, " needs --log-endpoint"));
      }
      if (absl::Status s = ValidateAbsolutePath(flag, *path); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

// Each of `flags` (flag, value) that is given must be an absolute path.
absl::Status ValidateGivenPaths(
    std::initializer_list<std::pair<const char*, const std::string*>> flags) {
  for (const auto& [flag, path] : flags) {
    if (!path->empty()) {
      if (absl::Status s = ValidateAbsolutePath(flag, *path); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

// The flags of replication to other daemons: the CA of their
// certificates, and this node's certificate and key as a pair that needs
// the CA; every file an absolute path.
absl::Status ValidatePeerTls(const DaemonOptions& o) {
  if (o.peer_cert.empty() != o.peer_key.empty()) {
    return absl::InvalidArgumentError("--peer-cert and --peer-key go together");
  }
  if (!o.peer_cert.empty() && o.peer_ca.empty()) {
    return absl::InvalidArgumentError("--peer-cert needs --peer-ca (the CA of the targets)");
  }
  return ValidateGivenPaths(
      {{"--peer-ca", &o.peer_ca}, {"--peer-cert", &o.peer_cert}, {"--peer-key", &o.peer_key}});
}

// The TLS flags: a pair of cert and key, for TCP only; and a non-local
// address only with TLS or an explicit --insecure-listen.
absl::Status ValidateTls(const DaemonOptions& o) {
  const bool unix_socket = absl::StartsWith(o.listen, "unix:");
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (absl::Status s = ValidateGivenPaths({{"--tls-cert", &o.tls_cert},
                                           {"--tls-key", &o.tls_key},
                                           {"--tls-client-ca", &o.tls_client_ca}});
      !s.ok()) {
    return s;
  }
  if (!o.tls_client_ca.empty() && o.tls_cert.empty()) {
    return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (unix_socket && !o.tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert applies to TCP listeners; a unix socket is protected by --socket-mode and "
        "--socket-group");
  }
  if (!IsLocalListenAddress(o.listen) && o.tls_cert.empty() && !o.insecure_listen) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listening on '", o.listen, "' (reachable from other hosts) needs TLS: give --tls-cert ",
        "and --tls-key (and --tls-client-ca for mutual TLS), or --insecure-listen to serve ",
        "anyone who can reach it"));
  }
  return absl::OkStatus();
}

}  // namespace

ParsedCommandLine ParseDaemonCommandLine(const std::vector<std::string>& args) {
  ParsedCommandLine result;
  DaemonOptions& o = result.options;
  std::string log_level = "info";

  CLI::App app{"mvirt-zfs: serves the ZFS volumes of a VM host over gRPC (mvirt.zfs.ZfsService)",
               args.empty() ? "mvirt-zfs" : args[0]};
  app.set_version_flag("--version", MVIRT_ZFS_VERSION);
  app.footer(
      "Setting up a pool: mvirt-zfs pool init --pool NAME DEVICE... creates one with the seed "
      "document's settings (see mvirt-zfs pool init --help). Moving a pool over from the Rust "
      "mvirt-zfs: mvirt-zfs migrate-from-rust --pool NAME [--apply] (see its --help).");
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
  app.add_option("--max-watchers", o.max_watchers,
                 "Watch* streams open at once; more are refused with RESOURCE_EXHAUSTED")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  std::string socket_mode = "0660";
  app.add_option("--socket-mode", socket_mode,
                 "Mode of the unix socket file (octal); callers must also pass the uid check")
      ->capture_default_str();
  app.add_option("--socket-group", o.socket_group,
                 "Group whose members may call, besides root (unix socket and loopback TCP); "
                 "default: root only");
  app.add_option("--tls-cert", o.tls_cert,
                 "Server certificate (PEM) for a TCP listener; re-read when it changes");
  app.add_option("--tls-key", o.tls_key, "Private key (PEM) of --tls-cert");
  app.add_option("--tls-client-ca", o.tls_client_ca,
                 "CA (PEM) that client certificates must chain to: mutual TLS");
  app.add_option("--peer-ca", o.peer_ca,
                 "CA (PEM) that other daemons' certificates must chain to when this daemon "
                 "replicates to them (needed for targets on other hosts)");
  app.add_option("--peer-cert", o.peer_cert,
                 "Certificate (PEM) this daemon shows to replication targets: mutual TLS with "
                 "the node's certificate");
  app.add_option("--peer-key", o.peer_key, "Private key (PEM) of --peer-cert");
  app.add_flag("--insecure-listen", o.insecure_listen,
               "Serve a non-loopback TCP address without TLS (anyone who reaches it may call)");
  app.add_option("--metrics-listen", o.metrics_listen,
                 "Serve Prometheus metrics at http://ADDRESS/metrics: PORT (on 127.0.0.1), "
                 "HOST:PORT or [IPV6]:PORT with an IP address; default: off");
  app.add_option("--log-endpoint", o.log_endpoint,
                 "Also send every audit event to mvirt-log's LogService at https://HOST:PORT "
                 "(or http:// for plaintext); best effort, never delaying a call; default: off");
  app.add_option("--log-ca-file", o.log_ca_file,
                 "CA (PEM) the log service's certificate must chain to (default: system CAs)");
  app.add_option("--log-cert", o.log_cert,
                 "Client certificate (PEM) for the log service: mutual TLS with the node's "
                 "certificates");
  app.add_option("--log-key", o.log_key, "Private key (PEM) of --log-cert");
  app.add_option("--abandon-receive-after", o.abandon_receive_after_seconds,
                 "Seconds an interrupted receive may wait untouched (no ReceiveVolume or "
                 "GetReceiveState of its name) before its partial data is dropped; 0: never")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{10} * 365 * 86400));
  app.add_option("--max-overcommit", o.max_overcommit,
                 "Refuse creates, clones, imports and resizes that would provision more volume "
                 "size than this multiple of the pool's size, e.g. 3.0; 0: no limit")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1000.0));
  app.add_option("--reserve-percent", o.reserve_percent,
                 "Percent of the pool's size that creates, clones, snapshots, imports and "
                 "resizes may not take from its free space (deletes and rollbacks are never "
                 "refused); 0: none")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 90.0));
  app.add_option("--snapshot-policy-interval", o.snapshot_policy_interval_seconds,
                 "Seconds between two looks at the volumes' snapshot policies (what is due is "
                 "taken, what is beyond keep pruned)")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
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
  std::vector<std::string> allow_nets;
  app.add_option("--import-allow-host", im.allow_hosts,
                 "Host name (as in the URL) that https:// imports may fetch from even if it "
                 "resolves to a loopback, link-local, private or otherwise internal address "
                 "(repeatable)");
  app.add_option("--import-allow-net", allow_nets,
                 "Network (CIDR) that https:// imports may connect to although it is internal, "
                 "e.g. 10.1.0.0/16 (repeatable)");

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
  if (status.ok()) status = ValidateTls(o);
  if (status.ok()) status = ValidatePeerTls(o);
  if (status.ok()) status = ValidateLogForwarding(o);
  if (status.ok()) status = ParseSocketMode(socket_mode, o.socket_mode);
  if (status.ok() && !o.metrics_listen.empty()) {
    absl::StatusOr<std::string> metrics = NormalizeMetricsListen(o.metrics_listen);
    status = metrics.status();
    if (metrics.ok()) o.metrics_listen = *metrics;
  }
  for (const std::string& net : allow_nets) {
    if (!status.ok()) break;
    absl::StatusOr<IpNetwork> parsed = ParseIpNetwork(net);
    if (parsed.ok()) {
      im.allow_networks.push_back(*parsed);
    } else {
      status = Annotate(parsed.status(), "--import-allow-net");
    }
  }
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
