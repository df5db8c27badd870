#include "daemon/daemon.h"

#include <grp.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "access/authorizer.h"
#include "access/unix_listener.h"
#include "audit/log_service_client.h"
#include "common/instance_lock.h"
#include "common/log.h"
#include "common/net_address.h"
#include "common/periodic_thread.h"
#include "common/posix_error.h"
#include "common/unique_fd.h"
#include "daemon/memory_release.h"
#include "daemon/metrics_census.h"
#include "daemon/options.h"
#include "daemon/pool_check.h"
#include "daemon/pool_monitor.h"
#include "daemon/systemd_status.h"
#include "daemon/systemd_watchdog.h"
#include "device/measured_zvol_devices.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "import/http_fetch.h"
#include "import/import_manager.h"
#include "metrics/call_metrics_interceptor.h"
#include "metrics/metrics.h"
#include "migrate/migrate_command.h"
#include "pool/pool_init_command.h"
#include "pool/pool_standards.h"
#include "replication/replication_jobs.h"
#include "service/zfs_service.h"
#include "volume/volume_manager.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {
namespace {

// gRPC messages up to this size are accepted from clients (requests are
// small); replies are not limited by the server (ListVolumes of 10,000
// volumes with 10 snapshots each is ~10 MB; clients set their own limit).
constexpr int kMaxRequestBytes = 4 << 20;
// How often TLS certificate files are checked for changes.
constexpr int kTlsRefreshSeconds = 10;
// How often the pool monitor reads the pool's health.
constexpr absl::Duration kPoolCheckInterval = absl::Seconds(2);
// The service name the health service reports besides "" (the server).
constexpr char kServiceName[] = "mvirt.zfs.ZfsService";

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
    LogWarning("pool '", pool_name, "' is ", pool->health,
               ": serving it, but check `zpool status`");
  }
  for (const StandardsFinding& finding : CheckPoolStandards(*pool)) {
    LogWarning(DescribeFinding(pool->name, finding));
  }
  return true;
}

