#include "daemon/pool_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "seed_pool.h"

namespace mvirt::zfs {
namespace {

using ::testing::HasSubstr;

using testing::SeedPool;

TEST(CheckPoolHealth, OnlineAndDegradedServe) {
  PoolProps p = SeedPool();
  EXPECT_TRUE(CheckPoolHealth(p).ok());
  p.health = "DEGRADED";
  EXPECT_TRUE(CheckPoolHealth(p).ok());
}

TEST(CheckPoolHealth, FaultedAndSuspendedRefuse) {
  for (const char* health : {"FAULTED", "UNAVAIL", "SUSPENDED", ""}) {
    PoolProps p = SeedPool();
    p.health = health;
    absl::Status s = CheckPoolHealth(p);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << health;
    EXPECT_NE(s.message().find("pool 'vmpool'"), absl::string_view::npos);
  }
}

TEST(ServingStateOf, ServesOnlineAndDegradedPoolsOnly) {
  PoolProps p = SeedPool();
  EXPECT_EQ(ServingStateOf(p), (PoolServingState{true, "ONLINE"}));
  p.health = "DEGRADED";
  EXPECT_EQ(ServingStateOf(p), (PoolServingState{true, "DEGRADED"}));
  for (const char* health : {"FAULTED", "SUSPENDED", "UNAVAIL", "REMOVED", "OFFLINE"}) {
    p.health = health;
    EXPECT_EQ(ServingStateOf(p), (PoolServingState{false, health}));
  }
  p.health = "";
  EXPECT_EQ(ServingStateOf(p), (PoolServingState{false, "unknown"}));
}

TEST(ServingStateOf, AnUnreadablePoolIsNotServedAndSaysWhy) {
  EXPECT_EQ(ServingStateOf(absl::NotFoundError("pool 'vmpool' is not imported")),
            (PoolServingState{false, "pool 'vmpool' is not imported"}));
  EXPECT_EQ(ServingStateOf(absl::UnavailableError("pool I/O is currently suspended")),
            (PoolServingState{false, "pool I/O is currently suspended"}));
}

}  // namespace
}  // namespace mvirt::zfs
