// The space guard (volume/space_guard.h): its rule on figures given, and
// VolumeManager asking it before every create, clone, promote, import,
// resize and snapshot (never before a delete or rollback), on FakeZfs.
#include "volume/space_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <utility>

#include "common/sizes.h"
#include "status_matchers.h"
#include "volume/volume_manager.h"
#include "volume_test_world.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A pool of 10 GiB with `available` free.
SpaceNow Pool10G(uint64_t available, uint64_t provisioned = 0) {
  return {10 * kGiB, available, provisioned};
}

absl::StatusOr<SpaceGuard::Ticket> Admit(SpaceGuard& guard, const SpaceClaim& claim,
                                         const SpaceNow& now) {
  return guard.Admit("create volume 'v'", "vmpool", claim,
                     [&]() -> absl::StatusOr<SpaceNow> { return now; });
}

TEST(SpaceGuard, TheReserveRefusesWhatWouldEatIntoItNamingTheFigures) {
  SpaceGuard guard({/*max_overcommit=*/0, /*reserve_percent=*/10});
  EXPECT_EQ(guard.ReserveBytes(10 * kGiB), kGiB);
  // Thin: takes nothing at once, fine while the pool is outside the reserve.
  EXPECT_OK(Admit(guard, {5 * kGiB, 0}, Pool10G(2 * kGiB)));
  // Thick: 1.5 GiB of 2 GiB free would leave 512 MiB, under 1 GiB.
  EXPECT_THAT(Admit(guard, {kGiB + kGiB / 2, kGiB + kGiB / 2}, Pool10G(2 * kGiB)),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("create volume 'v': refused by the space guard"),
                             HasSubstr("would then have 512 MiB free (536870912 bytes, 5.0% of "
                                       "10 GiB)"),
                             HasSubstr("1 GiB (1073741824 bytes, 10.0%) --reserve-percent keeps "
                                       "free"))));
  EXPECT_OK(Admit(guard, {kGiB, kGiB}, Pool10G(2 * kGiB)));  // leaves exactly the reserve
  // Already inside the reserve: even a snapshot (no claim) is refused.
  EXPECT_THAT(Admit(guard, {}, Pool10G(kGiB - kMiB)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("' has 1023 MiB free")));
}

TEST(SpaceGuard, TheOvercommitLimitCountsWhatIsProvisionedAndWhatIsAdded) {
  SpaceGuard guard({/*max_overcommit=*/2.0, /*reserve_percent=*/0});
  EXPECT_TRUE(guard.NeedsProvisioned());
  EXPECT_OK(Admit(guard, {5 * kGiB, 0}, Pool10G(kGiB, 15 * kGiB)));  // 20 GiB: exactly 2x
  EXPECT_THAT(Admit(guard, {kGiB, 0}, Pool10G(kGiB, 20 * kGiB)),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("provisioned 2.10x the size of pool 'vmpool'"),
                             HasSubstr("21 GiB of volumes on 10 GiB"),
                             HasSubstr("over --max-overcommit 2.00"))));
  // A call that adds no volume size is not asked about it (a snapshot).
  EXPECT_OK(Admit(guard, {}, Pool10G(kGiB, 30 * kGiB)));
}

TEST(SpaceGuard, AdmittedClaimsCountUntilTheirTicketIsGone) {
  SpaceGuard guard({/*max_overcommit=*/1.0, /*reserve_percent=*/10});
  // Two thick volumes of 1 GiB on 2.5 GiB free: the first passes, the
  // second would leave 512 MiB while the first is still being made.
  std::optional<absl::StatusOr<SpaceGuard::Ticket>> first =
      Admit(guard, {kGiB, kGiB}, Pool10G(2 * kGiB + kGiB / 2));
  ASSERT_OK(*first);
  EXPECT_THAT(Admit(guard, {kGiB, kGiB}, Pool10G(2 * kGiB + kGiB / 2)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("would then have 512 MiB")));
  EXPECT_THAT(Admit(guard, {kGiB, 0}, Pool10G(5 * kGiB, 9 * kGiB)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("11 GiB of volumes")));
  SpaceGuard::Ticket moved = std::move(**first);  // a moved ticket still holds the claim
  first.reset();
  EXPECT_THAT(Admit(guard, {kGiB, kGiB}, Pool10G(2 * kGiB + kGiB / 2)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  moved = SpaceGuard::Ticket();  // returned: the figures alone count again
  EXPECT_OK(Admit(guard, {kGiB, kGiB}, Pool10G(2 * kGiB + kGiB / 2)));
  EXPECT_OK(Admit(guard, {kGiB, 0}, Pool10G(5 * kGiB, 9 * kGiB)));
}

TEST(SpaceGuard, NoLimitsAdmitEverythingUnreadAndAFailedReadIsPassedOn) {
  auto failing_read = []() -> absl::StatusOr<SpaceNow> {
    return absl::UnavailableError("pool gone");
  };
  SpaceGuard off({});
  EXPECT_FALSE(off.NeedsProvisioned());
  EXPECT_EQ(off.ReserveBytes(10 * kGiB), 0u);
  EXPECT_OK(Admit(off, {100 * kGiB, 9 * kGiB}, Pool10G(9 * kGiB)));
  EXPECT_OK(off.Admit("create volume 'v'", "vmpool", {}, failing_read));
  SpaceGuard on({0, 1});
  EXPECT_THAT(on.Admit("create volume 'v'", "vmpool", {}, failing_read),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("pool gone")));
}

// VolumeManager on a FakeZfs pool of 10 GiB (used + available).
class VolumeSpaceGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_.space = {/*max_overcommit=*/2.0, /*reserve_percent=*/10};
    SetAvailable(4 * kGiB);
    w_.Restart();
    ASSERT_OK(w_.vm().Create(VolumeParams("a", 4 * kGiB, kId1)));
    ASSERT_OK(w_.vm().CreateSnapshot("a", "s1"));
    w_.zfs.Reset();
  }
  void SetAvailable(uint64_t available) {
    absl::StatusOr<PoolProps> pool = w_.fake.GetPool(kPool);
    ASSERT_OK(pool);
    pool->available = available;
    pool->used = 10 * kGiB - available;
    w_.fake.SetPool(*pool);
  }
  // Each call refused with RESOURCE_EXHAUSTED by the guard, ZFS untouched.
  template <typename Call>
  void ExpectRefused(Call call, const std::string& why) {
    const std::string before = w_.fake.Dump();
    w_.zfs.Reset();
    EXPECT_THAT(call(), StatusIs(absl::StatusCode::kResourceExhausted,
                                 AllOf(HasSubstr("refused by the space guard"), HasSubstr(why))));
    EXPECT_THAT(Mutations(w_.zfs.calls()), IsEmpty());
    EXPECT_EQ(w_.fake.Dump(), before);
  }
  World w_;
};

