#include "zfs_test_env.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace mvirt::zfs::testing {
namespace {

constexpr const char* kPoolFile = "/var/tmp/mvirt-zfs-test-pool.img";
constexpr const char* kSocket = "/run/mvirt-zfs-test.sock";

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

DaemonProcess* g_daemon = nullptr;

constexpr const char* kTlsDir = "/var/tmp/mvirt-zfs-test-tls";

// A CA and a certificate for 127.0.0.1 signed by it, made fresh per run.
void MakeTestCa() {
  const std::string d = kTlsDir;
  MustRun("rm -rf " + d + " && mkdir -p " + d + " && cd " + d +
          " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=mvirt-zfs test CA'"
          " -keyout ca.key -out ca.pem"
          " && openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1'"
          " -keyout server.key -out server.csr"
          " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext"
          " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
          " -days 2 -extfile san.ext -out server.pem");
}

// Creates the pool with the seed's settings and starts the daemon once for
// the whole test binary; destroys both at the end.
class PoolEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    struct stat st;
    ASSERT_EQ(::stat("/dev/zfs", &st), 0)
        << "/dev/zfs is missing: the real-ZFS tests need the zfs kernel module. Run them "
           "with scripts/test.sh, which boots a QEMU guest that has it.";
    Shell(std::string("zpool destroy -f ") + TestPool::kPool + " 2>/dev/null");
    MustRun(std::string("rm -f ") + kPoolFile + " && truncate -s 4G " + kPoolFile);
    MustRun(std::string("zpool create -f -o ashift=12 -o autotrim=on -o cachefile=none ") +
            "-O compression=lz4 -O xattr=sa -O atime=off -m none " + TestPool::kPool + " " +
            kPoolFile);
    MakeTestCa();
    MustRun(std::string("rm -rf ") + kImportDir + " " + HttpsServer::kRoot + " && mkdir -p " +
            kImportDir + " " + HttpsServer::kRoot);
    g_daemon = new DaemonProcess(TestPool::kPool, kSocket);
    ASSERT_TRUE(g_daemon->WaitUntilServing()) << g_daemon->Log();
  }
  void TearDown() override {
    if (g_daemon != nullptr) {
      int status = g_daemon->StopWith(SIGTERM);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "the daemon must exit 0 on SIGTERM; status " << status << "\n"
          << g_daemon->Log();
      EXPECT_EQ(g_daemon->SanitizerReports(), "") << "the shared daemon's sanitizer reports";
      delete g_daemon;
      g_daemon = nullptr;
    }
    Shell(std::string("zpool destroy -f ") + TestPool::kPool);
    ::unlink(kPoolFile);
  }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new PoolEnvironment);

}  // namespace

