#include "common/net_address.h"

#include <gtest/gtest.h>

namespace mvirt::zfs {
namespace {

AddressClass Classify(const char* text) {
  absl::StatusOr<IpAddress> ip = ParseIpAddress(text);
  EXPECT_TRUE(ip.ok()) << text;
  return ClassifyAddress(*ip);
}

TEST(NetAddress, ClassifiesWhatLeadsBackToThisHostOrItsNetworks) {
  struct Case {
    const char* address;
    AddressClass expected;
  };
  const Case cases[] = {
      {"127.0.0.1", AddressClass::kLoopback},
      {"127.255.0.9", AddressClass::kLoopback},
      {"::1", AddressClass::kLoopback},
      {"[::1]", AddressClass::kLoopback},
      {"::ffff:127.0.0.1", AddressClass::kLoopback},
      {"0.0.0.0", AddressClass::kUnspecified},
      {"::", AddressClass::kUnspecified},
      {"169.254.169.254", AddressClass::kLinkLocal},
      {"fe80::1", AddressClass::kLinkLocal},
      {"10.1.2.3", AddressClass::kPrivate},
      {"172.16.0.1", AddressClass::kPrivate},
      {"172.31.255.255", AddressClass::kPrivate},
      {"192.168.0.1", AddressClass::kPrivate},
      {"100.64.0.1", AddressClass::kPrivate},
      {"fd00:ec2::254", AddressClass::kPrivate},
      {"fc00::1", AddressClass::kPrivate},
      {"::ffff:10.0.0.1", AddressClass::kPrivate},
      {"224.0.0.1", AddressClass::kMulticast},
      {"ff02::1", AddressClass::kMulticast},
      {"0.1.2.3", AddressClass::kReserved},
      {"240.0.0.1", AddressClass::kReserved},
      {"255.255.255.255", AddressClass::kReserved},
      {"::2", AddressClass::kReserved},
      {"172.32.0.1", AddressClass::kPublic},
      {"8.8.8.8", AddressClass::kPublic},
      {"100.128.0.1", AddressClass::kPublic},
      {"2001:db8::1", AddressClass::kPublic},
      {"::ffff:8.8.8.8", AddressClass::kPublic},
  };
  for (const Case& c : cases) EXPECT_EQ(Classify(c.address), c.expected) << c.address;
}

TEST(NetAddress, ParsesAndRejects) {
  EXPECT_FALSE(ParseIpAddress("localhost").ok());
  EXPECT_FALSE(ParseIpAddress("1.2.3").ok());
  EXPECT_FALSE(ParseIpAddress("").ok());
  EXPECT_FALSE(ParseIpAddress(std::string("1.2.3.4\0junk", 12)).ok()) << "found by fuzzing";
  EXPECT_EQ(ParseIpAddress("::ffff:1.2.3.4")->ToString(), "::ffff:1.2.3.4");
  EXPECT_EQ(Unmapped(*ParseIpAddress("::ffff:1.2.3.4")).ToString(), "1.2.3.4");
}

TEST(NetAddress, Networks) {
  absl::StatusOr<IpNetwork> net = ParseIpNetwork("10.1.0.0/16");
  ASSERT_TRUE(net.ok());
  EXPECT_TRUE(net->Contains(*ParseIpAddress("10.1.255.1")));
  EXPECT_TRUE(net->Contains(*ParseIpAddress("::ffff:10.1.0.1"))) << "mapped addresses too";
  EXPECT_FALSE(net->Contains(*ParseIpAddress("10.2.0.1")));
  EXPECT_FALSE(net->Contains(*ParseIpAddress("::1")));
  net = ParseIpNetwork("fd00::/9");
  ASSERT_TRUE(net.ok());
  EXPECT_TRUE(net->Contains(*ParseIpAddress("fd7f::1")));
  EXPECT_FALSE(net->Contains(*ParseIpAddress("fd80::1")));
  net = ParseIpNetwork("192.0.2.7");
  ASSERT_TRUE(net.ok());
  EXPECT_EQ(net->prefix_length, 32);
  EXPECT_TRUE(ParseIpNetwork("0.0.0.0/0")->Contains(*ParseIpAddress("8.8.8.8")));
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/-1", "x/8", "10.0.0.0/"}) {
    EXPECT_FALSE(ParseIpNetwork(bad).ok()) << bad;
  }
}

TEST(NetAddress, HostPort) {
  absl::StatusOr<HostPort> hp = ParseHostPort("[::1]:50053");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 50053);
  hp = ParseHostPort("node-1.example:443");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "node-1.example");
  for (const char* bad : {"::1:50053", "host", ":80", "host:0", "host:65536", "[::1]", "[]:1"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace mvirt::zfs
