// The environment of the real-ZFS tests (run inside the QEMU guest by
// scripts/test.sh, or on any host with the zfs module): a file-backed pool
// created with the seed's settings, a running mvirt-zfs daemon serving it on
// a unix socket, and helpers to inspect ZFS the way an operator would
// (`zfs get`, /dev/zvol links). The tests never skip: without /dev/zfs they
// fail, saying why.
#ifndef MVIRT_ZFS_TESTS_ZFS_ZFS_TEST_ENV_H_
#define MVIRT_ZFS_TESTS_ZFS_ZFS_TEST_ENV_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "mvirt_zfs.grpc.pb.h"

namespace mvirt::zfs::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` with /bin/sh; returns its exit code and output.
CommandResult Shell(const std::string& command);

// Runs `command` and fails the current test if it does not exit 0.
std::string MustRun(const std::string& command);

// `zfs get -Hp -o value PROPERTY DATASET`, trimmed ("-" for unset).
std::string ZfsGet(const std::string& dataset, const std::string& property);

bool DatasetExists(const std::string& name);

// `zfs destroy -r NAME`, retried for up to 10 s while the dataset is busy
// (udev probes a zvol after every close that followed a write), so that a
// test's clean-up does not leave state for the next test. Nothing if NAME
// does not exist.
void DestroyDataset(const std::string& name);

// Every dataset and snapshot of the pool, one per line, sorted.
std::string PoolListing(const std::string& pool);
// Every property of every dataset and snapshot of `pool` ("zfs get all",
// parsable, one "name property value source" line each) except the space
// accounting ZFS updates by itself as transaction groups sync (used,
// available, referenced, written, ...): what a refused call must leave
// exactly as it was.
std::string PoolState(const std::string& pool);

// BLKZNAME of the device at `path`, or "" if it cannot be read.
std::string DeviceDatasetName(const std::string& path);

// Writes `data` at `offset` of the device at `path` and fsyncs it.
void WriteDevice(const std::string& path, uint64_t offset, const std::string& data);
// Reads `length` bytes at `offset` of the device at `path`.
std::string ReadDevice(const std::string& path, uint64_t offset, size_t length);
// `length` bytes of a pattern that differs for each `seed`.
std::string Pattern(char seed, size_t length);

// Waits up to 10 s for `path` to exist.
bool WaitForPath(const std::string& path);

// The directory every test daemon may import local images from.
inline constexpr char kImportDir[] = "/var/tmp/mvirt-zfs-test-images";
// The --state-dir of the test daemon serving `pool`.
std::string StateDir(const std::string& pool);
// The test's own CA (PEM) that signed the HTTPS test server's certificate;
// every test daemon trusts it (--import-ca-file).
std::string TestCaFile();
// While this file exists, the test daemons' qemu-img (qemu-img-throttled)
// converts at the rate in bytes/s written in it.
inline constexpr char kSlowConvertMarker[] = "/var/tmp/mvirt-zfs-test-slow-convert";

// An HTTPS server on 127.0.0.1 (https_server.py) serving the files of a
// directory with a certificate of the test CA, for the whole test binary.
class HttpsServer {
 public:
  // The shared server; started on first use.
  static HttpsServer& Get();
  // https://<host>:<port>/<path>. Test daemons may fetch from kAllowedHost
  // (--import-allow-host); any other name of this host is refused.
  std::string Url(const std::string& path, const std::string& host = kAllowedHost) const;
  static constexpr const char* kAllowedHost = "localhost";
  // Where the served files live.
  static constexpr const char* kRoot = "/var/tmp/mvirt-zfs-test-www";
  ~HttpsServer();

 private:
  HttpsServer();
  pid_t pid_ = -1;
  int port_ = 0;
};

// Calls `rpc` with `req` and a deadline `within` from now; the reply goes
// to `reply`, or is dropped if that is null.
template <typename Request, typename Reply>
grpc::Status CallWithin(std::chrono::seconds within,
                        grpc::Status (ZfsService::Stub::*rpc)(grpc::ClientContext*, const Request&,
                                                              Reply*),
                        ZfsService::Stub& stub, const Request& req, Reply* reply = nullptr) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + within);
  Reply dropped;
  return (stub.*rpc)(&ctx, req, reply != nullptr ? reply : &dropped);
}

// A daemon process serving `pool` on `listen` (a unix socket path, or
// HOST:PORT), logging to /var/tmp/mvirt-zfs-test-<pool>-<n>.log, with the
// test settings (--state-dir StateDir(pool), --import-dir kImportDir,
// --import-ca-file TestCaFile(), --import-max-size 1G, --import-allow-host
// localhost, the throttleable qemu-img) plus `extra_args`; a flag given in
// `extra_args` replaces its default.
class DaemonProcess {
 public:
  // `extra_env` ("NAME=value") is added to the daemon's environment.
  // `binary` is the daemon to run (default: this build's). `output` is
  // where its stdout and stderr go (default: a log file of its own, which
  // Log() reads; a device such as /dev/full is not read back).
  DaemonProcess(std::string pool, std::string listen, std::vector<std::string> extra_args = {},
                std::vector<std::string> extra_env = {}, std::string binary = "",
                std::string output = "");
  ~DaemonProcess();
  // Waits until the daemon answers GetVersion (true) or exits (false); for
  // a TCP daemon, over plaintext unless `credentials` are given.
  bool WaitUntilServing(std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);
  // Sends `signal` and waits; returns the exit status as from waitpid.
  int StopWith(int signal);
  // Waits for the daemon to exit by itself; returns its status as from
  // waitpid. A daemon still running after `limit` is killed (SIGKILL), so
  // the status then says "killed by signal 9" instead of the test hanging.
  int WaitForExit(std::chrono::seconds limit = std::chrono::seconds(300));
  // True while the daemon runs; false once it has exited (it is then
  // reaped: kill(pid, 0) would still succeed on the zombie).
  bool Alive();
  std::string Log() const;
  // The log once it holds `text` (audit lines are written by the daemon's
  // own thread just after the call returned), or as it is after `limit`.
  std::string WaitForLog(const std::string& text,
                         std::chrono::seconds limit = std::chrono::seconds(10)) const;
  // The sanitizer reports in the log (each ThreadSanitizer warning,
  // AddressSanitizer error or UBSan "runtime error" with its stack), without
  // the daemon's own lines; empty when there are none.
  std::string SanitizerReports() const;
  const std::string& endpoint() const { return endpoint_; }
  pid_t pid() const { return pid_; }

 private:
  std::string socket_;
  std::string endpoint_;
  std::string log_path_;
  pid_t pid_ = -1;
};

// A pool of its own on a 2 GiB sparse file under /var/tmp, for a test that
// runs a daemon of its own (one daemon per pool). `create_options` go to
// `zpool create`; the default is the seed's settings.
class ScratchPool {
 public:
  explicit ScratchPool(std::string name,
                       const std::string& create_options =
                           "-o ashift=12 -o autotrim=on -O compression=lz4 -O xattr=sa "
                           "-O atime=off");
  ~ScratchPool();
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::string file_;
};

// The shared test pool and daemon (a gtest Environment).
struct TestPool {
  static constexpr const char* kPool = "mvtest";
  static DaemonProcess& daemon();
  // A stub connected to the shared daemon.
  static std::unique_ptr<ZfsService::Stub> Stub();
};

// Path of the built mvirt-zfsctl and mvirt-zfs binaries.
std::string CliPath();
std::string DaemonPath();

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_ZFS_ZFS_TEST_ENV_H_