CommandResult Shell(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen(("{ " + command + "\n} 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string MustRun(const std::string& command) {
  CommandResult r = Shell(command);
  EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.output;
  return r.output;
}

std::string ZfsGet(const std::string& dataset, const std::string& property) {
  return Trim(MustRun("zfs get -Hp -o value " + property + " " + dataset));
}

bool DatasetExists(const std::string& name) {
  return Shell("zfs list -H -o name -t all " + name).exit_code == 0;
}

void DestroyDataset(const std::string& name) {
  for (int attempt = 0; attempt < 20 && DatasetExists(name); ++attempt) {
    if (Shell("zfs destroy -r " + name).exit_code == 0) return;
    // Held snapshots (a replication base) would refuse it every time.
    Shell("for s in $(zfs list -H -o name -t snapshot -r " + name +
          "); do zfs holds -H \"$s\" | cut -f2 | while read -r t; do zfs release \"$t\" \"$s\"; "
          "done; done");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_FALSE(DatasetExists(name)) << "clean-up could not destroy " << name;
}

std::string PoolListing(const std::string& pool) {
  return MustRun("zfs list -H -p -o name,volsize,volblocksize -t all -r -s name " + pool);
}

std::string PoolState(const std::string& pool) {
  static const std::set<std::string> kSpaceAccounting = {
      "used",          "available",         "referenced",           "usedbysnapshots",
      "usedbydataset", "usedbychildren",    "usedbyrefreservation", "written",
      "logicalused",   "logicalreferenced", "compressratio",        "refcompressratio"};
  std::istringstream in(
      MustRun("zfs get -H -p -r -t all -o name,property,value,source all " + pool));
  std::string state;
  for (std::string line; std::getline(in, line);) {
    const size_t tab = line.find('\t');
    const size_t next = line.find('\t', tab + 1);
    if (tab == std::string::npos || next == std::string::npos) continue;
    if (kSpaceAccounting.count(line.substr(tab + 1, next - tab - 1)) != 0) continue;
    state += line + "\n";
  }
  return state;
}

std::string DeviceDatasetName(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char name[256] = {};
  // BLKZNAME, as in OpenZFS sys/fs/zfs.h.
  int rc = ::ioctl(fd, _IOR(0x12, 125, char[256]), name);
  ::close(fd);
  return rc == 0 ? std::string(name) : "";
}

void WriteDevice(const std::string& path, uint64_t offset, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path;
  EXPECT_EQ(::pwrite(fd, data.data(), data.size(), offset), static_cast<ssize_t>(data.size()));
  EXPECT_EQ(::fsync(fd), 0);
  ::close(fd);
}

std::string ReadDevice(const std::string& path, uint64_t offset, size_t length) {
  std::string data(length, '\0');
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << path;
  if (fd < 0) return "";
  EXPECT_EQ(::pread(fd, data.data(), length, offset), static_cast<ssize_t>(length));
  ::close(fd);
  return data;
}

std::string Pattern(char seed, size_t length) {
  std::string data(length, '\0');
  for (size_t i = 0; i < length; ++i) data[i] = static_cast<char>(seed + i * 31 + (i >> 9));
  return data;
}

bool WaitForPath(const std::string& path) {
  for (int i = 0; i < 1000; ++i) {
    if (::access(path.c_str(), F_OK) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string StateDir(const std::string& pool) { return "/var/tmp/mvirt-zfs-test-state-" + pool; }

std::string TestCaFile() { return std::string(kTlsDir) + "/ca.pem"; }

namespace {
HttpsServer* shared_https_server = nullptr;

// Stops the shared HTTPS server when the test program ends. The server
// writes to the test program's stderr, and ctest waits for every process
// holding its output pipe: a server left running after the program's
// last test held ctest until its time limit.
class StopHttpsServerAtEnd : public ::testing::Environment {
 public:
  void TearDown() override {
    delete shared_https_server;
    shared_https_server = nullptr;
  }
};
const ::testing::Environment* const kStopHttpsServerAtEnd =
    ::testing::AddGlobalTestEnvironment(new StopHttpsServerAtEnd);
}  // namespace

HttpsServer& HttpsServer::Get() {
  if (shared_https_server == nullptr) shared_https_server = new HttpsServer();
  return *shared_https_server;
}

HttpsServer::HttpsServer() {
  const std::string script = std::string(MVIRT_TEST_SOURCE_DIR) + "/https_server.py";
  const std::string tls = kTlsDir;
  std::vector<std::string> args = {
      "/usr/bin/python3",  script,  "--root",           kRoot, "--cert",
      tls + "/server.pem", "--key", tls + "/server.key"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (::pipe(out) != 0) return;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  FILE* f = ::fdopen(out[0], "r");
  if (f == nullptr || std::fscanf(f, "PORT %d", &port_) != 1) port_ = 0;
  // Keep the pipe open: the server would die of SIGPIPE on a closed stdout.
  EXPECT_GT(port_, 0) << "the HTTPS test server did not start";
}

HttpsServer::~HttpsServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string HttpsServer::Url(const std::string& path, const std::string& host) const {
  return "https://" + host + ":" + std::to_string(port_) + "/" + path;
}

std::string CliPath() { return MVIRT_CLI_PATH; }
std::string DaemonPath() { return MVIRT_DAEMON_PATH; }

DaemonProcess::DaemonProcess(std::string pool, std::string listen,
                             std::vector<std::string> extra_args,
                             std::vector<std::string> extra_env, std::string binary,
                             std::string output) {
  static int instances = 0;
  log_path_ = "/var/tmp/mvirt-zfs-test-" + pool + "-" + std::to_string(++instances) + ".log";
  if (!output.empty()) log_path_ = output;
  if (listen.rfind("unix:", 0) == 0) listen = listen.substr(5);
  if (!listen.empty() && listen[0] == '/') {
    socket_ = listen;
    endpoint_ = "unix:" + socket_;
  } else {
    endpoint_ = listen;  // HOST:PORT
  }
  // The test settings; a flag in `extra_args` replaces its default.
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"--pool", pool},
      {"--listen", socket_.empty() ? listen : "unix:" + socket_},
      {"--config", "/dev/null"},
      {"--log-level", "debug"},
      {"--state-dir", StateDir(pool)},
      {"--import-dir", kImportDir},
      {"--import-ca-file", TestCaFile()},
      {"--import-max-size", "1G"},
      {"--import-allow-host", HttpsServer::kAllowedHost},
      {"--qemu-img", std::string(MVIRT_TEST_SOURCE_DIR) + "/qemu-img-throttled"}};
  std::vector<std::string> args = {binary.empty() ? DaemonPath() : binary};
  for (const auto& [flag, value] : defaults) {
    if (std::find(extra_args.begin(), extra_args.end(), flag) != extra_args.end()) continue;
    args.push_back(flag);
    args.push_back(value);
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (std::string& e : extra_env) envp.push_back(e.data());
  envp.push_back(nullptr);
  if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
  posix_spawn_file_actions_destroy(&actions);
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) StopWith(SIGKILL);
}

bool DaemonProcess::WaitUntilServing(std::shared_ptr<grpc::ChannelCredentials> credentials) {
  if (pid_ <= 0) return false;
  // Retry connecting every 100 ms: gRPC's default backoff (1 s, growing)
  // would make every start look slow.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  auto channel = grpc::CreateCustomChannel(
      endpoint_, credentials ? credentials : grpc::InsecureChannelCredentials(), args);
  auto stub = ZfsService::NewStub(channel);
  // Generous: a sanitizer build starts slowly in the emulated guest.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    VersionInfo version;
    if (stub->GetVersion(&ctx, GetVersionRequest(), &version).ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int DaemonProcess::StopWith(int signal) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  return WaitForExit();
}

int DaemonProcess::WaitForExit(std::chrono::seconds limit) {
  if (pid_ <= 0) return -1;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  pid_ = -1;
  return status;
}

bool DaemonProcess::Alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
  pid_ = -1;
  return false;
}

std::string DaemonProcess::Log() const {
  if (log_path_.rfind("/dev/", 0) == 0) return "(the daemon's output went to " + log_path_ + ")";
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string DaemonProcess::WaitForLog(const std::string& text, std::chrono::seconds limit) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string log = Log();
  while (log.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log = Log();
  }
  return log;
}

std::string DaemonProcess::SanitizerReports() const {
  std::istringstream in(Log());
  std::string reports;
  bool in_report = false;
  for (std::string line; std::getline(in, line);) {
    const bool starts_report = line.find("WARNING: ThreadSanitizer") != std::string::npos ||
                               line.find("ERROR: AddressSanitizer") != std::string::npos ||
                               line.find("ERROR: LeakSanitizer") != std::string::npos ||
                               line.find("ThreadSanitizer: reported") != std::string::npos ||
                               line.find("runtime error:") != std::string::npos;
    // The daemon's own lines start with an ISO 8601 timestamp ("2026-...").
    const bool daemon_line =
        line.size() > 5 && std::isdigit(static_cast<unsigned char>(line[0])) && line[4] == '-';
    if (starts_report) in_report = true;
    if (daemon_line && !starts_report) in_report = false;
    if (in_report) reports += line + "\n";
  }
  return reports;
}

ScratchPool::ScratchPool(std::string name, const std::string& create_options)
    : name_(std::move(name)), file_("/var/tmp/mvirt-zfs-test-" + name_ + ".img") {
  Shell("zpool destroy -f " + name_ + " 2>/dev/null");
  MustRun("rm -f " + file_ + " && truncate -s 2G " + file_);
  MustRun("zpool create -f -o cachefile=none -m none " + create_options + " " + name_ + " " +
          file_);
}

ScratchPool::~ScratchPool() {
  Shell("zpool destroy -f " + name_);
  ::unlink(file_.c_str());
}

DaemonProcess& TestPool::daemon() { return *g_daemon; }

std::unique_ptr<ZfsService::Stub> TestPool::Stub() {
  return ZfsService::NewStub(
      grpc::CreateChannel(g_daemon->endpoint(), grpc::InsecureChannelCredentials()));
}

}  // namespace mvirt::zfs::testing
