// IP addresses and what kind of network they belong to: for deciding which
// listen addresses need TLS, which peers are local, and which hosts an image
// import may fetch from. Pure logic, unit-tested.
#ifndef MVIRT_ZFS_COMMON_NET_ADDRESS_H_
#define MVIRT_ZFS_COMMON_NET_ADDRESS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes = {};  // IPv4 in the first 4

  // "127.0.0.1", "::1"
  std::string ToString() const;
  bool operator==(const IpAddress& other) const { return v6 == other.v6 && bytes == other.bytes; }
};

// "127.0.0.1", "::1" or "[::1]". INVALID_ARGUMENT otherwise.
absl::StatusOr<IpAddress> ParseIpAddress(absl::string_view text);

// The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), or
// the address itself.
IpAddress Unmapped(const IpAddress& address);

// Where an address leads. Everything but kPublic reaches this host or its
// own networks.
enum class AddressClass {
  kLoopback,     // 127/8, ::1
  kUnspecified,  // 0.0.0.0, ::  (as a destination: this host)
  kLinkLocal,    // 169.254/16 (cloud metadata services live here), fe80::/10
  kPrivate,      // 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7
  kMulticast,    // 224/4, ff00::/8
  kReserved,     // 0/8, 240/4 and broadcast, and the like
  kPublic,
};

AddressClass ClassifyAddress(const IpAddress& address);

// "loopback", "link-local", ...
absl::string_view AddressClassName(AddressClass c);

// A network in CIDR notation: "10.0.0.0/8", "fd00::/8", "192.0.2.7" (/32).
struct IpNetwork {
  IpAddress base;
  int prefix_length = 0;
  bool Contains(const IpAddress& address) const;
};

absl::StatusOr<IpNetwork> ParseIpNetwork(absl::string_view text);

// host:port, [v6]:port. The host is returned without brackets.
struct HostPort {
  std::string host;
  int port = 0;
};

// INVALID_ARGUMENT unless `text` is HOST:PORT or [IPV6]:PORT with a port in
// 1..65535.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_NET_ADDRESS_H_
