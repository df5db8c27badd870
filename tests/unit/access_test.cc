// The access decisions: who may call, from what the kernel says about the
// peer; how gRPC peer names are read; which import destinations are allowed.
#include <gtest/gtest.h>

#include "access/access_policy.h"
#include "access/authorizer.h"
#include "import/destination_policy.h"

namespace mvirt::zfs {
namespace {

constexpr gid_t kMvirt = 990;

std::vector<gid_t> GroupsOf(uid_t uid) {
  if (uid == 1000) return {1000, kMvirt};  // a member through a supplementary group
  return {uid};
}

AccessPolicy GroupPolicy() {
  AccessPolicy policy;
  policy.group = kMvirt;
  policy.group_name = "mvirt";
  return policy;
}

TEST(AccessPolicy, RootAlwaysOthersOnlyThroughTheGroup) {
  LocalPeer root{0, 0, 1};
  EXPECT_TRUE(AuthorizeLocalPeer(root, AccessPolicy{}, GroupsOf).ok());
  EXPECT_TRUE(AuthorizeLocalPeer(root, GroupPolicy(), GroupsOf).ok());

  LocalPeer nobody{65534, 65534, 42};
  absl::Status s = AuthorizeLocalPeer(nobody, AccessPolicy{}, GroupsOf);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("uid 65534 (pid 42)"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("--socket-group"), absl::string_view::npos) << s;
  s = AuthorizeLocalPeer(nobody, GroupPolicy(), GroupsOf);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("group 'mvirt'"), absl::string_view::npos) << s;

  LocalPeer primary{2000, kMvirt, 0};  // the group is its primary group
  EXPECT_TRUE(AuthorizeLocalPeer(primary, GroupPolicy(), GroupsOf).ok());
  LocalPeer supplementary{1000, 1000, 0};
  EXPECT_TRUE(AuthorizeLocalPeer(supplementary, GroupPolicy(), GroupsOf).ok());
  EXPECT_FALSE(AuthorizeLocalPeer(supplementary, AccessPolicy{}, GroupsOf).ok())
      << "no group configured: root only";
  LocalPeer tcp_peer{1000, std::nullopt, 0};  // loopback TCP: the uid only
  EXPECT_TRUE(AuthorizeLocalPeer(tcp_peer, GroupPolicy(), GroupsOf).ok());
}

TEST(AccessPolicy, SystemGroupsOfRootIncludeItsPrimaryGroup) {
  std::vector<gid_t> groups = SystemGroupsOf(0);
  EXPECT_NE(std::find(groups.begin(), groups.end(), 0u), groups.end());
  EXPECT_TRUE(SystemGroupsOf(4000000000u).empty()) << "an unknown user has no groups";
}

TEST(PeerAddress, ReadsGrpcPeerNames) {
  PeerAddress p = ParsePeerAddress("ipv4:127.0.0.1:5000");
  EXPECT_EQ(p.kind, PeerAddress::Kind::kIp);
  EXPECT_EQ(p.ip.ToString(), "127.0.0.1");
  EXPECT_EQ(p.port, 5000);
  p = ParsePeerAddress("ipv6:[::1]:6000");
  EXPECT_EQ(p.kind, PeerAddress::Kind::kIp);
  EXPECT_EQ(p.ip.ToString(), "::1");
  EXPECT_EQ(p.port, 6000);
  p = ParsePeerAddress("ipv6:%5B::ffff:127.0.0.1%5D:7000");
  EXPECT_EQ(p.kind, PeerAddress::Kind::kIp);
  EXPECT_EQ(p.ip.ToString(), "127.0.0.1") << "mapped v4 is read as v4";
  p = ParsePeerAddress("fd:12");
  EXPECT_EQ(p.kind, PeerAddress::Kind::kFd);
  EXPECT_EQ(p.fd, 12);
  for (const char* other : {"unix:/run/x.sock", "unix:", "fd:x", "ipv4:1.2.3.4", "", "ipv4:x:1"}) {
    EXPECT_EQ(ParsePeerAddress(other).kind, PeerAddress::Kind::kOther) << other;
  }
}

TEST(DestinationPolicy, InternalAddressesOnlyWhenAllowed) {
  DestinationPolicy none;
  EXPECT_TRUE(CheckDestination(none, "images.example", *ParseIpAddress("93.184.216.34")).ok());
  for (const char* inside : {"127.0.0.1", "::1", "169.254.169.254", "10.0.0.5", "fd00:ec2::254",
                             "0.0.0.0", "::ffff:192.168.1.1"}) {
    absl::Status s = CheckDestination(none, "evil.example", *ParseIpAddress(inside));
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << inside;
    EXPECT_NE(s.message().find("--import-allow-host evil.example"), absl::string_view::npos) << s;
    EXPECT_EQ(s.message().find(inside), absl::string_view::npos) << "the address is not shown";
  }
  DestinationPolicy allowed;
  allowed.allowed_hosts = {"Mirror.LAN"};
  allowed.allowed_networks = {*ParseIpNetwork("10.1.0.0/16")};
  EXPECT_TRUE(CheckDestination(allowed, "mirror.lan", *ParseIpAddress("192.168.7.7")).ok());
  EXPECT_TRUE(CheckDestination(allowed, "other.lan", *ParseIpAddress("10.1.9.9")).ok());
  EXPECT_FALSE(CheckDestination(allowed, "other.lan", *ParseIpAddress("10.2.9.9")).ok());
  EXPECT_FALSE(CheckDestination(allowed, "other.lan", *ParseIpAddress("127.0.0.1")).ok());
}

}  // namespace
}  // namespace mvirt::zfs