// The gid of group `name`; NOT_FOUND if there is none.
absl::StatusOr<gid_t> LookUpGroup(const std::string& name) {
  std::vector<char> buffer(16384);
  struct group gr;
  struct group* found = nullptr;
  if (::getgrnam_r(name.c_str(), &gr, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return absl::NotFoundError(absl::StrCat("--socket-group '", name, "': no such group"));
  }
  return gr.gr_gid;
}

// OK if nothing listens on TCP address `listen` yet (checked by binding it
// once; gRPC binds it again when serving starts).
absl::Status CheckTcpAddressFree(const std::string& listen) {
  absl::StatusOr<HostPort> hp = ParseHostPort(listen);
  if (!hp.ok()) return hp.status();
  absl::StatusOr<IpAddress> ip = ParseIpAddress(hp->host);
  if (!ip.ok()) return absl::OkStatus();  // a host name: gRPC resolves and binds it
  UniqueFd fd(::socket(ip->v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return PosixError("create a TCP socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage addr = {};
  socklen_t len;
  if (ip->v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(hp->port));
    std::memcpy(&in6->sin6_addr, ip->bytes.data(), 16);
    len = sizeof(*in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(hp->port));
    std::memcpy(&in->sin_addr, ip->bytes.data(), 4);
    len = sizeof(*in);
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    return PosixError(absl::StrCat("listen on ", listen), errno);
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> TcpCredentials(const DaemonOptions& o) {
  if (o.tls_cert.empty()) return grpc::InsecureServerCredentials();
  std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> provider =
      o.tls_client_ca.empty()
          ? std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                o.tls_key, o.tls_cert, kTlsRefreshSeconds)
          : std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                o.tls_key, o.tls_cert, o.tls_client_ca, kTlsRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (o.tls_client_ca.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

// What keeps this the only daemon of its pool and listen address, and the
// unix socket it listens on: taken before any recovery, sweep or bind.
struct Claim {
  std::optional<InstanceLock> pool_lock;
  std::optional<InstanceLock> listen_lock;
  std::unique_ptr<UnixListener> unix_listener;
  AccessPolicy policy;
};

absl::StatusOr<Claim> ClaimInstance(const DaemonOptions& o) {
  Claim claim;
  absl::StatusOr<InstanceLock> pool = InstanceLock::Acquire(InstanceLock::PathFor("pool-" + o.pool),
                                                            absl::StrCat("pool '", o.pool, "'"));
  if (!pool.ok()) return pool.status();
  claim.pool_lock.emplace(std::move(*pool));
  absl::StatusOr<InstanceLock> listen = InstanceLock::Acquire(
      InstanceLock::PathFor("listen-" + o.listen), absl::StrCat("listen address ", o.listen));
  if (!listen.ok()) return listen.status();
  claim.listen_lock.emplace(std::move(*listen));
  if (!o.socket_group.empty()) {
    absl::StatusOr<gid_t> gid = LookUpGroup(o.socket_group);
    if (!gid.ok()) return gid.status();
    claim.policy.group = *gid;
    claim.policy.group_name = o.socket_group;
  }
  if (absl::StartsWith(o.listen, "unix:")) {
    UnixListener::Options unix_options;
    unix_options.path = o.listen.substr(5);
    unix_options.mode = static_cast<mode_t>(o.socket_mode);
    unix_options.group = claim.policy.group;
    absl::StatusOr<std::unique_ptr<UnixListener>> listener = UnixListener::Bind(unix_options);
    if (!listener.ok()) return listener.status();
    claim.unix_listener = std::move(*listener);
  } else if (absl::Status s = CheckTcpAddressFree(o.listen); !s.ok()) {
    return s;
  }
  return claim;
}

// Ends the process if a clean stop takes longer than `timeout`: a call stuck
// in the kernel must not keep a stopping daemon alive past what systemd
// (and the operator) were promised.
void ArmStopDeadline(absl::Duration timeout) {
  std::thread([timeout] {
    absl::SleepFor(timeout);
    LogError("still stopping after ", absl::FormatDuration(timeout),
             " (--shutdown-timeout): exiting now");
    std::fflush(stderr);
    ::_exit(1);
  }).detach();
}

}  // namespace

int RunDaemon(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "pool") {
    return RunPoolCommand(std::vector<std::string>(argv + 1, argv + argc), std::cin, std::cout,
                          std::cerr);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "migrate-from-rust") {
    return RunMigrateCommand(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
  }
  ParsedCommandLine cmd = ParseDaemonCommandLine(std::vector<std::string>(argv, argv + argc));
  if (!cmd.run) {
    std::fputs(cmd.message.c_str(), cmd.exit_code == 0 ? stdout : stderr);
    return cmd.exit_code;
  }
  const DaemonOptions& options = cmd.options;
  TuneMallocForPeaks();  // before any thread starts
  SetLogLevel(options.log_level);
  SetLogToJournal(IsJournalStream(STDERR_FILENO, std::getenv("JOURNAL_STREAM")));

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

  absl::StatusOr<Claim> claim = ClaimInstance(options);
  if (!claim.ok()) {
    LogError(claim.status().message());
    return 1;
  }
  if (options.insecure_listen && !IsLocalListenAddress(options.listen)) {
    LogWarning("--insecure-listen: serving ", options.listen,
               " without TLS; anyone who can reach it may call every RPC");
  }

  absl::StatusOr<std::unique_ptr<Zfs>> zfs = OpenLibZfs();
  if (!zfs.ok()) {
    LogError(zfs.status().message());
    return 1;
  }
  if (!CheckPool(**zfs, options.pool)) return 1;

  // Metrics only when asked for (--metrics-listen): the device waits are
  // timed through MeasuredZvolDevices, every RPC by an interceptor.
  std::unique_ptr<Metrics> metrics;
  if (!options.metrics_listen.empty()) metrics = std::make_unique<Metrics>();
  MeasuredZvolDevices measured_devices(LinuxZvolDevices::Get(),
                                       [&metrics](absl::string_view op, absl::Duration waited) {
                                         if (metrics != nullptr)
                                           metrics->RecordDeviceWait(op, waited);
                                       });

  VolumeManagerOptions volume_options;
  volume_options.pool = options.pool;
  volume_options.device_timeout = absl::Seconds(options.device_timeout_seconds);
  volume_options.publish_snapshot_events_after_return = true;
  volume_options.space = {options.max_overcommit, options.reserve_percent};
  VolumeManager volumes(**zfs, measured_devices, volume_options);
  volumes.CollectGarbage(/*at_startup=*/true);
  InitHttp();
  ImportManager imports(volumes, options.import);
  if (absl::Status s = imports.Recover(); !s.ok()) {
    LogError("cannot start imports: ", s.message());
    return 1;
  }

  const bool on_unix_socket = claim->unix_listener != nullptr;
  std::optional<HostPort> tcp_address;
  if (!on_unix_socket) tcp_address = *ParseHostPort(options.listen);
  Authorizer authorizer(claim->policy, claim->unix_listener.get(), tcp_address);
  ServiceOptions service_options;
  service_options.watch_buffer = static_cast<size_t>(options.watch_buffer);
  service_options.watch_stall_timeout = absl::Seconds(options.watch_stall_timeout_seconds);
  service_options.max_watchers = static_cast<size_t>(options.max_watchers);
  PeerOptions peer_options;
  peer_options.ca_file = options.peer_ca;
  peer_options.cert_file = options.peer_cert;
  peer_options.key_file = options.peer_key;
  ReplicationJobs replications(volumes, imports.template_events(), peer_options);
  // Interrupted receives whose sender never came back.
  std::optional<PeriodicThread> receive_sweeper;
  if (options.abandon_receive_after_seconds > 0) {
    const absl::Duration idle = absl::Seconds(options.abandon_receive_after_seconds);
    receive_sweeper.emplace(
        std::clamp(idle / 4, absl::Seconds(1), absl::Minutes(10)),
        [&volumes, idle] { volumes.SweepAbandonedReceives(idle); },
        PeriodicThread::FirstTick::kAfterInterval);
  }
  // What a large reply left free goes back to the kernel.
  PeriodicThread memory_release(absl::Seconds(kReleaseIntervalSeconds), ReleaseFreeMemory,
                                PeriodicThread::FirstTick::kAfterInterval);
  // The volumes' snapshot schedules (SetSnapshotPolicy).
  PeriodicThread snapshot_scheduler(
      absl::Seconds(options.snapshot_policy_interval_seconds),
      [&volumes, &metrics] {
        const SnapshotPolicyRun run = volumes.RunSnapshotPolicies(absl::Now());
        if (run.taken + run.pruned > 0) {
          LogInfo("snapshot policies: ", run.taken, " taken, ", run.pruned, " pruned");
        }
        if (metrics == nullptr) return;
        metrics->RecordSnapshotPolicy("taken", run.taken);
        metrics->RecordSnapshotPolicy("pruned", run.pruned);
        metrics->RecordSnapshotPolicy("kept_protected", run.kept_protected);
        metrics->RecordSnapshotPolicy("refused", run.refused);
        metrics->RecordSnapshotPolicy("failed", run.failed);
      },
      PeriodicThread::FirstTick::kAfterInterval);
  ZfsServiceImpl service(volumes, imports, replications, authorizer, service_options);
  if (!options.log_endpoint.empty()) {
    LogServiceOptions log_options;
    log_options.endpoint = options.log_endpoint;
    log_options.ca_file = options.log_ca_file;
    log_options.cert_file = options.log_cert;
    log_options.key_file = options.log_key;
    absl::StatusOr<std::unique_ptr<LogServiceClient>> log_service =
        LogServiceClient::Create(std::move(log_options));
    if (!log_service.ok()) {
      LogError(log_service.status().message());
      return 1;
    }
    service.audit_trail().ForwardTo(*std::move(log_service));
    LogInfo("audit events also go to mvirt-log at ", options.log_endpoint);
  }

  // Whether the pool is served, as the pool monitor last found it; for
  // metrics scrapes.
  std::atomic<bool> serving_now{false};
  if (metrics != nullptr) {
    Metrics::Sources sources;
    sources.census = [&volumes, &imports] { return TakeMetricsCensus(volumes, imports); };
    sources.serving = [&serving_now] { return serving_now.load(); };
    sources.subscribers = [&service] { return service.watchers(); };
    sources.audit = [&service] {
      AuditFigures figures;
      figures.log_dropped = service.audit_trail().dropped();
      if (auto forwarding = service.audit_trail().forwarding()) {
        figures.forwarded = forwarding->sent;
        figures.forward_dropped = forwarding->dropped;
        figures.forward_queued = forwarding->queued;
      }
      return figures;
    };
    metrics->SetSources(std::move(sources));
    absl::StatusOr<int> port = metrics->Serve(options.metrics_listen);
    if (!port.ok()) {
      LogError(port.status().message());
      metrics->StopServing();
      return 1;
    }
    LogInfo("metrics on http://",
            options.metrics_listen.substr(0, options.metrics_listen.rfind(':')), ":", *port,
            "/metrics");
  }

  // The standard health service (grpc.health.v1.Health; PoolMonitor sets
  // it) and server reflection, both answered without the access check:
  // they reveal the pool's state and the API, nothing of its volumes.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  // gRPC pings each client every 60 s and drops one that does not answer
  // within 20 s (default: after 2 hours), so that a receive whose sender
  // vanished (a host lost, a half-open connection) ends and frees its
  // volume's lock instead of holding it for hours.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  int bound_port = 0;
  if (!on_unix_socket)
    builder.AddListeningPort(options.listen, TcpCredentials(options), &bound_port);
  builder.RegisterService(&service);
  // Every call passes the audit interceptor (it writes a mutation's audit
  // line when the call ends) and, with metrics, the metrics interceptor.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(NewAuditInterceptorFactory(service.audit_trail()));
  if (metrics != nullptr) creators.push_back(NewCallMetricsInterceptorFactory(*metrics));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || (!on_unix_socket && bound_port == 0)) {
    if (metrics != nullptr) metrics->StopServing();  // before what its scrapes read goes
    LogError("cannot listen on ", options.listen, " (address in use or not available)");
    return 1;
  }
  if (on_unix_socket) claim->unix_listener->Start(server.get());
  LogInfo("mvirt-zfs ", MVIRT_ZFS_VERSION, " serving pool '", options.pool, "' on ", options.listen,
          options.tls_cert.empty() ? "" : " (TLS)",
          options.tls_client_ca.empty() ? "" : " (client certificates required)");
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  std::optional<bool> serving;  // only the monitor's listener uses it
  // STATUS= for systemctl status: the pool's state and its volume count.
  std::optional<SystemdStatus> status;
  status.emplace(
      options.pool,
      [&volumes]() -> absl::StatusOr<uint64_t> {
        absl::StatusOr<PoolStatsInfo> stats = volumes.GetPoolStats();
        if (!stats.ok()) return stats.status();
        return stats->volume_count;
      },
      volumes.volume_events(), kPoolCheckInterval);
  std::optional<PoolMonitor> monitor;
  monitor.emplace(
      **zfs, options.pool, kPoolCheckInterval,
      [&options, health, &serving, &serving_now, &status](const PoolServingState& state) {
        serving_now = state.serving;
        // Health watchers hear of each flip once, not of every change of
        // the reason (gRPC's health service sends every status it is set).
        if (serving != state.serving) {
          // By name: the overload without one sets every
          // service, which would tell kServiceName's watchers twice.
          health->SetServingStatus("", state.serving);
          health->SetServingStatus(kServiceName, state.serving);
          serving = state.serving;
        }
        if (state.serving) {
          LogInfo("pool '", options.pool, "' is ", state.state, ": serving");
        } else {
          LogWarning("pool '", options.pool, "' cannot be served (", state.state,
                     "): health NOT_SERVING");
        }
        status->SetPoolState(state.state);
      });
  // systemd's watchdog hears from the daemon only while its gRPC server
  // answers a health check (through an in-process channel, no socket).
  std::shared_ptr<grpc::Channel> self = server->InProcessChannel(grpc::ChannelArguments());
  std::optional<SystemdWatchdog> watchdog;
  watchdog.emplace([self](absl::Duration deadline) {
    auto health_stub = grpc::health::v1::Health::NewStub(self);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(deadline));
    grpc::health::v1::HealthCheckResponse response;
    return health_stub->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &response).ok();
  });
  sd_notify(0, "READY=1");

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  const absl::Duration timeout = absl::Seconds(options.shutdown_timeout_seconds);
  LogInfo("received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
          ", finishing calls in flight (up to ", absl::FormatDuration(timeout), ")");
  sd_notify(0, "STOPPING=1");
  ArmStopDeadline(timeout);
  watchdog.reset();
  monitor.reset();
  health->Shutdown();  // NOT_SERVING from now on, also to health watchers
  if (on_unix_socket) claim->unix_listener->Stop();  // no new connections
  // Running imports stop and remove their partial data; then the watch
  // streams end now rather than at the deadline.
  imports.Shutdown();
  volumes.CloseEvents();
  // Calls still running when the deadline nears are cancelled; their waits
  // (locks, devices) end with them.
  server->Shutdown(std::chrono::system_clock::now() + absl::ToChronoSeconds(timeout * 0.8));
  server->Wait();
  status.reset();
  if (metrics != nullptr) metrics->StopServing();  // before what its scrapes read goes
  LogInfo("stopped");
  return 0;
}

}  // namespace mvirt::zfs
