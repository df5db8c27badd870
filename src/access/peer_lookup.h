// Who is at the other end of a connection, as the kernel knows it.
#ifndef MVIRT_ZFS_ACCESS_PEER_LOOKUP_H_
#define MVIRT_ZFS_ACCESS_PEER_LOOKUP_H_

#include <sys/types.h>

#include "absl/status/statusor.h"
#include "access/access_policy.h"
#include "common/net_address.h"

namespace mvirt::zfs {

// The credentials of the process that connected unix socket `fd`
// (SO_PEERCRED, taken at connect time).
absl::StatusOr<LocalPeer> UnixSocketPeer(int fd);

// The owner (uid) of the client's socket of the established TCP connection
// from `client` to `server` on this host, asked of the kernel by the
// connection's 4-tuple (NETLINK_SOCK_DIAG, inet_diag). NOT_FOUND if no such
// socket exists in this network namespace (the client is gone, or not
// local).
absl::StatusOr<uid_t> TcpClientSocketOwner(const IpAddress& client_ip, int client_port,
                                           const IpAddress& server_ip, int server_port);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_ACCESS_PEER_LOOKUP_H_
