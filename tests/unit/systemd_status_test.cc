// The STATUS= line the daemon sends systemd, read from a stand-in notify
// socket; and the periodic thread behind it.
#include "daemon/systemd_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

#include "common/periodic_thread.h"
#include "notify_socket.h"

namespace mvirt::zfs {
namespace {

using ::mvirt::zfs::testing::NotifySocket;
using ::testing::Contains;
using ::testing::ElementsAre;

TEST(StatusLine, PoolStateAndVolumeCount) {
  EXPECT_EQ(StatusLine("vmpool", "ONLINE", 12), "pool vmpool: ONLINE, 12 volumes");
  EXPECT_EQ(StatusLine("vmpool", "DEGRADED", 1), "pool vmpool: DEGRADED, 1 volume");
  EXPECT_EQ(StatusLine("vmpool", "pool 'vmpool' is not imported", std::nullopt),
            "pool vmpool: pool 'vmpool' is not imported");
}

class SystemdStatusTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("NOTIFY_SOCKET", socket_.path().c_str(), 1); }
  void TearDown() override { ::unsetenv("NOTIFY_SOCKET"); }
  NotifySocket socket_{"/tmp/mvirt-status-test-" + std::to_string(::getpid()) + ".sock"};
  Broadcaster<VolumeEventInfo> events_;
  std::atomic<uint64_t> volumes_{0};
  std::atomic<int> counts_{0};
  SystemdStatus::CountVolumes Counter() {
    return [this]() -> absl::StatusOr<uint64_t> {
      ++counts_;
      return volumes_.load();
    };
  }
};

TEST_F(SystemdStatusTest, SaysTheStateAtOnceAndTheCountAfterVolumesChange) {
  SystemdStatus status("vmpool", Counter(), events_, absl::Milliseconds(20));
  status.SetPoolState("ONLINE");
  EXPECT_THAT(
      socket_.CollectUntil("STATUS=pool vmpool: ONLINE, 0 volumes", std::chrono::seconds(5)),
      Contains("STATUS=pool vmpool: ONLINE, 0 volumes"));

  // No event, no new count (a count lists the pool's volumes).
  const int counted = counts_;
  EXPECT_THAT(socket_.Collect(std::chrono::milliseconds(200)), ElementsAre());
  EXPECT_EQ(counts_, counted);

  volumes_ = 1;
  events_.Publish(VolumeEventInfo{});
  EXPECT_THAT(socket_.CollectUntil("STATUS=pool vmpool: ONLINE, 1 volume", std::chrono::seconds(5)),
              ElementsAre("STATUS=pool vmpool: ONLINE, 1 volume"));

  // A new state is said at once; the count follows, read again.
  status.SetPoolState("DEGRADED");
  EXPECT_THAT(
      socket_.CollectUntil("STATUS=pool vmpool: DEGRADED, 1 volume", std::chrono::seconds(5)),
      ElementsAre("STATUS=pool vmpool: DEGRADED", "STATUS=pool vmpool: DEGRADED, 1 volume"));
}

TEST_F(SystemdStatusTest, ACountThatFailsIsLeftOutAndTriedAgain) {
  std::atomic<bool> fail{true};
  SystemdStatus status(
      "vmpool",
      [&]() -> absl::StatusOr<uint64_t> {
        if (fail) return absl::UnavailableError("pool 'vmpool' is not imported");
        return 3;
      },
      events_, absl::Milliseconds(20));
  status.SetPoolState("pool 'vmpool' is not imported");
  EXPECT_THAT(socket_.Collect(std::chrono::milliseconds(200)),
              ElementsAre("STATUS=pool vmpool: pool 'vmpool' is not imported"));
  fail = false;
  status.SetPoolState("ONLINE");
  EXPECT_THAT(
      socket_.CollectUntil("STATUS=pool vmpool: ONLINE, 3 volumes", std::chrono::seconds(5)),
      Contains("STATUS=pool vmpool: ONLINE, 3 volumes"));
}

TEST(PeriodicThread, TicksUntilDestroyedAndNeverAfter) {
  std::atomic<int> ticks{0};
  {
    PeriodicThread thread(absl::Milliseconds(10), [&] { ++ticks; });
    while (ticks < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const int at_end = ticks;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(ticks, at_end);
}

TEST(PeriodicThread, TheFirstTickCanWaitAnInterval) {
  std::atomic<int> ticks{0};
  PeriodicThread thread(
      absl::Seconds(60), [&] { ++ticks; }, PeriodicThread::FirstTick::kAfterInterval);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(ticks, 0);
}

}  // namespace
}  // namespace mvirt::zfs