TEST_F(VolumeSpaceGuardTest, OvercommitRefusesCreatesClonesResizesAndPromotes) {
  ASSERT_OK(w_.vm().Create(VolumeParams("b", 8 * kGiB, kId2)));
  ASSERT_OK(w_.vm().Create(VolumeParams("c", 6 * kGiB, kId3)));  // 18 of 20 GiB
  const std::string over = "over --max-overcommit 2.00";
  ExpectRefused([&] { return w_.vm().Create(VolumeParams("d", 3 * kGiB)).status(); },
                "21 GiB of volumes on 10 GiB");
  ExpectRefused([&] { return w_.vm().Resize("a", 7 * kGiB).status(); }, over);
  ExpectRefused([&] { return w_.vm().CloneVolume("a", "s1", CloneParams("d", "")).status(); },
                "22 GiB of volumes");
  ExpectRefused([&] { return w_.vm().PromoteToTemplate("a", "s1", "gold").status(); }, over);
  // Up to the limit exactly is fine; a retry of a create that is done adds
  // nothing and is not refused.
  ASSERT_OK(w_.vm().Create(VolumeParams("d", 2 * kGiB)));
  EXPECT_OK(w_.vm().Create(VolumeParams("c", 6 * kGiB, kId3)));
  // Deleting and snapshots are never asked about the overcommit.
  EXPECT_OK(w_.vm().CreateSnapshot("b", "s"));
  absl::StatusOr<PoolStatsInfo> stats = w_.vm().GetPoolStats();
  ASSERT_OK(stats);
  EXPECT_DOUBLE_EQ(stats->overcommit_ratio, 2.0);
  EXPECT_DOUBLE_EQ(stats->max_overcommit, 2.0);
  EXPECT_EQ(stats->reserve_bytes, kGiB);
  EXPECT_OK(w_.vm().Delete("c", false));
  EXPECT_OK(w_.vm().CloneVolume("a", "s1", CloneParams("e", "")));
}

TEST_F(VolumeSpaceGuardTest, TheReserveRefusesMutationsButNeverDeletesOrRollbacks) {
  CreateVolumeParams thick = VolumeParams("t", 3 * kGiB + kGiB / 2);
  thick.thick = true;
  ExpectRefused([&] { return w_.vm().Create(thick).status(); }, "would then have 512 MiB free");
  thick.size_bytes = 3 * kGiB;
  ASSERT_OK(w_.vm().Create(thick));  // leaves the 1 GiB reserve
  SetAvailable(kGiB - kMiB);         // now it is in the reserve
  const std::string in_reserve = "has 1023 MiB free";
  ExpectRefused([&] { return w_.vm().Create(VolumeParams("b", kGiB)).status(); }, in_reserve);
  ExpectRefused([&] { return w_.vm().CreateSnapshot("a", "s2").status(); }, in_reserve);
  ExpectRefused([&] { return w_.vm().CreateSnapshots({"a", "t"}, "s2").status(); }, in_reserve);
  ExpectRefused([&] { return w_.vm().CloneVolume("a", "s1", CloneParams("c", "")).status(); },
                in_reserve);
  ExpectRefused([&] { return w_.vm().Resize("a", 5 * kGiB).status(); }, in_reserve);
  StagingVolumeParams import;
  import.template_name = "gold";
  import.template_id = kId3;
  import.job_id = "job";
  import.size_bytes = kGiB;
  ExpectRefused([&] { return w_.vm().CreateStagingVolume(import).status(); }, in_reserve);
  // What frees space is never refused.
  EXPECT_OK(w_.vm().Rollback("a", "s1"));
  EXPECT_OK(w_.vm().DeleteSnapshot("a", "s1"));
  EXPECT_OK(w_.vm().Delete("t", false));
  EXPECT_THAT(InvariantViolations(w_.zfs), IsEmpty());
}

}  // namespace
}  // namespace mvirt::zfs::testing
