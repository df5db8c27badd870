#include "access/authorizer.h"

#include <grpc/grpc_security_constants.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "access/peer_lookup.h"

namespace mvirt::zfs {
namespace {

// The first value of `property` in the call's auth context, or "".
std::string AuthProperty(const grpc::ServerContextBase& ctx, const char* property) {
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth == nullptr) return "";
  std::vector<grpc::string_ref> values = auth->FindPropertyValues(property);
  return values.empty() ? "" : std::string(values[0].data(), values[0].size());
}

}  // namespace

PeerAddress ParsePeerAddress(absl::string_view peer) {
  PeerAddress out;
  std::string text = absl::StrReplaceAll(
      peer, {{"%5B", "["}, {"%5D", "]"}, {"%3A", ":"}, {"%5b", "["}, {"%5d", "]"}, {"%3a", ":"}});
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "fd:")) {
    if (absl::SimpleAtoi(rest, &out.fd)) out.kind = PeerAddress::Kind::kFd;
    return out;
  }
  if (!absl::ConsumePrefix(&rest, "ipv4:") && !absl::ConsumePrefix(&rest, "ipv6:")) return out;
  absl::StatusOr<HostPort> hp = ParseHostPort(rest);
  if (!hp.ok()) return out;
  absl::StatusOr<IpAddress> ip = ParseIpAddress(hp->host);
  if (!ip.ok()) return out;
  out.kind = PeerAddress::Kind::kIp;
  out.ip = Unmapped(*ip);
  out.port = hp->port;
  return out;
}

Authorizer::Authorizer(AccessPolicy policy, const UnixListener* unix_listener,
                       std::optional<HostPort> tcp_server, GroupLookup groups_of)
    : policy_(std::move(policy)),
      unix_listener_(unix_listener),
      tcp_server_(std::move(tcp_server)),
      groups_of_(std::move(groups_of)) {}

absl::StatusOr<std::string> Authorizer::AuthorizeLocal(const LocalPeer& peer,
                                                       absl::string_view via) const {
  if (absl::Status s = AuthorizeLocalPeer(peer, policy_, groups_of_); !s.ok()) return s;
  return absl::StrCat(DescribePeer(peer), " ", via);
}

absl::StatusOr<std::string> Authorizer::Authorize(const grpc::ServerContextBase& ctx) const {
  const std::string peer_name = ctx.peer();
  const PeerAddress peer = ParsePeerAddress(peer_name);
  if (peer.kind == PeerAddress::Kind::kFd && unix_listener_ != nullptr) {
    std::optional<LocalPeer> local = unix_listener_->PeerOf(peer_name);
    if (local.has_value()) return AuthorizeLocal(*local, "on unix socket");
  }
  if (peer.kind != PeerAddress::Kind::kIp) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot identify the caller (", peer_name, "); access refused"));
  }
  const std::string address = absl::StrCat(peer.ip.ToString(), ":", peer.port);
  // A client certificate that the TLS handshake verified against
  // --tls-client-ca (gRPC's TLS credentials call the transport "tls").
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  const std::string transport = AuthProperty(ctx, GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  if (auth != nullptr && auth->IsPeerAuthenticated() &&
      (transport == "tls" || transport == GRPC_SSL_TRANSPORT_SECURITY_TYPE)) {
    std::string subject = AuthProperty(ctx, GRPC_X509_SUBJECT_PROPERTY_NAME);
    if (!subject.empty()) return absl::StrCat("TLS client '", subject, "' at ", address);
  }
  if (ClassifyAddress(peer.ip) != AddressClass::kLoopback) {
    // Reachable only through TLS without client certificates or
    // --insecure-listen: the operator's choice.
    return absl::StrCat("network client at ", address);
  }
  // Loopback: whoever owns the client's socket.
  IpAddress server;
  absl::StatusOr<IpAddress> listen_ip = tcp_server_ ? ParseIpAddress(tcp_server_->host)
                                                    : absl::InvalidArgumentError("no TCP listener");
  if (listen_ip.ok() && ClassifyAddress(*listen_ip) == AddressClass::kLoopback &&
      Unmapped(*listen_ip).v6 == peer.ip.v6) {
    server = Unmapped(*listen_ip);
  } else {
    server = *ParseIpAddress(peer.ip.v6 ? "::1" : "127.0.0.1");
  }
  const int server_port = tcp_server_ ? tcp_server_->port : 0;
  absl::StatusOr<uid_t> owner = TcpClientSocketOwner(peer.ip, peer.port, server, server_port);
  if (!owner.ok()) {
    return absl::PermissionDeniedError(absl::StrCat("cannot tell which user connected from ",
                                                    address, " (", owner.status().message(),
                                                    "); access refused"));
  }
  LocalPeer local;
  local.uid = *owner;
  return AuthorizeLocal(local, absl::StrCat("on loopback TCP from ", address));
}

}  // namespace mvirt::zfs
