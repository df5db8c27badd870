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
  Broadcaster<TemplateEventInfo> template_events;
  ReplicationJobs jobs(w.vm(), template_events, PeerOptions());
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

// A job's start and end reach the volume's watchers, each with the volume's
// state; a job that cannot reach its target ends FAILED, saying so.
TEST(ReplicationJobs, AJobIsPublishedOnItsVolumesEventsFromStartToEnd) {
  World w;
  ASSERT_OK(w.vm().Create(VolumeParams("a", kMiB, kId1)));
  ASSERT_OK(w.vm().CreateSnapshot("a", "s1"));
  Broadcaster<TemplateEventInfo> template_events;
  ReplicationJobs jobs(w.vm(), template_events, PeerOptions());
  auto events = w.vm().volume_events().Subscribe(64);
  absl::StatusOr<ReplicationJobInfo> started =
      jobs.StartReplication({"a", "unix:/nonexistent/mvirt-zfs.sock", "", 0});
  ASSERT_OK(started);
  absl::StatusOr<ReplicationJobInfo> ended = jobs.Cancel(started->id);  // waits for its end
  ASSERT_OK(ended);
  std::vector<ReplicationJobInfo> seen;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10);
       absl::Now() < deadline &&
       (seen.empty() || seen.back().state == ReplicationState::kRunning);) {
    if (std::optional<VolumeEventInfo> e = events->Next()) {
      ASSERT_TRUE(e->replication_job.has_value());
      ASSERT_TRUE(e->volume.has_value()) << "a job event is not a deletion";
      EXPECT_EQ(e->volume_id, kId1);
      EXPECT_EQ(e->volume->name, "a");
      seen.push_back(*e->replication_job);
    } else {
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.front().id, started->id);
  EXPECT_EQ(seen.front().state, ReplicationState::kRunning);
  EXPECT_EQ(seen.back().id, started->id);
  EXPECT_NE(seen.back().state, ReplicationState::kRunning);
  EXPECT_EQ(seen.back().state, ended->state);
  EXPECT_FALSE(events->overflowed());
}

}  // namespace
}  // namespace mvirt::zfs::testing
