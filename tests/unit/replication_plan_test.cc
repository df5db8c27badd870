// PlanReplication: which streams bring a target up to date, matched by guid.
#include "replication/replication_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

SnapshotInfo Snap(const std::string& name, uint64_t guid) {
  SnapshotInfo s;
  s.name = name;
  s.guid = guid;
  return s;
}

const std::vector<SnapshotInfo> kSource = {Snap("a", 1), Snap("b", 2), Snap("c", 3)};

TEST(PlanReplication, ANewTargetGetsTheOldestInFullThenEachIncrement) {
  auto steps = PlanReplication("v", kSource, std::nullopt, "");
  ASSERT_OK(steps);
  EXPECT_THAT(*steps, ElementsAre(ReplicationStep{"a", ""}, ReplicationStep{"b", "a"},
                                  ReplicationStep{"c", "b"}));
  steps = PlanReplication("v", kSource, std::nullopt, "b");
  ASSERT_OK(steps);
  EXPECT_THAT(*steps, ElementsAre(ReplicationStep{"a", ""}, ReplicationStep{"b", "a"}));
}

TEST(PlanReplication, AnExistingTargetGetsWhatFollowsTheNewestSharedSnapshotByGuid) {
  // Names on the target do not matter; guids do.
  auto steps = PlanReplication("v", kSource, std::vector{Snap("renamed", 1)}, "");
  ASSERT_OK(steps);
  EXPECT_THAT(*steps, ElementsAre(ReplicationStep{"b", "a"}, ReplicationStep{"c", "b"}));
  steps = PlanReplication("v", kSource, std::vector{Snap("a", 1), Snap("b", 2), Snap("c", 3)}, "");
  ASSERT_OK(steps);
  EXPECT_THAT(*steps, IsEmpty()) << "up to date";
  steps = PlanReplication("v", kSource, std::vector{Snap("a", 1), Snap("b", 2)}, "a");
  ASSERT_OK(steps);
  EXPECT_THAT(*steps, IsEmpty()) << "already past `upto`";
}

TEST(PlanReplication, RefusesWhatNoIncrementCanFix) {
  EXPECT_THAT(PlanReplication("v", {}, std::nullopt, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no snapshot")));
  EXPECT_THAT(PlanReplication("v", kSource, std::nullopt, "nope"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(PlanReplication("v", kSource, std::vector{Snap("a", 99)}, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("shares no snapshot")));
  EXPECT_THAT(PlanReplication("v", kSource, std::vector<SnapshotInfo>{}, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("shares no snapshot")));
  EXPECT_THAT(PlanReplication("v", kSource, std::vector{Snap("a", 1), Snap("local", 77)}, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("newer than 'a', the newest both sides share: local")));
}

}  // namespace
}  // namespace mvirt::zfs::testing
