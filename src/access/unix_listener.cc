#include "access/unix_listener.h"

#include <fcntl.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "access/peer_lookup.h"
#include "common/log.h"
#include "common/posix_error.h"

namespace mvirt::zfs {
namespace {

absl::StatusOr<sockaddr_un> SocketAddress(const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("unix socket path '", path,
                                                   "' is too long (at most ",
                                                   sizeof(addr.sun_path) - 1, " bytes)"));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// True if something accepts connections on the socket file `path`.
bool IsLive(const sockaddr_un& addr) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return probe &&
         ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
}

// Clears the way for binding `path`: nothing there, or a stale socket
// (removed). Never removes a live socket or another kind of file.
absl::Status ClearStaleSocket(const std::string& path, const sockaddr_un& addr) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return PosixError(absl::StrCat("stat ", path), errno);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists and is not a socket; it is left alone"));
  }
  if (IsLive(addr)) {
    return absl::FailedPreconditionError(
        absl::StrCat("another server is listening on unix:", path, "; its socket is left alone"));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return PosixError(absl::StrCat("remove the stale socket ", path), errno);
  }
  LogInfo("removed the stale socket ", path, " (nothing listened on it)");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<UnixListener>> UnixListener::Bind(const Options& options) {
  absl::StatusOr<sockaddr_un> addr = SocketAddress(options.path);
  if (!addr.ok()) return addr.status();
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(options.path).parent_path();
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return absl::UnavailableError(absl::StrCat("create ", dir.string(), ": ", ec.message()));
    std::filesystem::permissions(dir, std::filesystem::perms(0755), ec);
  }
  if (absl::Status s = ClearStaleSocket(options.path, *addr); !s.ok()) return s;

  UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket) return PosixError("create a unix socket", errno);
  // Created with no access for anyone, then opened up to exactly the mode
  // and group asked for: no moment in which others may connect.
  mode_t old_umask = ::umask(0777);
  int bound = ::bind(socket.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  int bind_errno = errno;
  ::umask(old_umask);
  if (bound != 0) return PosixError(absl::StrCat("bind unix:", options.path), bind_errno);
  if (::chown(options.path.c_str(), 0, options.group.value_or(0)) != 0 ||
      ::chmod(options.path.c_str(), options.mode) != 0) {
    absl::Status s = PosixError(absl::StrCat("set the owner and mode of ", options.path), errno);
    ::unlink(options.path.c_str());
    return s;
  }
  if (::listen(socket.get(), 128) != 0) {
    absl::Status s = PosixError(absl::StrCat("listen on unix:", options.path), errno);
    ::unlink(options.path.c_str());
    return s;
  }
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC) != 0) return PosixError("create a pipe", errno);
  return std::unique_ptr<UnixListener>(
      new UnixListener(options.path, std::move(socket), UniqueFd(wake[0]), UniqueFd(wake[1])));
}

UnixListener::~UnixListener() { Stop(); }

void UnixListener::Start(grpc::Server* server) {
  thread_ = std::thread([this, server] { AcceptLoop(server); });
}

void UnixListener::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (thread_.joinable()) {
    char byte = 0;
    (void)!::write(wake_write_.get(), &byte, 1);
    thread_.join();
  }
  socket_.Reset();
  ::unlink(path_.c_str());
}

void UnixListener::AcceptLoop(grpc::Server* server) {
  struct pollfd fds[2] = {{socket_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
  while (true) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LogError("unix socket ", path_, ": poll: ", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    int fd = ::accept4(socket_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) continue;
      LogError("unix socket ", path_, ": accept: ", std::strerror(errno));
      if (errno == EMFILE || errno == ENFILE) ::usleep(100 * 1000);  // let descriptors free up
      continue;
    }
    absl::StatusOr<LocalPeer> peer = UnixSocketPeer(fd);
    if (!peer.ok()) {
      LogWarning("unix socket ", path_, ": ", peer.status().message(), "; connection closed");
      ::close(fd);
      continue;
    }
    {
      // gRPC closed any earlier connection on this fd number before the
      // kernel could hand it out again.
      MutexLock lock(&mu_);
      peers_[fd] = *peer;
    }
    grpc::AddInsecureChannelFromFd(server, fd);
  }
}

std::optional<LocalPeer> UnixListener::PeerOf(absl::string_view peer) const {
  int fd = -1;
  if (!absl::ConsumePrefix(&peer, "fd:") || !absl::SimpleAtoi(peer, &fd)) return std::nullopt;
  MutexLock lock(&mu_);
  auto it = peers_.find(fd);
  if (it == peers_.end()) return std::nullopt;
  return it->second;
}

}  // namespace mvirt::zfs
