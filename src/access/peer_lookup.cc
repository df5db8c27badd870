#include "access/peer_lookup.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"
#include "common/unique_fd.h"

namespace mvirt::zfs {

absl::StatusOr<LocalPeer> UnixSocketPeer(int fd) {
  struct ucred cred = {};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return PosixError("read the peer credentials of a unix socket (SO_PEERCRED)", errno);
  }
  LocalPeer peer;
  peer.uid = cred.uid;
  peer.gid = cred.gid;
  peer.pid = cred.pid;
  return peer;
}

absl::StatusOr<uid_t> TcpClientSocketOwner(const IpAddress& client_ip, int client_port,
                                           const IpAddress& server_ip, int server_port) {
  const IpAddress client = Unmapped(client_ip);
  const IpAddress server = Unmapped(server_ip);
  if (client.v6 != server.v6) {
    return absl::InvalidArgumentError("client and server addresses of different families");
  }
  UniqueFd nl(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!nl) return PosixError("open a NETLINK_SOCK_DIAG socket", errno);

  struct {
    struct nlmsghdr header;
    struct inet_diag_req_v2 request;
  } message = {};
  message.header.nlmsg_len = sizeof(message);
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST;  // one socket, by its 4-tuple
  message.request.sdiag_family = client.v6 ? AF_INET6 : AF_INET;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = ~0u;
  // From the client socket's point of view: its own end is the source.
  message.request.id.idiag_sport = htons(static_cast<uint16_t>(client_port));
  message.request.id.idiag_dport = htons(static_cast<uint16_t>(server_port));
  const size_t length = client.v6 ? 16 : 4;
  std::memcpy(message.request.id.idiag_src, client.bytes.data(), length);
  std::memcpy(message.request.id.idiag_dst, server.bytes.data(), length);
  message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  if (::send(nl.get(), &message, sizeof(message), 0) < 0) {
    return PosixError("query the kernel for a TCP socket (sock_diag)", errno);
  }
  alignas(struct nlmsghdr) char buffer[8192];
  ssize_t n = ::recv(nl.get(), buffer, sizeof(buffer), 0);
  if (n < 0) return PosixError("read the kernel's answer about a TCP socket (sock_diag)", errno);
  auto* reply = reinterpret_cast<struct nlmsghdr*>(buffer);
  if (!NLMSG_OK(reply, static_cast<unsigned>(n))) {
    return absl::InternalError("sock_diag: malformed answer");
  }
  if (reply->nlmsg_type == NLMSG_ERROR) {
    auto* error = static_cast<struct nlmsgerr*>(NLMSG_DATA(reply));
    if (error->error == -ENOENT) {
      return absl::NotFoundError(absl::StrCat("no local TCP socket ", client.ToString(), ":",
                                              client_port, " -> ", server.ToString(), ":",
                                              server_port));
    }
    return PosixError("sock_diag lookup of a TCP socket", -error->error);
  }
  if (reply->nlmsg_type != SOCK_DIAG_BY_FAMILY)
    return absl::InternalError("sock_diag: unexpected answer");
  auto* found = static_cast<struct inet_diag_msg*>(NLMSG_DATA(reply));
  return static_cast<uid_t>(found->idiag_uid);
}

}  // namespace mvirt::zfs
