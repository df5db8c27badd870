// Authorizer: decides, for each call, whether its caller may use the daemon,
// from what the kernel or the TLS handshake established, never from what the
// client sends:
//  - unix socket: the connecting process's uid/gid (SO_PEERCRED);
//  - loopback TCP: the owner of the client's socket, found by the
//    connection's 4-tuple (sock_diag);
//  - TLS with a verified client certificate (--tls-client-ca): allowed;
//  - any other network peer: only reachable when the operator chose TLS
//    without client certificates or --insecure-listen: allowed.
// Local peers must be root or in the allowed group (AccessPolicy).
// Thread-safe.
#ifndef MVIRT_ZFS_ACCESS_AUTHORIZER_H_
#define MVIRT_ZFS_ACCESS_AUTHORIZER_H_

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "access/access_policy.h"
#include "access/unix_listener.h"
#include "common/net_address.h"

namespace mvirt::zfs {

// A caller's address as gRPC names it: "ipv4:127.0.0.1:5000",
// "ipv6:[::1]:5000" (also percent-encoded), "fd:7", "unix:...".
struct PeerAddress {
  enum class Kind { kIp, kFd, kOther };
  Kind kind = Kind::kOther;
  IpAddress ip;
  int port = 0;
  int fd = -1;
};
PeerAddress ParsePeerAddress(absl::string_view peer);

class Authorizer {
 public:
  // `unix_listener` (may be null) resolves "fd:" peers; `tcp_server` is the
  // TCP address the daemon listens on (its host is used as the server end
  // of loopback connections when it is a loopback IP), if any.
  Authorizer(AccessPolicy policy, const UnixListener* unix_listener,
             std::optional<HostPort> tcp_server, GroupLookup groups_of = SystemGroupsOf);
  virtual ~Authorizer() = default;

  // Who the caller is ("uid 0 (pid 42) on unix socket", "TLS client
  // 'CN=node-1' at 10.0.0.5:4444"), if it may call; PERMISSION_DENIED
  // saying why not otherwise. (Virtual: in-process tests and fuzzers,
  // whose calls have no peer, substitute their own.)
  virtual absl::StatusOr<std::string> Authorize(const grpc::ServerContextBase& ctx) const;

 private:
  absl::StatusOr<std::string> AuthorizeLocal(const LocalPeer& peer, absl::string_view via) const;

  const AccessPolicy policy_;
  const UnixListener* const unix_listener_;
  const std::optional<HostPort> tcp_server_;
  const GroupLookup groups_of_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_ACCESS_AUTHORIZER_H_
