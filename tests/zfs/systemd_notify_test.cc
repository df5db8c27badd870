// Real-ZFS test of what the daemon tells systemd (Type=notify, WatchdogSec=)
// through a stand-in for systemd's notify socket: the test binds the
// datagram socket, starts the daemon with NOTIFY_SOCKET and WATCHDOG_USEC as
// systemd would, and reads each message: STATUS= with the pool's state,
// READY=1 once serving, WATCHDOG=1 every half interval while the daemon
// serves (and not while it is frozen), STOPPING=1 at SIGTERM.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

// systemd's side of the notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

  // Every line of every message that arrives within `window`.
  std::vector<std::string> Collect(std::chrono::milliseconds window) {
    std::vector<std::string> lines;
    const auto end = std::chrono::steady_clock::now() + window;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      timeval tv = {static_cast<time_t>(left.count() / 1000000),
                    static_cast<suseconds_t>(left.count() % 1000000)};
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      std::string message(buf, n);
      size_t start = 0;
      while (start < message.size()) {
        size_t nl = message.find('\n', start);
        if (nl == std::string::npos) nl = message.size();
        lines.push_back(message.substr(start, nl - start));
        start = nl + 1;
      }
    }
    return lines;
  }

  // Collects until a line equal to `want` arrives or `limit` passes.
  std::vector<std::string> CollectUntil(const std::string& want, std::chrono::seconds limit) {
    std::vector<std::string> all;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      for (std::string& line : Collect(std::chrono::milliseconds(500))) {
        all.push_back(std::move(line));
        if (all.back() == want) return all;
      }
    }
    return all;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

int Count(const std::vector<std::string>& lines, const std::string& line) {
  return static_cast<int>(std::count(lines.begin(), lines.end(), line));
}

TEST(SystemdNotify, ReadyStatusWatchdogAndStoppingAsSystemdSeesThem) {
  ScratchPool pool("mvnotify");
  NotifySocket notify("/run/mvirt-zfs-test-notify.sock");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-notify.sock", {},
                       {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=2000000"});
  std::vector<std::string> start = notify.CollectUntil("READY=1", std::chrono::seconds(120));
  ASSERT_THAT(start, Contains("READY=1")) << daemon.Log();
  EXPECT_THAT(start, Contains("STATUS=pool mvnotify: ONLINE"));
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();

  // WatchdogSec=2: a ping every second while the daemon serves.
  std::vector<std::string> serving = notify.Collect(std::chrono::seconds(5));
  EXPECT_GE(Count(serving, "WATCHDOG=1"), 3) << daemon.Log();

  // The pool gone: the state changes, the daemon still serves (health
  // NOT_SERVING), so it keeps pinging: systemd must not restart a daemon
  // for its pool.
  MustRun("zpool export -f " + pool.name());
  std::vector<std::string> exported = notify.Collect(std::chrono::seconds(8));
  EXPECT_THAT(exported, Contains(HasSubstr("STATUS=pool mvnotify: ")));
  EXPECT_THAT(exported, ::testing::Not(Contains("STATUS=pool mvnotify: ONLINE")));
  EXPECT_GE(Count(exported, "WATCHDOG=1"), 4) << daemon.Log();
  MustRun("zpool import -d /var/tmp -o cachefile=none " + pool.name());
  std::vector<std::string> back =
      notify.CollectUntil("STATUS=pool mvnotify: ONLINE", std::chrono::seconds(30));
  EXPECT_THAT(back, Contains("STATUS=pool mvnotify: ONLINE"));

  // A frozen daemon does not ping (systemd would restart it).
  ASSERT_EQ(::kill(daemon.pid(), SIGSTOP), 0);
  notify.Collect(std::chrono::milliseconds(300));  // what was in flight
  std::vector<std::string> frozen = notify.Collect(std::chrono::seconds(4));
  EXPECT_EQ(Count(frozen, "WATCHDOG=1"), 0);
  ASSERT_EQ(::kill(daemon.pid(), SIGCONT), 0);
  std::vector<std::string> thawed = notify.Collect(std::chrono::seconds(4));
  EXPECT_GE(Count(thawed, "WATCHDOG=1"), 2);

  ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
  std::vector<std::string> stopping = notify.CollectUntil("STOPPING=1", std::chrono::seconds(60));
  EXPECT_THAT(stopping, Contains("STOPPING=1"));
  const int status = daemon.WaitForExit(std::chrono::seconds(60));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << daemon.Log();
  EXPECT_EQ(daemon.SanitizerReports(), "");
}

}  // namespace
}  // namespace mvirt::zfs::testing
