// Subprocess: runs a program with its output read through pipes, in its own
// process group, under resource limits, killable from another thread. For
// the few external tools mvirt-zfs uses (qemu-img); never for zfs/zpool.
#ifndef MVIRT_ZFS_COMMON_SUBPROCESS_H_
#define MVIRT_ZFS_COMMON_SUBPROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/mutex.h"

namespace mvirt::zfs {

struct SubprocessOptions {
  // argv[0] is looked up in PATH unless it contains a '/'.
  std::vector<std::string> argv;
  // Limits applied in the child before exec; 0 leaves a limit unchanged.
  uint64_t max_address_space_bytes = 0;  // RLIMIT_AS
  uint64_t max_cpu_seconds = 0;          // RLIMIT_CPU
  uint64_t max_file_size_bytes = 0;      // RLIMIT_FSIZE (a larger write: SIGXFSZ)
};

// The executable `name` resolves to: `name` itself if it contains a '/'
// (and is executable), else the first executable regular file of that name
// in PATH. "" if none.
std::string FindExecutable(const std::string& name);

// How a finished subprocess ended.
struct SubprocessResult {
  int exit_code = -1;       // -1 if it was killed by a signal
  int term_signal = 0;      // the signal, if it was
  std::string stderr_tail;  // the last 16 KiB it wrote to stderr

  bool ok() const { return exit_code == 0; }
  // "exit code 1: <stderr, last line>" or "killed by signal 9".
  std::string Describe() const;
};

class Subprocess {
 public:
  // Starts the program with stdin from /dev/null. The child gets SIGKILL if
  // the calling thread ends first (e.g. the daemon dies), so it never
  // outlives the work it was started for. NOT_FOUND if the program is not
  // found, INTERNAL if it cannot be started.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const SubprocessOptions& options);

  ~Subprocess();  // kills and reaps a child still running
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Reads the child's output until it exits, passing each piece of stdout
  // to `on_stdout` as it arrives, then reaps it. Call once, from one thread.
  SubprocessResult Wait(const std::function<void(absl::string_view)>& on_stdout);

  // Sends SIGKILL to the child's process group (the child and anything it
  // started). Thread-safe; a no-op once the child is reaped.
  void Kill();

  pid_t pid() const { return pid_; }

 private:
  Subprocess(pid_t pid, int stdout_fd, int stderr_fd)
      : pid_(pid), stdout_fd_(stdout_fd), stderr_fd_(stderr_fd) {}

  const pid_t pid_;
  int stdout_fd_;
  int stderr_fd_;
  Mutex mu_;
  bool reaped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_SUBPROCESS_H_
