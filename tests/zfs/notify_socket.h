// NotifySocket: systemd's side of the sd_notify socket, for tests that start
// the daemon the way systemd does (NOTIFY_SOCKET, WATCHDOG_USEC) and read
// what it reports.
#ifndef MVIRT_ZFS_TESTS_ZFS_NOTIFY_SOCKET_H_
#define MVIRT_ZFS_TESTS_ZFS_NOTIFY_SOCKET_H_

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

namespace mvirt::zfs::testing {

// A bound datagram socket at `path` (replacing a stale one).
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

  // Collects, half a second at a time, until a line equal to `want` has
  // arrived or `limit` passes; the lines that came after `want` in its half
  // second are kept too (none is lost between two calls).
  std::vector<std::string> CollectUntil(const std::string& want, std::chrono::seconds limit) {
    std::vector<std::string> all;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      for (std::string& line : Collect(std::chrono::milliseconds(500))) {
        all.push_back(std::move(line));
      }
      if (std::find(all.begin(), all.end(), want) != all.end()) return all;
    }
    return all;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// How often `line` occurs in `lines`.
inline int Count(const std::vector<std::string>& lines, const std::string& line) {
  return static_cast<int>(std::count(lines.begin(), lines.end(), line));
}

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_ZFS_NOTIFY_SOCKET_H_
