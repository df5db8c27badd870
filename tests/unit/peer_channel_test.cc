// ConnectPeer: which targets a replicating daemon may reach, and how.
#include "replication/peer_channel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

TEST(ConnectPeer, LocalTargetsNeedNoTlsOthersDo) {
  for (const char* local :
       {"unix:/run/mvirt-zfs.sock", "localhost:50053", "127.0.0.1:50053", "[::1]:50053"}) {
    EXPECT_OK(ConnectPeer(local, PeerOptions())) << local;
  }
  EXPECT_THAT(ConnectPeer("node-2.example:50053", PeerOptions()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("--peer-ca")));
  EXPECT_THAT(ConnectPeer("10.0.0.2:50053", PeerOptions()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("TLS only")));
}

TEST(ConnectPeer, MalformedTargetsAndUnreadableFilesAreRefused) {
  for (const char* bad : {"node-2", ":50053", "node-2:", "node-2:0", "node-2:70000", "unix:rel"}) {
    EXPECT_THAT(ConnectPeer(bad, PeerOptions()), StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
  PeerOptions missing;
  missing.ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(ConnectPeer("node-2.example:50053", missing),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("/nonexistent/ca.pem")));
}

}  // namespace
}  // namespace mvirt::zfs::testing
