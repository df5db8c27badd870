// Snapshot policies: the pure rules (volume/snapshot_policy.h), and
// VolumeManager's scheduler run on FakeZfs with the clock injected (no test
// sleeps for an hour): what is due is taken once per period, a group in one
// transaction, the oldest beyond keep pruned, never what clones, holds or a
// manual name protect, and a run refused by the space guard says so.
#include "volume/snapshot_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "status_matchers.h"
#include "volume/volume_manager.h"
#include "volume_test_world.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Time Utc(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone());
}

SnapshotPolicyInfo Policy(uint32_t hourly, uint32_t daily, uint32_t weekly,
                          const std::string& group = "") {
  SnapshotPolicyInfo p;
  p.keep = {hourly, daily, weekly};
  p.group = group;
  return p;
}

TEST(SnapshotPolicy, TextFormRoundTripsAndBadTextIsRefused) {
  EXPECT_EQ(FormatSnapshotPolicy(Policy(24, 7, 4, "vm-1")),
            "hourly=24,daily=7,weekly=4;group=vm-1");
  EXPECT_EQ(FormatSnapshotPolicy(Policy(0, 7, 0)), "daily=7");
  for (const SnapshotPolicyInfo& p : {Policy(24, 7, 4, "vm-1"), Policy(0, 7, 0), Policy(1, 0, 0)}) {
    EXPECT_THAT(ParseSnapshotPolicy(FormatSnapshotPolicy(p)), IsOkAndHolds(p));
  }
  for (const char* bad : {"hourly", "hourly=0", "hourly=x", "minutely=5", "hourly=1,hourly=2",
                          "hourly=1;team=x", "hourly=1;group=a/b", "hourly=1001", "a;b;c"}) {
    EXPECT_THAT(ParseSnapshotPolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
  EXPECT_THAT(ValidateSnapshotPolicy(Policy(1001, 0, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 1000")));
}

TEST(SnapshotPolicy, PeriodsAreTheUtcHourDayAndWeekFromMonday) {
  const absl::Time t = Utc(2026, 12, 9, 13, 47);  // a Wednesday
  EXPECT_EQ(PeriodStart(SnapshotClass::kHourly, t), Utc(2026, 12, 9, 13, 0));
  EXPECT_EQ(PeriodStart(SnapshotClass::kDaily, t), Utc(2026, 12, 9, 0, 0));
  EXPECT_EQ(PeriodStart(SnapshotClass::kWeekly, t), Utc(2026, 12, 7, 0, 0));
  EXPECT_EQ(PeriodStart(SnapshotClass::kWeekly, Utc(2026, 12, 7, 0, 0)), Utc(2026, 12, 7, 0, 0));
  EXPECT_EQ(PeriodStart(SnapshotClass::kWeekly, Utc(2026, 12, 6, 23, 59)), Utc(2026, 11, 30, 0, 0));
  EXPECT_EQ(PolicySnapshotName(SnapshotClass::kHourly, Utc(2026, 12, 9, 13, 0)),
            "auto-hourly-20261209-1300");
}

class SnapshotSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(w_.vm().Create(VolumeParams("a", kMiB, kId1)));
    ASSERT_OK(w_.vm().Create(VolumeParams("b", kMiB, kId2)));
  }
  std::vector<std::string> Snapshots(const std::string& volume) {
    std::vector<std::string> names;
    absl::StatusOr<std::vector<SnapshotInfo>> list = w_.vm().ListSnapshots(volume);
    EXPECT_OK(list);
    if (list.ok()) {
      for (const SnapshotInfo& s : *list) names.push_back(s.name);
    }
    return names;
  }
  World w_;
};

TEST_F(SnapshotSchedulerTest, WhatIsDueIsTakenOncePerPeriodAndMissedPeriodsAreNotReplayed) {
  ASSERT_OK(w_.vm().SetSnapshotPolicy("a", Policy(3, 0, 0)));
  const absl::Time t = Utc(2026, 12, 9, 13, 5);
  SnapshotPolicyRun run = w_.vm().RunSnapshotPolicies(t);
  EXPECT_EQ(run.taken, 1u);
  EXPECT_EQ(w_.vm().RunSnapshotPolicies(t + absl::Minutes(50)).taken, 0u) << "same hour";
  EXPECT_EQ(w_.vm().RunSnapshotPolicies(t + absl::Hours(1)).taken, 1u);
  // Five hours of downtime: one snapshot for the hour it is now.
  EXPECT_EQ(w_.vm().RunSnapshotPolicies(t + absl::Hours(6)).taken, 1u);
  EXPECT_THAT(Snapshots("a"), ElementsAre("auto-hourly-20261209-1300", "auto-hourly-20261209-1400",
                                          "auto-hourly-20261209-1900"));
  EXPECT_THAT(Snapshots("b"), ::testing::IsEmpty()) << "no policy, no snapshots";
  absl::StatusOr<SnapshotProps> snap = w_.fake.GetSnapshot("vmpool/a@auto-hourly-20261209-1300");
  ASSERT_OK(snap);
  EXPECT_EQ(snap->user_props.at(kPolicyClassProperty), "hourly");
  EXPECT_EQ(snap->user_props.at(kPolicyPeriodProperty),
            std::to_string(absl::ToUnixSeconds(Utc(2026, 12, 9, 13, 0))));
  EXPECT_TRUE(snap->user_props.count(kIdProperty));
}

TEST_F(SnapshotSchedulerTest, AGroupsVolumesAreSnapshottedInOneTransaction) {
  ASSERT_OK(w_.vm().SetSnapshotPolicy("a", Policy(2, 1, 0, "vm-1")));
  ASSERT_OK(w_.vm().SetSnapshotPolicy("b", Policy(2, 0, 0, "vm-1")));
  w_.zfs.Reset();
  SnapshotPolicyRun run = w_.vm().RunSnapshotPolicies(Utc(2026, 12, 9, 0, 10));
  EXPECT_EQ(run.taken, 3u);  // a and b hourly together, a daily
  std::vector<std::string> takes;
  for (const ZfsCallRecord& call : w_.zfs.calls()) {
    if (call.call == ZfsCall::kTakeSnapshots) takes.push_back(call.arg);
  }
  EXPECT_EQ(takes.size(), 2u) << "one call for the group's hourly, one for a's daily";
  absl::StatusOr<SnapshotProps> sa = w_.fake.GetSnapshot("vmpool/a@auto-hourly-20261209-0000");
  absl::StatusOr<SnapshotProps> sb = w_.fake.GetSnapshot("vmpool/b@auto-hourly-20261209-0000");
  ASSERT_OK(sa);
  ASSERT_OK(sb);
  EXPECT_EQ(sa->user_props.at(kSnapshotGroupProperty), sb->user_props.at(kSnapshotGroupProperty));
  EXPECT_EQ(sa->createtxg, sb->createtxg);
  EXPECT_TRUE(w_.fake.Exists("vmpool/a@auto-daily-20261209-0000"));
}

TEST_F(SnapshotSchedulerTest, PruningKeepsTheNewestAndNeverWhatIsProtectedOrManual) {
  ASSERT_OK(w_.vm().SetSnapshotPolicy("a", Policy(2, 0, 0)));
  const absl::Time t = Utc(2026, 12, 9, 10, 0);
  ASSERT_EQ(w_.vm().RunSnapshotPolicies(t).taken, 1u);
  ASSERT_OK(w_.vm().CreateSnapshot("a", "manual"));
  ASSERT_EQ(w_.vm().RunSnapshotPolicies(t + absl::Hours(1)).taken, 1u);
  // The 11:00 one gets a clone; an old-looking name without the marks is
  // someone else's.
  ASSERT_OK(w_.vm().CloneVolume("a", "auto-hourly-20261209-1100", CloneParams("c", kId3)));
  ASSERT_OK(w_.vm().CreateSnapshot("a", "auto-hourly-20200101-0000"));
  SnapshotPolicyRun run = w_.vm().RunSnapshotPolicies(t + absl::Hours(2));
  EXPECT_EQ(run.taken, 1u);
  EXPECT_EQ(run.pruned, 1u);  // 10:00
  EXPECT_EQ(run.kept_protected, 0u);
  EXPECT_THAT(Snapshots("a"),
              ElementsAre("manual", "auto-hourly-20261209-1100", "auto-hourly-20200101-0000",
                          "auto-hourly-20261209-1200"));
  run = w_.vm().RunSnapshotPolicies(t + absl::Hours(3));
  EXPECT_EQ(run.pruned, 0u);
  EXPECT_EQ(run.kept_protected, 1u) << "11:00 has a clone";
  EXPECT_THAT(Snapshots("a"),
              ElementsAre("manual", "auto-hourly-20261209-1100", "auto-hourly-20200101-0000",
                          "auto-hourly-20261209-1200", "auto-hourly-20261209-1300"));
  // A hold protects as well; without the clone 11:00 goes.
  ASSERT_OK(w_.fake.Hold("vmpool/a@auto-hourly-20261209-1200", "backup-tool"));
  ASSERT_OK(w_.vm().Delete("c", false));
  run = w_.vm().RunSnapshotPolicies(t + absl::Hours(4));
  EXPECT_EQ(run.pruned, 1u);
  EXPECT_EQ(run.kept_protected, 1u);
  EXPECT_THAT(Snapshots("a"),
              ElementsAre("manual", "auto-hourly-20200101-0000", "auto-hourly-20261209-1200",
                          "auto-hourly-20261209-1300", "auto-hourly-20261209-1400"));
}

TEST_F(SnapshotSchedulerTest, ARunRefusedByTheSpaceGuardTakesNothingAndStillPrunes) {
  w_.space = {0, 10};
  w_.Restart();
  ASSERT_OK(w_.vm().SetSnapshotPolicy("a", Policy(1, 0, 0)));
  const absl::Time t = Utc(2026, 12, 9, 10, 0);
  ASSERT_EQ(w_.vm().RunSnapshotPolicies(t).taken, 1u);
  ASSERT_EQ(w_.vm().RunSnapshotPolicies(t + absl::Hours(1)).pruned, 1u);
  absl::StatusOr<PoolProps> pool = w_.fake.GetPool(kPool);
  ASSERT_OK(pool);
  pool->used = 95 * kGiB;
  pool->available = 5 * kGiB;  // 5% free, under the 10% reserve
  w_.fake.SetPool(*pool);
  ASSERT_OK(w_.vm().SetSnapshotPolicy("b", Policy(1, 0, 0)));
  ASSERT_OK(w_.fake.Snapshot({"vmpool/a@extra"},
                             {{kPolicyClassProperty, "hourly"}, {kPolicyPeriodProperty, "0"}}));
  SnapshotPolicyRun run = w_.vm().RunSnapshotPolicies(t + absl::Hours(2));
  EXPECT_EQ(run.taken, 0u);
  EXPECT_EQ(run.refused, 2u);
  EXPECT_EQ(run.pruned, 1u) << "the oldest beyond keep goes even so: deletes free space";
  EXPECT_THAT(Snapshots("a"), ElementsAre("auto-hourly-20261209-1100"));
}

TEST_F(SnapshotSchedulerTest, PoliciesAreValidatedAndAPolicySetByHandBadlyIsSkipped) {
  const std::string before = w_.fake.Dump();
  EXPECT_THAT(w_.vm().SetSnapshotPolicy("a", Policy(1001, 0, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(w_.vm().SetSnapshotPolicy("a", Policy(1, 0, 0, "bad/group")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(w_.vm().SetSnapshotPolicy("missing", Policy(1, 0, 0)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(w_.fake.Dump(), before) << "refused policies change nothing";
  EXPECT_THAT(w_.vm().GetSnapshotPolicy("a"), IsOkAndHolds(Policy(0, 0, 0)));
  ASSERT_OK(w_.vm().SetSnapshotPolicy("a", Policy(24, 7, 4, "vm-1")));
  EXPECT_THAT(w_.vm().GetSnapshotPolicy("a"), IsOkAndHolds(Policy(24, 7, 4, "vm-1")));
  absl::StatusOr<VolumeProps> props = w_.fake.GetVolume("vmpool/a");
  ASSERT_OK(props);
  EXPECT_EQ(props->user_props.at(kSnapshotPolicyProperty), "hourly=24,daily=7,weekly=4;group=vm-1");
  ASSERT_OK(w_.vm().SetSnapshotPolicy("a", Policy(0, 0, 0)));  // cleared
  props = w_.fake.GetVolume("vmpool/a");
  ASSERT_OK(props);
  EXPECT_EQ(props->user_props.count(kSnapshotPolicyProperty), 0u);
  ASSERT_OK(w_.fake.SetProperty("vmpool/b", kSnapshotPolicyProperty, "every minute"));
  EXPECT_THAT(w_.vm().GetSnapshotPolicy("b"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("set the policy again")));
  SnapshotPolicyRun run = w_.vm().RunSnapshotPolicies(Utc(2026, 12, 9, 10, 0));
  EXPECT_EQ(run.failed, 1u);
  EXPECT_EQ(run.taken, 0u);
}

}  // namespace
}  // namespace mvirt::zfs::testing
