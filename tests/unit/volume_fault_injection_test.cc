// Every step of every multi-step VolumeManager operation (volume_scenarios.h)
// made to fail, and made the last thing a crashing daemon did. The steps are
// the ZFS calls of a clean run, listed by FaultyZfs.
//
// A fault before the committing call, or at it: the call fails with that
// status (annotated) and ZFS is exactly as before, unless the step is a read
// the call tolerates by design. A fault after it: the call may fail, but the
// result is complete (after the clean-up that completes results). A crash anywhere, then a restart
// (CollectGarbage at start-up): nothing or the complete result, never a half-made thing, and a
// retry of the same call succeeds (or says the work is done).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "status_matchers.h"
#include "volume_scenarios.h"
#include "volume_test_world.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class VolumeFaultInjectionTest : public ::testing::TestWithParam<Scenario> {
 protected:
  // A world in the scenario's state before the call, log cleared.
  std::unique_ptr<World> Prepare() {
    auto w = std::make_unique<World>();
    GetParam().setup(*w);
    w->zfs.Reset();
    w->devices.ClearCalls();
    return w;
  }
  // Runs the call cleanly once: its steps and the complete result.
  void SetUp() override {
    std::unique_ptr<World> w = Prepare();
    ASSERT_OK(GetParam().run(*w));
    steps_ = w->zfs.calls();
    Settle(GetParam(), *w);
    complete_ = NormalizedDump(w->fake);
    commit_ = CommitIndex(GetParam(), steps_);
    ASSERT_FALSE(steps_.empty());
  }
  std::string Step(int i) const { return absl::StrCat("step ", i, ": ", steps_[i - 1].ToString()); }

  std::vector<ZfsCallRecord> steps_;
  std::string complete_;
  int commit_ = 0;
};

TEST_P(VolumeFaultInjectionTest, AFaultAtEachStepFailsTheCallAndUndoesItOrCompletesIt) {
  for (int i = 1; i <= static_cast<int>(steps_.size()); ++i) {
    SCOPED_TRACE(Step(i));
    std::unique_ptr<World> w = Prepare();
    const std::string before = w->fake.Dump();
    const bool sound_before = InvariantViolations(w->fake).empty();
    const absl::Status injected = absl::DataLossError(absl::StrCat("injected fault ", i));
    w->zfs.FailCall(i, injected);
    const absl::Status s = GetParam().run(*w);
    ASSERT_GE(w->zfs.calls().size(), static_cast<size_t>(i));
    ASSERT_EQ(w->zfs.calls()[i - 1].call, steps_[i - 1].call) << "the call took another path";
    const bool before_commit = i <= commit_ && !IsTolerated(GetParam(), steps_, i);
    if (before_commit) {
      EXPECT_THAT(s, StatusIs(injected.code(), HasSubstr(injected.message())));
      EXPECT_EQ(w->fake.Dump(), before);
    } else {
      if (!s.ok()) {
        EXPECT_THAT(s, StatusIs(injected.code(), HasSubstr(injected.message())));
      }
      Settle(GetParam(), *w);
      EXPECT_EQ(NormalizedDump(w->fake), complete_);
    }
    if (sound_before) {
      EXPECT_THAT(InvariantViolations(w->fake), IsEmpty());
    }
  }
}

TEST_P(VolumeFaultInjectionTest, ACrashAfterEachStepLeavesNothingOrTheWholeResult) {
  for (int i = 1; i <= static_cast<int>(steps_.size()); ++i) {
    SCOPED_TRACE(Step(i));
    std::unique_ptr<World> w = Prepare();
    const std::string before = NormalizedDump(w->fake);
    w->zfs.CrashAfterCall(i);
    (void)GetParam().run(*w);
    EXPECT_TRUE(w->zfs.crashed());
    w->Restart();
    const std::string after = NormalizedDump(w->fake);
    EXPECT_THAT(InvariantViolations(w->fake), IsEmpty());
    const bool nothing = after == before;
    EXPECT_TRUE(nothing || after == complete_) << "before:\n"
                                               << before << "after the restart:\n"
                                               << after << "complete:\n"
                                               << complete_;
    const absl::Status retry = GetParam().run(*w);
    if (nothing) {
      EXPECT_OK(retry);
    } else {
      EXPECT_THAT(retry.code(), ::testing::AnyOf(absl::StatusCode::kOk, GetParam().done_code))
          << retry;
    }
    Settle(GetParam(), *w);
    EXPECT_EQ(NormalizedDump(w->fake), complete_);
  }
}

INSTANTIATE_TEST_SUITE_P(Operations, VolumeFaultInjectionTest, ::testing::ValuesIn(AllScenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& info) {
                           return info.param.name;
                         });

// CreateSnapshots commits with its one TakeSnapshots call (the snapshots with
// their ids); what follows only reads for the volumes' events.
TEST(CreateSnapshotsFaultTest, AFaultBeforeTheSnapshotChangesNothingAndAfterItKeepsThem) {
  std::vector<ZfsCallRecord> steps;
  {
    World w;
    ASSERT_OK(w.vm().Create(VolumeParams("a", kMiB, kId1)));
    ASSERT_OK(w.vm().Create(VolumeParams("b", kMiB, kId2)));
    w.zfs.Reset();
    ASSERT_OK(w.vm().CreateSnapshots({"a", "b"}, "s"));
    steps = w.zfs.calls();
  }
  for (int i = 1; i <= static_cast<int>(steps.size()); ++i) {
    SCOPED_TRACE(absl::StrCat("step ", i, ": ", steps[i - 1].ToString()));
    World w;
    ASSERT_OK(w.vm().Create(VolumeParams("a", kMiB, kId1)));
    ASSERT_OK(w.vm().Create(VolumeParams("b", kMiB, kId2)));
    w.zfs.Reset();
    const std::string before = w.fake.Dump();
    const absl::Status injected = absl::DataLossError("injected");
    w.zfs.FailCall(i, injected);
    absl::Status s = w.vm().CreateSnapshots({"a", "b"}, "s").status();
    if (steps[i - 1].call == ZfsCall::kTakeSnapshots) {
      EXPECT_THAT(s, StatusIs(injected.code(), "injected"));
      EXPECT_EQ(w.fake.Dump(), before);
    } else {
      EXPECT_OK(s);
      EXPECT_TRUE(w.fake.Exists("vmpool/a@s") && w.fake.Exists("vmpool/b@s"));
      EXPECT_FALSE(IsMutation(steps[i - 1].call)) << "nothing to undo after the commit";
    }
  }
}

}  // namespace
}  // namespace mvirt::zfs::testing
