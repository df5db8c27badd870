#include "common/net_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mvirt::zfs {
namespace {

bool InV4(const IpAddress& a, uint8_t b0, uint8_t b1, int prefix) {
  uint32_t addr = (uint32_t{a.bytes[0]} << 24) | (uint32_t{a.bytes[1]} << 16) |
                  (uint32_t{a.bytes[2]} << 8) | a.bytes[3];
  uint32_t net = (uint32_t{b0} << 24) | (uint32_t{b1} << 16);
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return (addr & mask) == (net & mask);
}

}  // namespace

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof(buf));
  return buf;
}

absl::StatusOr<IpAddress> ParseIpAddress(absl::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  std::string s(text);
  IpAddress a;
  // inet_pton would stop at a NUL and read "1.2.3.4\0junk" as 1.2.3.4.
  if (s.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("an IP address may not contain a NUL byte");
  }
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.v6 = true;
    return a;
  }
  return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not an IP address"));
}

IpAddress Unmapped(const IpAddress& a) {
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!a.v6 || std::memcmp(a.bytes.data(), kMappedPrefix, 12) != 0) return a;
  IpAddress v4;
  std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.bytes.begin());
  return v4;
}

AddressClass ClassifyAddress(const IpAddress& address) {
  const IpAddress a = Unmapped(address);
  if (!a.v6) {
    if (InV4(a, 127, 0, 8)) return AddressClass::kLoopback;
    if (a.bytes[0] == 0 && a.bytes[1] == 0 && a.bytes[2] == 0 && a.bytes[3] == 0) {
      return AddressClass::kUnspecified;
    }
    if (InV4(a, 0, 0, 8)) return AddressClass::kReserved;
    if (InV4(a, 169, 254, 16)) return AddressClass::kLinkLocal;
    if (InV4(a, 10, 0, 8) || InV4(a, 172, 16, 12) || InV4(a, 192, 168, 16) ||
        InV4(a, 100, 64, 10)) {
      return AddressClass::kPrivate;
    }
    if (InV4(a, 224, 0, 4)) return AddressClass::kMulticast;
    if (InV4(a, 240, 0, 4)) return AddressClass::kReserved;  // includes 255.255.255.255
    return AddressClass::kPublic;
  }
  const auto& b = a.bytes;
  bool all_zero_but_last = std::all_of(b.begin(), b.end() - 1, [](uint8_t x) { return x == 0; });
  if (all_zero_but_last && b[15] == 1) return AddressClass::kLoopback;
  if (all_zero_but_last && b[15] == 0) return AddressClass::kUnspecified;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressClass::kLinkLocal;
  if ((b[0] & 0xfe) == 0xfc) return AddressClass::kPrivate;  // unique local, incl. fd00:ec2::254
  if (b[0] == 0xff) return AddressClass::kMulticast;
  if (all_zero_but_last || (b[0] == 0 && b[1] == 0)) return AddressClass::kReserved;  // ::/16 rest
  return AddressClass::kPublic;
}

absl::string_view AddressClassName(AddressClass c) {
  switch (c) {
    case AddressClass::kLoopback:
      return "loopback";
    case AddressClass::kUnspecified:
      return "unspecified (this host)";
    case AddressClass::kLinkLocal:
      return "link-local (incl. cloud metadata services)";
    case AddressClass::kPrivate:
      return "private";
    case AddressClass::kMulticast:
      return "multicast";
    case AddressClass::kReserved:
      return "reserved";
    case AddressClass::kPublic:
      return "public";
  }
  return "unknown";
}

bool IpNetwork::Contains(const IpAddress& address) const {
  const IpAddress a = base.v6 ? address : Unmapped(address);
  if (a.v6 != base.v6) return false;
  int full = prefix_length / 8;
  if (!std::equal(a.bytes.begin(), a.bytes.begin() + full, base.bytes.begin())) return false;
  int rest = prefix_length % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (base.bytes[full] & mask);
}

absl::StatusOr<IpNetwork> ParseIpNetwork(absl::string_view text) {
  auto invalid = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a network: use CIDR notation, e.g. 10.1.0.0/16 or fd00::/8"));
  };
  size_t slash = text.find('/');
  absl::StatusOr<IpAddress> base = ParseIpAddress(text.substr(0, slash));
  if (!base.ok()) return invalid();
  IpNetwork net{*base, base->v6 ? 128 : 32};
  if (slash != absl::string_view::npos &&
      (!absl::SimpleAtoi(text.substr(slash + 1), &net.prefix_length) || net.prefix_length < 0 ||
       net.prefix_length > (base->v6 ? 128 : 32))) {
    return invalid();
  }
  return net;
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text) {
  auto invalid = [&] {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not HOST:PORT or [IPV6]:PORT"));
  };
  size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return invalid();
  HostPort hp;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &hp.port) || hp.port <= 0 || hp.port > 65535) {
    return invalid();
  }
  absl::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return invalid();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != absl::string_view::npos) {
    return invalid();  // an IPv6 address needs brackets
  }
  hp.host = std::string(host);
  return hp;
}

}  // namespace mvirt::zfs
