// Fuzz target: the address parsers (src/common/net_address.h), gRPC peer
// names (ParsePeerAddress, src/access/authorizer.h) and the destination
// policy of imports (src/import/destination_policy.h).
//
// Input: lines. Every line goes through every parser. Line 0 is also the
// URL host; the lines from 1 on that parse as a network are the policy's
// allowed networks, the others its allowed hosts. Every address parsed
// from any line is then checked against that policy.
//
// Invariants:
//  - an accepted address has no NUL byte in its text (inet_pton stops at
//    the first NUL: "1.2.3.4\0junk" must not read as 1.2.3.4; finding
//    "ip-nul" for MVIRT_FUZZ_IGNORE), its
//    ToString() parses back to the same address, and classification does
//    not care about IPv4-mapping;
//  - an accepted network contains its own base address;
//  - HOST:PORT: a port in 1..65535, a non-empty host;
//  - a peer of kind kIp is never an IPv4-mapped IPv6 address and has a port;
//  - CheckDestination: OK exactly for public addresses, allowed hosts (any
//    case) and addresses inside allowed networks; else PERMISSION_DENIED,
//    whose message does not name the address (unless the host does).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "access/authorizer.h"
#include "common/net_address.h"
#include "fuzz_util.h"
#include "import/destination_policy.h"

namespace {

using namespace mvirt::zfs;

[[noreturn]] void Fail(const std::string& what) { fuzz::Fail("fuzz_net_address", what); }

std::string Quoted(absl::string_view s) { return absl::StrCat("'", absl::CHexEscape(s), "'"); }

bool IsMapped(const IpAddress& a) {
  if (!a.v6) return false;
  for (int i = 0; i < 10; ++i) {
    if (a.bytes[i] != 0) return false;
  }
  return a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}

void CheckAddress(absl::string_view text, std::vector<IpAddress>& parsed) {
  absl::StatusOr<IpAddress> a = ParseIpAddress(text);
  if (!a.ok()) {
    if (a.status().code() != absl::StatusCode::kInvalidArgument) Fail(a.status().ToString());
    return;
  }
  if (absl::StrContains(text, absl::string_view("\0", 1)) && !fuzz::Ignored("ip-nul")) {
    Fail(absl::StrCat("ParseIpAddress accepted text with a NUL byte: ", Quoted(text), " -> ",
                      a->ToString()));
  }
  const std::string shown = a->ToString();
  absl::StatusOr<IpAddress> again = ParseIpAddress(shown);
  if (!again.ok() || !(*again == *a)) {
    Fail(absl::StrCat("ParseIpAddress(", Quoted(text), ").ToString() = '", shown,
                      "' does not parse back"));
  }
  if (ClassifyAddress(*a) != ClassifyAddress(Unmapped(*a)) || IsMapped(Unmapped(*a))) {
    Fail(absl::StrCat("mapping changes the class of ", shown));
  }
  (void)AddressClassName(ClassifyAddress(*a));
  parsed.push_back(*a);
}

void CheckNetwork(absl::string_view text, std::vector<IpNetwork>* networks) {
  absl::StatusOr<IpNetwork> n = ParseIpNetwork(text);
  if (!n.ok()) {
    if (n.status().code() != absl::StatusCode::kInvalidArgument) Fail(n.status().ToString());
    return;
  }
  const int max = n->base.v6 ? 128 : 32;
  if (n->prefix_length < 0 || n->prefix_length > max) {
    Fail(absl::StrCat("ParseIpNetwork(", Quoted(text), ") prefix ", n->prefix_length));
  }
  if (!n->Contains(n->base))
    Fail(absl::StrCat("network ", Quoted(text), " does not contain its base"));
  if (networks != nullptr) networks->push_back(*n);
}

void CheckHostPort(absl::string_view text) {
  absl::StatusOr<HostPort> hp = ParseHostPort(text);
  if (!hp.ok()) {
    if (hp.status().code() != absl::StatusCode::kInvalidArgument) Fail(hp.status().ToString());
    return;
  }
  // (Host names are not validated here: whoever uses one resolves it.)
  if (hp->port < 1 || hp->port > 65535 || hp->host.empty()) {
    Fail(absl::StrCat("ParseHostPort(", Quoted(text), ") = ", Quoted(hp->host), ":", hp->port));
  }
}

void CheckPeer(absl::string_view text) {
  PeerAddress p = ParsePeerAddress(text);
  if (p.kind == PeerAddress::Kind::kIp && (IsMapped(p.ip) || p.port < 1 || p.port > 65535)) {
    Fail(
        absl::StrCat("ParsePeerAddress(", Quoted(text), ") = ", p.ip.ToString(), " port ", p.port));
  }
}

void CheckPolicy(const DestinationPolicy& policy, absl::string_view host, const IpAddress& a) {
  bool expected = ClassifyAddress(a) == AddressClass::kPublic;
  for (const std::string& h : policy.allowed_hosts)
    expected = expected || absl::EqualsIgnoreCase(h, host);
  for (const IpNetwork& n : policy.allowed_networks) expected = expected || n.Contains(a);
  absl::Status s = CheckDestination(policy, host, a);
  if (s.ok() != expected) {
    Fail(absl::StrCat("CheckDestination(", Quoted(host), ", ", a.ToString(), ") = ", s.ToString()));
  }
  if (s.ok()) return;
  if (s.code() != absl::StatusCode::kPermissionDenied) Fail(s.ToString());
  const std::string shown = a.ToString();
  if (absl::StrContains(s.message(), shown) && !absl::StrContains(host, shown)) {
    Fail(absl::StrCat("CheckDestination's refusal names the address: ", s.message()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return -1;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> lines = absl::StrSplit(input, '\n');
  if (lines.size() > 32) return -1;

  DestinationPolicy policy;
  std::vector<IpAddress> addresses;
  for (size_t i = 0; i < lines.size(); ++i) {
    CheckAddress(lines[i], addresses);
    const size_t before = policy.allowed_networks.size();
    CheckNetwork(lines[i], i > 0 ? &policy.allowed_networks : nullptr);
    if (i > 0 && policy.allowed_networks.size() == before) {
      policy.allowed_hosts.emplace_back(lines[i]);
    }
    CheckHostPort(lines[i]);
    CheckPeer(lines[i]);
  }
  for (const IpAddress& a : addresses) {
    CheckPolicy(policy, lines[0], a);
    CheckPolicy(DestinationPolicy{}, lines[0], a);
  }
  return 0;
}
