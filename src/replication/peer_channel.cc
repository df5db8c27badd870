#include "replication/peer_channel.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/net_address.h"

namespace mvirt::zfs {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& what, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read the ", what, " ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  absl::StatusOr<IpAddress> ip = ParseIpAddress(host);
  return ip.ok() && ClassifyAddress(Unmapped(*ip)) == AddressClass::kLoopback;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectPeer(const std::string& target,
                                                           const PeerOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 << 20);
  if (absl::StartsWith(target, "unix:")) {
    if (!absl::StartsWith(target, "unix:/")) {
      return absl::InvalidArgumentError(
          absl::StrCat("target '", target, "': a unix socket target needs an absolute path"));
    }
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }
  const size_t colon = target.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(target.substr(colon + 1), &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target '", target, "': expected HOST:PORT or unix:/path of an mvirt-zfs daemon"));
  }
  const std::string host = target.substr(0, colon);
  if (options.ca_file.empty()) {
    if (IsLoopbackHost(host)) {
      return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "target '", target, "': a daemon on another host is reached over TLS only; start ",
        "this daemon with --peer-ca (and its --tls-cert/--tls-key as its identity)"));
  }
  grpc::SslCredentialsOptions tls;
  absl::StatusOr<std::string> ca = ReadPem("peer CA", options.ca_file);
  if (!ca.ok()) return ca.status();
  tls.pem_root_certs = *ca;
  if (!options.cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadPem("certificate", options.cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem("key", options.key_file);
    if (!key.ok()) return key.status();
    tls.pem_cert_chain = *cert;
    tls.pem_private_key = *key;
  }
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(tls), args);
}

}  // namespace mvirt::zfs
