// FakeZvolDevices: devices that appear, vanish, go stale or never come, as
// tests tell them to, with the real implementation's messages.
#include "device/fake_zvol_devices.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "common/call_context.h"
#include "status_matchers.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPath[] = "/dev/zvol/p/v";
const absl::Duration kTimeout = absl::Milliseconds(5);

TEST(FakeZvolDevicesTest, AutomaticDevicesComeAndGoWhenWaitedFor) {
  FakeZvolDevices devices;
  EXPECT_OK(devices.WaitReady(kPath, "p/v", kTimeout));
  EXPECT_TRUE(devices.IsPresent(kPath));
  EXPECT_OK(devices.WaitGone(kPath, kTimeout));
  EXPECT_FALSE(devices.IsPresent(kPath));
  EXPECT_THAT(devices.calls(), ElementsAre("WaitReady /dev/zvol/p/v", "WaitGone /dev/zvol/p/v"));
}

TEST(FakeZvolDevicesTest, ManualDevicesComeAndGoOnlyWhenTold) {
  FakeZvolDevices devices(FakeZvolDevices::Mode::kManual);
  EXPECT_THAT(devices.WaitReady(kPath, "p/v", kTimeout),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("(link not created yet); the volume exists, retry the call")));
  devices.Appear(kPath, "p/other");
  EXPECT_THAT(devices.WaitReady(kPath, "p/v", kTimeout),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("(stale link)")));
  devices.Appear(kPath, "p/v");
  EXPECT_OK(devices.WaitReady(kPath, "p/v", kTimeout));
  EXPECT_THAT(devices.WaitGone(kPath, kTimeout),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("still present")));
  devices.Disappear(kPath);
  EXPECT_OK(devices.WaitGone(kPath, kTimeout));
}

TEST(FakeZvolDevicesTest, NeverReadyAndNeverGoneWhateverTheMode) {
  FakeZvolDevices devices;
  devices.SetNeverReady(true);
  devices.SetNeverGone(true);
  const absl::Time start = absl::Now();
  EXPECT_THAT(devices.WaitReady(kPath, "p/v", kTimeout),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(devices.WaitGone(kPath, kTimeout), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_GE(absl::Now() - start, 2 * kTimeout);  // a failed wait takes its time
}

TEST(FakeZvolDevicesTest, TheCallsDeadlineEndsAWait) {
  FakeZvolDevices devices;
  devices.SetNeverReady(true);
  CallContext call;
  call.deadline = absl::Now() - absl::Seconds(1);
  ScopedCallContext scope(call);
  EXPECT_THAT(devices.WaitReady(kPath, "p/v", absl::Hours(1)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("the call's deadline")));
}

TEST(FakeZvolDevicesTest, HoldersAndCacheInvalidationAreWhatTestsSet) {
  FakeZvolDevices devices;
  EXPECT_TRUE(devices.Holders(kPath).empty());
  devices.SetHolders(kPath, {{42, "qemu"}});
  ASSERT_EQ(devices.Holders(kPath).size(), 1u);
  EXPECT_EQ(DescribeHolders(devices.Holders(kPath)), "pid 42 (qemu)");
  EXPECT_OK(devices.InvalidateCache(kPath));
  devices.SetInvalidateResult(absl::UnavailableError("BLKFLSBUF"));
  EXPECT_THAT(devices.InvalidateCache(kPath), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace mvirt::zfs::testing
