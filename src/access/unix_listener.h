// UnixListener: the daemon's unix socket, accepted here rather than by gRPC
// so that every connection's peer credentials (SO_PEERCRED) are known. Each
// accepted connection is handed to the gRPC server
// (grpc::AddInsecureChannelFromFd), which names its peer "fd:<n>"; PeerOf
// maps that name back to the credentials taken at accept time.
#ifndef MVIRT_ZFS_ACCESS_UNIX_LISTENER_H_
#define MVIRT_ZFS_ACCESS_UNIX_LISTENER_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "access/access_policy.h"
#include "common/mutex.h"
#include "common/unique_fd.h"

namespace mvirt::zfs {

class UnixListener {
 public:
  struct Options {
    std::string path;            // absolute
    mode_t mode = 0660;          // of the socket file
    std::optional<gid_t> group;  // its group (else root's)
  };

  // Creates the listening socket file at options.path (and its directory,
  // 0755, if missing), owned by root and options.group, with options.mode.
  // A live socket there (a daemon answers connect()) is never touched:
  // FAILED_PRECONDITION. A stale one (no listener) is replaced; any other
  // kind of file: FAILED_PRECONDITION.
  static absl::StatusOr<std::unique_ptr<UnixListener>> Bind(const Options& options);

  ~UnixListener();  // Stop()

  // Accepts connections on a thread of its own and hands them to `server`.
  void Start(grpc::Server* server);

  // Stops accepting and removes the socket file. Connections already
  // accepted stay with the server.
  void Stop();

  // The credentials of the connection gRPC calls `peer` ("fd:12"), if it was
  // accepted here.
  std::optional<LocalPeer> PeerOf(absl::string_view peer) const;

  const std::string& path() const { return path_; }

 private:
  UnixListener(std::string path, UniqueFd socket, UniqueFd wake_read, UniqueFd wake_write)
      : path_(std::move(path)),
        socket_(std::move(socket)),
        wake_read_(std::move(wake_read)),
        wake_write_(std::move(wake_write)) {}
  void AcceptLoop(grpc::Server* server);

  const std::string path_;
  UniqueFd socket_;
  UniqueFd wake_read_, wake_write_;  // a pipe that ends the accept loop
  std::thread thread_;
  bool stopped_ = false;
  mutable Mutex mu_;
  std::map<int, LocalPeer> peers_ ABSL_GUARDED_BY(mu_);  // by the fd gRPC serves
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_ACCESS_UNIX_LISTENER_H_
