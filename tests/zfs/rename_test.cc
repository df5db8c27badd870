// RenameVolume and RenameSnapshot on a real pool: what a user checks after
// a rename (the device links, the data through the new one, ids, clones),
// and that a refused rename left the pool as it was.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_fixture.h"
#include "grpc_status_matchers.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

class RenameTest : public ApiTest {
 protected:
  grpc::Status RenameVolume(const std::string& name, const std::string& new_name,
                            const std::string& id, Volume* out) {
    cleanup_.push_back(new_name);
    RenameVolumeRequest req;
    req.set_name(name);
    req.set_new_name(new_name);
    req.set_id(id);
    grpc::ClientContext ctx;
    return stub_->RenameVolume(&ctx, req, out);
  }
  grpc::Status RenameSnapshot(const std::string& volume, const std::string& snapshot,
                              const std::string& new_name, const std::string& id,
                              ::mvirt::zfs::Snapshot* out) {
    RenameSnapshotRequest req;
    req.set_volume_name(volume);
    req.set_snapshot_name(snapshot);
    req.set_new_name(new_name);
    req.set_id(id);
    grpc::ClientContext ctx;
    return stub_->RenameSnapshot(&ctx, req, out);
  }
};

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

TEST_F(RenameTest, AVolumeMovesWithItsIdDataSnapshotsAndClonesButNotUnderAnOpenDevice) {
  Volume a, clone;
  ASSERT_THAT(Create("rn-a", 16 * kMiB, &a, kId1), GrpcIsOk());
  const std::string data = Pattern('n', 256 * 1024);
  WriteDevice(a.path(), 0, data);
  ASSERT_THAT(Snapshot("rn-a", "s1"), GrpcIsOk());
  ASSERT_THAT(Clone("rn-a", "s1", "rn-clone", &clone), GrpcIsOk());
  Volume other;
  ASSERT_THAT(Create("rn-taken", 16 * kMiB, &other), GrpcIsOk());

  // Refused, changing nothing: a VM has the disk open; the name is taken.
  const std::string before = PoolState(kPool);
  Volume renamed;
  {
    const int vm = ::open(a.path().c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(vm, 0);
    EXPECT_THAT(RenameVolume("rn-a", "rn-b", "", &renamed),
                GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                             HasSubstr("pid " + std::to_string(::getpid()))));
    ::close(vm);
  }
  EXPECT_THAT(RenameVolume("rn-a", "rn-taken", "", &renamed),
              GrpcStatusIs(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_THAT(RenameVolume("rn-a", "rn-b", kId2, &renamed),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr(kId1)));
  EXPECT_EQ(PoolState(kPool), before);

  ASSERT_THAT(RenameVolume("rn-a", "rn-b", "", &renamed), GrpcIsOk());
  EXPECT_EQ(renamed.id(), kId1);
  EXPECT_EQ(renamed.path(), "/dev/zvol/" + kPool + "/rn-b");
  EXPECT_FALSE(PathExists(a.path())) << "the old link is gone when the call returns";
  EXPECT_EQ(ReadDevice(renamed.path(), 0, data.size()), data);
  EXPECT_EQ(ZfsGet(kPool + "/rn-b", "mvirt:id"), kId1);
  EXPECT_EQ(ZfsGet(kPool + "/rn-b@s1", "type"), "snapshot");
  EXPECT_EQ(ZfsGet(kPool + "/rn-clone", "origin"), kPool + "/rn-b@s1");
  EXPECT_EQ(ReadDevice(clone.path(), 0, data.size()), data) << "the clone still reads its data";
  // A retry naming the id: done already. Without it: no such volume.
  Volume again;
  EXPECT_THAT(RenameVolume("rn-a", "rn-b", kId1, &again), GrpcIsOk());
  EXPECT_EQ(again.id(), kId1);
  EXPECT_THAT(RenameVolume("rn-a", "rn-b", "", &again), GrpcStatusIs(grpc::StatusCode::NOT_FOUND));

  // The snapshot too: its id, guid and clone stay.
  const std::string guid = ZfsGet(kPool + "/rn-b@s1", "guid");
  const std::string snapshot_id = ZfsGet(kPool + "/rn-b@s1", "mvirt:id");
  ::mvirt::zfs::Snapshot snap;
  ASSERT_THAT(RenameSnapshot("rn-b", "s1", "golden", "", &snap), GrpcIsOk());
  EXPECT_EQ(snap.name(), "golden");
  EXPECT_EQ(snap.id(), snapshot_id);
  EXPECT_EQ(ZfsGet(kPool + "/rn-b@golden", "guid"), guid);
  EXPECT_EQ(ZfsGet(kPool + "/rn-clone", "origin"), kPool + "/rn-b@golden");
  EXPECT_THAT(RenameSnapshot("rn-b", "s1", "golden", snapshot_id, &snap), GrpcIsOk())
      << "a retry naming the id";

  // The CLI does the same.
  CommandResult cli = Shell(CliPath() + " --endpoint " + TestPool::daemon().endpoint() +
                            " volume rename rn-b rn-c");
  cleanup_.push_back("rn-c");
  ASSERT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_THAT(cli.output, HasSubstr("/dev/zvol/" + kPool + "/rn-c"));
  EXPECT_EQ(ReadDevice("/dev/zvol/" + kPool + "/rn-c", 0, data.size()), data);
}

}  // namespace
}  // namespace mvirt::zfs::testing
