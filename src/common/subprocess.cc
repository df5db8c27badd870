#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace mvirt::zfs {
namespace {

constexpr size_t kStderrTail = 16 * 1024;

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Sets `resource` to `value` (both limits); 0 leaves it unchanged. Called
// in the child: async-signal-safe.
void SetLimit(int resource, uint64_t value) {
  if (value == 0) return;
  struct rlimit limit = {value, value};
  ::setrlimit(resource, &limit);
}

}  // namespace

std::string FindExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", name);
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

std::string SubprocessResult::Describe() const {
  if (term_signal != 0) return absl::StrCat("killed by signal ", term_signal);
  absl::string_view tail = absl::StripTrailingAsciiWhitespace(stderr_tail);
  size_t last_line = tail.rfind('\n');
  if (last_line != absl::string_view::npos) tail.remove_prefix(last_line + 1);
  if (tail.empty()) return absl::StrCat("exit code ", exit_code);
  return absl::StrCat("exit code ", exit_code, ": ", tail);
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(const SubprocessOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("no program to run");
  const std::string program = FindExecutable(options.argv[0]);
  if (program.empty()) {
    return absl::NotFoundError(absl::StrCat("program '", options.argv[0], "' not found"));
  }
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls are allowed (other threads may hold locks).
  std::vector<char*> argv;
  for (const std::string& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {out[0], out[1], err[0], err[1]}) ::close(fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(e)));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull < 0 || ::dup2(devnull, STDIN_FILENO) < 0 || ::dup2(out[1], STDOUT_FILENO) < 0 ||
        ::dup2(err[1], STDERR_FILENO) < 0) {
      ::_exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the daemon blocks SIGTERM/SIGINT
    ::signal(SIGPIPE, SIG_DFL);
    SetLimit(RLIMIT_AS, options.max_address_space_bytes);
    SetLimit(RLIMIT_CPU, options.max_cpu_seconds);
    SetLimit(RLIMIT_FSIZE, options.max_file_size_bytes);
    ::execve(program.c_str(), argv.data(), environ);
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  return std::unique_ptr<Subprocess>(new Subprocess(pid, out[0], err[0]));
}

Subprocess::~Subprocess() {
  bool running;
  {
    MutexLock lock(&mu_);
    running = !reaped_;
  }
  if (running) {
    Kill();
    Wait([](absl::string_view) {});
  }
  CloseFd(stdout_fd_);
  CloseFd(stderr_fd_);
}

void Subprocess::Kill() {
  MutexLock lock(&mu_);
  if (reaped_) return;  // the pid may belong to someone else by now
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
}

SubprocessResult Subprocess::Wait(const std::function<void(absl::string_view)>& on_stdout) {
  SubprocessResult result;
  char buf[8192];
  while (stdout_fd_ >= 0 || stderr_fd_ >= 0) {
    struct pollfd fds[2] = {{stdout_fd_, POLLIN, 0}, {stderr_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        CloseFd(i == 0 ? stdout_fd_ : stderr_fd_);
        continue;
      }
      if (i == 0) {
        on_stdout(absl::string_view(buf, n));
      } else {
        result.stderr_tail.append(buf, n);
        if (result.stderr_tail.size() > kStderrTail) {
          result.stderr_tail.erase(0, result.stderr_tail.size() - kStderrTail);
        }
      }
    }
  }
  // Wait for the exit without reaping, then reap under mu_: Kill() never
  // signals a pid that may already belong to another process.
  siginfo_t info;
  while (::waitid(P_PID, pid_, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  int status = 0;
  {
    MutexLock lock(&mu_);
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace mvirt::zfs
