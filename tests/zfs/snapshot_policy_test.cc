// Snapshot schedules on a real pool: the daemon (looking every second)
// takes what a policy makes due, a group's volumes in one transaction
// (same createtxg), prunes beyond keep but never a held or a manual
// snapshot, reads policies set through the CLI, and when the space guard
// refuses the snapshot says so in its log. The periods are the clock's own
// (UTC hours and days): the first run of a policy always finds its class
// due, so nothing waits for an hour to pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/algorithm/container.h"
#include "api_fixture.h"
#include "grpc_status_matchers.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr auto kDeadline = std::chrono::seconds(60);

std::vector<std::string> SnapshotNames(ZfsService::Stub& stub, const std::string& volume) {
  ListSnapshotsRequest req;
  req.set_volume_name(volume);
  ListSnapshotsResponse list;
  std::vector<std::string> names;
  if (CallWithin(kDeadline, &ZfsService::Stub::ListSnapshots, stub, req, &list).ok()) {
    for (const auto& s : list.snapshots()) names.push_back(s.name());
  }
  return names;
}

// The volume's snapshot whose name starts with `prefix` once there is one
// (within 60 s), or "".
std::string WaitForSnapshot(ZfsService::Stub& stub, const std::string& volume,
                            const std::string& prefix) {
  for (int i = 0; i < 120; ++i) {
    for (const std::string& name : SnapshotNames(stub, volume)) {
      if (name.rfind(prefix, 0) == 0) return name;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return "";
}

grpc::Status SetPolicy(ZfsService::Stub& stub, const std::string& volume, uint32_t hourly,
                       uint32_t daily, const std::string& group) {
  SetSnapshotPolicyRequest req;
  req.mutable_policy()->set_volume_name(volume);
  req.mutable_policy()->set_hourly_keep(hourly);
  req.mutable_policy()->set_daily_keep(daily);
  req.mutable_policy()->set_group(group);
  SnapshotPolicy out;
  return CallWithin(kDeadline, &ZfsService::Stub::SetSnapshotPolicy, stub, req, &out);
}

grpc::Status CreateVolume(ZfsService::Stub& stub, const std::string& name) {
  CreateVolumeRequest req;
  req.set_name(name);
  req.set_size_bytes(16 * kMiB);
  Volume out;
  return CallWithin(kDeadline, &ZfsService::Stub::CreateVolume, stub, req, &out);
}

TEST(SnapshotPolicies, TheDaemonTakesWhatIsDueAndPrunesBeyondKeep) {
  ScratchPool pool("mvsched");
  const std::string p = pool.name();
  {
    // Policies set while no run is near (first look after an hour), so
    // that the next daemon's first look sees both volumes of the group.
    DaemonProcess daemon(p, "/run/mvirt-zfs-sched.sock", {"--snapshot-policy-interval", "3600"});
    ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
    auto stub = ZfsService::NewStub(
        grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
    ASSERT_THAT(CreateVolume(*stub, "a"), GrpcIsOk());
    ASSERT_THAT(CreateVolume(*stub, "b"), GrpcIsOk());
    // a through the CLI, b through the API, in one group.
    CommandResult cli = Shell(CliPath() + " --endpoint " + daemon.endpoint() +
                              " snapshot policy set a --hourly 1 --group vm-1");
    ASSERT_EQ(cli.exit_code, 0) << cli.output;
    EXPECT_EQ(ZfsGet(p + "/a", "mvirt:snapshot-policy"), "hourly=1;group=vm-1");
    ASSERT_THAT(SetPolicy(*stub, "b", 2, 0, "vm-1"), GrpcIsOk());
    cli = Shell(CliPath() + " --endpoint " + daemon.endpoint() + " snapshot policy get b");
    EXPECT_EQ(cli.exit_code, 0) << cli.output;
    EXPECT_THAT(cli.output, AllOf(HasSubstr("hourly 2"), HasSubstr("vm-1")));
    EXPECT_THAT(SnapshotNames(*stub, "a"), ::testing::IsEmpty());
  }
  // Two hourly snapshots of an earlier run (as the daemon marks them), one
  // of them held by a backup tool, and a manual one.
  const std::string marks = " -o mvirt:policy-class=hourly -o mvirt:policy-period=";
  MustRun("zfs snapshot" + marks + "3600 " + p + "/a@auto-hourly-19700101-0100");
  MustRun("zfs snapshot" + marks + "7200 " + p + "/a@auto-hourly-19700101-0200");
  MustRun("zfs hold backup-tool " + p + "/a@auto-hourly-19700101-0100");
  MustRun("zfs snapshot " + p + "/a@manual");
  {
    DaemonProcess daemon(p, "/run/mvirt-zfs-sched.sock", {"--snapshot-policy-interval", "1"});
    ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
    auto stub = ZfsService::NewStub(
        grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
    const std::string taken = WaitForSnapshot(*stub, "b", "auto-hourly-2");
    ASSERT_FALSE(taken.empty()) << daemon.Log();
    // The group's snapshot: both volumes, one transaction.
    EXPECT_EQ(ZfsGet(p + "/a@" + taken, "createtxg"), ZfsGet(p + "/b@" + taken, "createtxg"));
    EXPECT_EQ(ZfsGet(p + "/a@" + taken, "mvirt:snapshot-group"),
              ZfsGet(p + "/b@" + taken, "mvirt:snapshot-group"));
    EXPECT_EQ(ZfsGet(p + "/a@" + taken, "mvirt:policy-class"), "hourly");
    // a keeps 1 hourly: 02:00 of 1970 is pruned, the held 01:00 and the
    // manual snapshot stay.
    std::vector<std::string> names;
    for (int i = 0; i < 60; ++i) {
      names = SnapshotNames(*stub, "a");
      if (!absl::c_linear_search(names, "auto-hourly-19700101-0200")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    EXPECT_THAT(names, Not(Contains("auto-hourly-19700101-0200")));
    EXPECT_THAT(names, Contains("auto-hourly-19700101-0100")) << "held";
    EXPECT_THAT(names, Contains("manual"));
    EXPECT_THAT(names, Contains(taken));
    EXPECT_THAT(daemon.WaitForLog("but kept: it is held"), HasSubstr("but kept: it is held"));
    // One snapshot per period: later looks take nothing more.
    std::this_thread::sleep_for(std::chrono::seconds(3));
    EXPECT_EQ(SnapshotNames(*stub, "b").size(), 1u);
    CommandResult cli =
        Shell(CliPath() + " --endpoint " + daemon.endpoint() + " snapshot policy clear b");
    EXPECT_EQ(cli.exit_code, 0) << cli.output;
    EXPECT_EQ(ZfsGet(p + "/b", "mvirt:snapshot-policy"), "-");
    MustRun("zfs release backup-tool " + p + "/a@auto-hourly-19700101-0100");
  }
  // The space guard keeping 90% free, and a fifth of the pool reserved by
  // a zvol made by hand: every snapshot is refused, and the log says so
  // with what the volume's snapshots hold.
  MustRun("zfs create -V 400M " + p + "/by-hand");
  DaemonProcess daemon(p, "/run/mvirt-zfs-sched.sock",
                       {"--snapshot-policy-interval", "1", "--reserve-percent", "90"});
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = ZfsService::NewStub(
      grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
  ASSERT_THAT(SetPolicy(*stub, "b", 0, 1, ""), GrpcIsOk());
  const std::string log = daemon.WaitForLog("not taken", std::chrono::seconds(30));
  EXPECT_THAT(log, AllOf(HasSubstr("auto-daily-"), HasSubstr("refused by the space guard"),
                         HasSubstr("Their snapshots hold")));
  for (const std::string& name : SnapshotNames(*stub, "b")) {
    EXPECT_THAT(name, Not(StartsWith("auto-daily-")));
  }
}

}  // namespace
}  // namespace mvirt::zfs::testing
