// The connection from this daemon to another mvirt-zfs daemon (the target
// of a replication): a gRPC channel, over mutual TLS for a network address.
#ifndef MVIRT_ZFS_REPLICATION_PEER_CHANNEL_H_
#define MVIRT_ZFS_REPLICATION_PEER_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace mvirt::zfs {

// How this daemon authenticates to a target and checks it (PEM files).
struct PeerOptions {
  // The CA the target's server certificate must chain to; its name must
  // match the target's host.
  std::string ca_file;
  // This daemon's own certificate and key, shown to the target (which
  // requires one with --tls-client-ca): the node's certificate.
  std::string cert_file;
  std::string key_file;
};

// A channel to the daemon at `target`: "unix:/absolute/path" (plaintext: a
// local socket), or "HOST:PORT" over TLS checked against options.ca_file,
// with this daemon's certificate if options give one. A loopback HOST
// ("localhost", 127.0.0.0/8, [::1]) without ca_file is plaintext.
// INVALID_ARGUMENT for a malformed target, FAILED_PRECONDITION for a
// network target without ca_file, or a file that cannot be read.
// Connecting is lazy: an unreachable target shows in the first call.
absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectPeer(const std::string& target,
                                                           const PeerOptions& options);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_REPLICATION_PEER_CHANNEL_H_
