// ReplicationJobs: what is refused before a job starts, and unknown ids.
// (Jobs that send are tested between two daemons on real ZFS:
// tests/zfs/replication_test.cc.)
#include "replication/replication_jobs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"
#include "volume_test_world.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ReplicationJobs, UnknownJobsAndRefusedStartsSayWhyAndStartNothing) {
  World w;
  ASSERT_OK(w.vm().Create(VolumeParams("a", kMiB, kId1)));
  ReplicationJobs jobs(w.vm(), PeerOptions());
  EXPECT_THAT(jobs.Get("nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(jobs.Cancel("nope"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("not known")));
  EXPECT_THAT(jobs.Get("nope"), StatusIs(absl::StatusCode::kNotFound)) << "still answering";
  EXPECT_THAT(jobs.StartReplication({"missing", "unix:/run/x.sock", "", 0}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(jobs.StartReplication({"a", "no-port", "", 0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(jobs.StartReplication({"a", "10.0.0.2:50053", "", 0}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("TLS only")));
  w.devices.SetHolders(World::Device("a"), {{77, "qemu"}});
  MigrateParams final_step;
  final_step.volume = "a";
  final_step.target = "unix:/run/x.sock";
  final_step.final_step = true;
  EXPECT_THAT(jobs.StartMigration(final_step),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("pid 77 (qemu)")));
  EXPECT_THAT(jobs.StartTemplateReplication({"missing", "unix:/run/x.sock", 0}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(jobs.List(), IsEmpty());
}

}  // namespace
}  // namespace mvirt::zfs::testing
