// VolumeManager's send and receive (volume_streams.cc) on FakeZfs and fake
// devices: two worlds stand for two hosts, a pipe for the connection.
#include <errno.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "common/stream_pipe.h"
#include "status_matchers.h"
#include "volume/volume_manager.h"
#include "volume_test_world.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The stream `plan` makes, read from a pipe while `world` sends it.
std::string SendToString(World& world, const SendPlan& plan) {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  absl::Status sent;
  std::thread sender([&] {
    sent = world.vm().Send(plan, fds[1]);
    ::close(fds[1]);
  });
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  sender.join();
  EXPECT_OK(sent);
  return out;
}

// Keeps a write into a pipe whose reader is gone from killing the test
// (EPIPE instead): SIGPIPE is sent to the writing thread, which blocks it.
void BlockSigpipeInThisThread() {
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
}

// Receives the first `length` bytes of `stream` in `world`, as if the
// connection ended there.
// What `receive(fd)` returns while a thread writes the first `length` bytes
// of `stream` into the pipe `fd` reads, as if the connection ended there.
template <typename Receive>
auto FeedPipe(const std::string& stream, size_t length, Receive receive) {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  std::thread writer([&, end = std::min(length, stream.size())] {
    BlockSigpipeInThisThread();
    (void)WriteFull(fds[1], absl::string_view(stream).substr(0, end));  // false: receiver stopped
    ::close(fds[1]);
  });
  auto result = receive(fds[0]);
  ::close(fds[0]);
  writer.join();
  return result;
}

absl::StatusOr<ReceiveResult> ReceiveString(World& world, const ReceiveVolumeParams& params,
                                            const std::string& stream,
                                            size_t length = std::string::npos) {
  return FeedPipe(stream, length, [&](int fd) { return world.vm().Receive(params, fd); });
}

ReceiveVolumeParams TargetFor(const std::string& name, const SendPlan& plan) {
  return {name, plan.volume_id, plan.snapshot.id};
}

class VolumeStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(source_.vm().Create(VolumeParams("a", kMiB, kId1)));
    ASSERT_OK(source_.fake.WriteData(World::Dataset("a"), "first data"));
    ASSERT_OK(source_.vm().CreateSnapshot("a", "s1"));
    ASSERT_OK(source_.fake.WriteData(World::Dataset("a"), "second data"));
    ASSERT_OK(source_.vm().CreateSnapshot("a", "s2"));
  }
  SendPlan Plan(const std::string& snapshot, const std::string& from = "") {
    SendVolumeParams params;
    params.volume = "a";
    params.snapshot = snapshot;
    params.from_snapshot = from;
    absl::StatusOr<SendPlan> plan = source_.vm().PlanSend(params);
    EXPECT_OK(plan);
    return plan.ok() ? *plan : SendPlan();
  }
  World source_;
  World target_;
};

TEST_F(VolumeStreamsTest, FullThenIncrementalKeepIdsAndAppearOnlyComplete) {
  SendPlan full = Plan("s1");
  EXPECT_EQ(full.volume_id, kId1);
  EXPECT_GT(full.estimated_bytes, 0u);
  const std::string stream = SendToString(source_, full);
  auto events = target_.vm().volume_events().Subscribe(16);
  absl::StatusOr<ReceiveResult> made = ReceiveString(target_, TargetFor("a", full), stream);
  ASSERT_OK(made);
  EXPECT_EQ(made->volume.id, kId1);
  EXPECT_EQ(made->snapshot.id, full.snapshot.id);
  EXPECT_EQ(target_.fake.ReadData(World::Dataset("a")).value_or(""), "first data");
  EXPECT_FALSE(target_.fake.Exists("vmpool/.mvirt/receiving/a"));
  EXPECT_THAT(InvariantViolations(target_.fake), IsEmpty());

  SendPlan increment = Plan("s2", "s1");
  EXPECT_EQ(increment.from_guid, full.snapshot_guid);
  absl::StatusOr<ReceiveResult> updated =
      ReceiveString(target_, TargetFor("a", increment), SendToString(source_, increment));
  ASSERT_OK(updated);
  EXPECT_EQ(target_.fake.ReadData(World::Dataset("a")).value_or(""), "second data");
  ASSERT_EQ(updated->volume.snapshots.size(), 2u);
  EXPECT_EQ(updated->volume.snapshots[1].id, increment.snapshot.id);
}

TEST_F(VolumeStreamsTest, PlanSendValidatesBeforeTouchingZfs) {
  source_.zfs.Reset();
  SendVolumeParams params;
  params.volume = "a";
  params.snapshot = "bad@name";
  EXPECT_THAT(source_.vm().PlanSend(params), StatusIs(absl::StatusCode::kInvalidArgument));
  params.snapshot = "s2";
  params.from_snapshot = "s1";
  params.from_guid = 7;
  EXPECT_THAT(source_.vm().PlanSend(params),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not both")));
  params = {};
  params.volume = "a";
  params.snapshot = "s2";
  params.resume_token = "1-x";
  EXPECT_THAT(source_.vm().PlanSend(params),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("resume token")));
  params.snapshot.clear();
  params.raw = false;  // the token says whether the stream is raw
  EXPECT_THAT(source_.vm().PlanSend(params),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("whether raw")));
  EXPECT_THAT(source_.zfs.calls(), IsEmpty());
}

TEST_F(VolumeStreamsTest, AnIncrementalIntoAnOpenDeviceIsRefusedAndChangesNothing) {
  SendPlan full = Plan("s1");
  ASSERT_OK(ReceiveString(target_, TargetFor("a", full), SendToString(source_, full)));
  target_.devices.SetHolders(World::Device("a"), {{4242, "cloud-hyperviso"}});
  const std::string before = target_.fake.Dump();
  SendPlan increment = Plan("s2", "s1");
  EXPECT_THAT(ReceiveString(target_, TargetFor("a", increment), SendToString(source_, increment)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("in use by pid 4242 (cloud-hyperviso)")));
  EXPECT_EQ(target_.fake.Dump(), before);
  target_.devices.SetHolders(World::Device("a"), {});
  EXPECT_THAT(ReceiveString(target_, {"a", kId2, ""}, SendToString(source_, increment)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("volume id")));
  EXPECT_EQ(target_.fake.Dump(), before);
}

TEST_F(VolumeStreamsTest, ACutFullReceiveWaitsForItsResumeOrItsAbort) {
  SendPlan full = Plan("s1");
  const std::string stream = SendToString(source_, full);
  EXPECT_THAT(ReceiveString(target_, TargetFor("a", full), stream, stream.size() - 3),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("what arrived is kept")));
  EXPECT_FALSE(target_.fake.Exists(World::Dataset("a")));
  absl::StatusOr<ReceiveStateInfo> state = target_.vm().GetReceiveState("a");
  ASSERT_OK(state);
  EXPECT_NE(state->resume_token, "");
  EXPECT_TRUE(state->creating);
  // A restart keeps it for the resume.
  target_.Restart();
  EXPECT_TRUE(target_.fake.Exists("vmpool/.mvirt/receiving/a"));
  EXPECT_THAT(ReceiveString(target_, TargetFor("a", full), stream),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("interrupted receive")));

  SendVolumeParams resume;
  resume.volume = "a";
  resume.resume_token = state->resume_token;
  absl::StatusOr<SendPlan> rest = source_.vm().PlanSend(resume);
  ASSERT_OK(rest);
  EXPECT_TRUE(rest->resuming);
  EXPECT_EQ(rest->snapshot.name, "s1");
  ASSERT_OK(ReceiveString(target_, TargetFor("a", *rest), SendToString(source_, *rest)));
  EXPECT_EQ(target_.fake.ReadData(World::Dataset("a")).value_or(""), "first data");
  EXPECT_THAT(target_.vm().AbortReceive("a"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(VolumeStreamsTest, TheNewestReceivedSnapshotIsHeldAsTheBaseUntilANewerArrives) {
  const std::string s1 = World::Dataset("a") + "@s1", s2 = World::Dataset("a") + "@s2";
  SendPlan full = Plan("s1");
  const std::string full_stream = SendToString(source_, full);
  ASSERT_OK(ReceiveString(target_, TargetFor("a", full), full_stream));
  EXPECT_THAT(target_.fake.Holds(s1), IsOkAndHolds(ElementsAre(kReplicationBaseHold)));
  SendPlan increment = Plan("s2", "s1");
  ASSERT_OK(ReceiveString(target_, TargetFor("a", increment), SendToString(source_, increment)));
  EXPECT_THAT(target_.fake.Holds(s2), IsOkAndHolds(ElementsAre(kReplicationBaseHold)));
  EXPECT_THAT(target_.fake.Holds(s1), IsOkAndHolds(IsEmpty()));
  // A retry of the older stream moves nothing.
  ASSERT_OK(ReceiveString(target_, TargetFor("a", full), full_stream));
  EXPECT_THAT(target_.fake.Holds(s2), IsOkAndHolds(ElementsAre(kReplicationBaseHold)));
  EXPECT_THAT(target_.fake.Holds(s1), IsOkAndHolds(IsEmpty()));

  const std::string before = target_.fake.Dump();
  EXPECT_THAT(target_.vm().DeleteSnapshot("a", "s2"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(kReplicationBaseHold)));
  EXPECT_THAT(target_.vm().Delete("a"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("release_holds")));
  // Someone else's hold is never released for them.
  ASSERT_OK(target_.fake.Hold(s1, "keep"));
  EXPECT_THAT(target_.vm().Delete("a", /*release_replication_holds=*/true),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("'keep'")));
  ASSERT_OK(target_.fake.Release(s1, "keep"));
  // A delete the kernel refuses (the device is open) puts the hold back.
  target_.fake.SetOpen(World::Dataset("a"), true);
  EXPECT_THAT(target_.vm().Delete("a", /*release_replication_holds=*/true),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  target_.fake.SetOpen(World::Dataset("a"), false);
  EXPECT_EQ(target_.fake.Dump(), before);
  EXPECT_OK(target_.vm().Delete("a", /*release_replication_holds=*/true));
  EXPECT_FALSE(target_.fake.Exists(World::Dataset("a")));
}

TEST_F(VolumeStreamsTest, TheLastStreamLeavesNoSnapshotHeld) {
  SendPlan full = Plan("s1");
  ASSERT_OK(ReceiveString(target_, TargetFor("a", full), SendToString(source_, full)));
  SendPlan increment = Plan("s2", "s1");
  ReceiveVolumeParams last = TargetFor("a", increment);
  last.last_stream = true;
  ASSERT_OK(ReceiveString(target_, last, SendToString(source_, increment)));
  for (const char* snapshot : {"@s1", "@s2"}) {
    EXPECT_THAT(target_.fake.Holds(World::Dataset("a") + snapshot), IsOkAndHolds(IsEmpty()))
        << snapshot;
  }
  EXPECT_OK(target_.vm().Delete("a"));
}

TEST_F(VolumeStreamsTest, AnInterruptedReceiveIdleTooLongIsDropped) {
  SendPlan full = Plan("s1");
  const std::string stream = SendToString(source_, full);
  ASSERT_OK(ReceiveString(target_, TargetFor("a", full), stream));
  SendPlan increment = Plan("s2", "s1");
  const std::string increment_stream = SendToString(source_, increment);
  ASSERT_THAT(ReceiveString(target_, TargetFor("a", increment), increment_stream,
                            increment_stream.size() - 3),
              StatusIs(absl::StatusCode::kAborted));
  ASSERT_THAT(ReceiveString(target_, {"b", kId2, ""}, stream, stream.size() - 3),
              StatusIs(absl::StatusCode::kAborted));
  target_.vm().SweepAbandonedReceives(absl::Hours(1));
  EXPECT_NE(target_.vm().GetReceiveState("a")->resume_token, "") << "touched just now";
  EXPECT_TRUE(target_.fake.Exists("vmpool/.mvirt/receiving/b"));

  // A restart counts as a touch.
  target_.Restart();
  target_.vm().SweepAbandonedReceives(absl::Hours(1));
  EXPECT_TRUE(target_.fake.Exists("vmpool/.mvirt/receiving/b"));
  target_.vm().SweepAbandonedReceives(absl::ZeroDuration());
  EXPECT_FALSE(target_.fake.Exists("vmpool/.mvirt/receiving/b"));
  EXPECT_EQ(target_.vm().GetReceiveState("a")->resume_token, "");
  EXPECT_EQ(target_.fake.ReadData(World::Dataset("a")).value_or(""), "first data");
  EXPECT_THAT(InvariantViolations(target_.fake), IsEmpty());
  ASSERT_OK(ReceiveString(target_, TargetFor("a", increment), increment_stream));
}

TEST_F(VolumeStreamsTest, AbortReceiveDropsACutFullReceive) {
  SendPlan full = Plan("s1");
  const std::string stream = SendToString(source_, full);
  const std::string before = NormalizedDump(target_.fake);
  ASSERT_THAT(ReceiveString(target_, TargetFor("a", full), stream, stream.size() - 3),
              StatusIs(absl::StatusCode::kAborted));
  ASSERT_OK(target_.vm().AbortReceive("a"));
  EXPECT_EQ(NormalizedDump(target_.fake), before);
}

TEST_F(VolumeStreamsTest, BadStreamsAndTargetsAreRefusedBeforeZfsChangesAnything) {
  SendPlan full = Plan("s1");
  const std::string stream = SendToString(source_, full);
  target_.zfs.Reset();
  EXPECT_THAT(ReceiveString(target_, TargetFor("a", full), std::string(400, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReceiveString(target_, TargetFor("a", full), stream.substr(0, 10)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("before its first")));
  EXPECT_THAT(ReceiveString(target_, {"a/b", kId1, ""}, stream),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReceiveString(target_, {"a", "nope", ""}, stream),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Mutations(target_.zfs.calls()), IsEmpty());
  // The source's own pool already has a volume with that id.
  EXPECT_THAT(ReceiveString(source_, TargetFor("copy", full), stream),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already belongs")));
}

TEST_F(VolumeStreamsTest, AReceiveLeftCompleteByACrashIsSweptAtStartAndReceivedAgain) {
  SendPlan full = Plan("s1");
  const std::string stream = SendToString(source_, full);
  // What a crash between the receive and the rename leaves.
  ASSERT_OK(target_.zfs.EnsureHiddenFilesystem("vmpool/.mvirt/receiving", true));
  ASSERT_OK(FeedPipe(stream, std::string::npos, [&](int fd) {
    char record[kSendStreamBeginBytes];
    EXPECT_EQ(ReadFull(fd, record, sizeof record), static_cast<ssize_t>(sizeof record));
    absl::StatusOr<SendStreamBegin> begin =
        ParseSendStreamBegin(absl::string_view(record, sizeof record));
    if (!begin.ok()) return begin.status();
    return target_.fake.ReceiveSnapshot(fd, *begin, "vmpool/.mvirt/receiving/a@s1",
                                        {{kIdProperty, kId1}});
  }));
  target_.Restart();
  EXPECT_FALSE(target_.fake.Exists("vmpool/.mvirt/receiving/a"));
  ASSERT_OK(ReceiveString(target_, TargetFor("a", full), stream));
  EXPECT_EQ(target_.fake.ReadData(World::Dataset("a")).value_or(""), "first data");
}

// The stream of template `name` of `world`.
std::string TemplateStream(World& world, const std::string& name) {
  absl::StatusOr<SendPlan> plan = world.vm().PlanSendTemplate(name);
  EXPECT_OK(plan);
  return plan.ok() ? SendToString(world, *plan) : std::string();
}

absl::StatusOr<TemplateInfo> ReceiveTemplateString(World& world,
                                                   const ReceiveTemplateParams& params,
                                                   const std::string& stream) {
  return FeedPipe(stream, std::string::npos,
                  [&](int fd) { return world.vm().ReceiveTemplate(params, fd); });
}

TEST_F(VolumeStreamsTest, ATemplateArrivesWithItsIdAndOnlyOnce) {
  absl::StatusOr<TemplateInfo> made = source_.vm().PromoteToTemplate("a", "s1", "gold");
  ASSERT_OK(made);
  const std::string stream = TemplateStream(source_, "gold");
  absl::StatusOr<TemplateInfo> received =
      ReceiveTemplateString(target_, {"gold", made->id}, stream);
  ASSERT_OK(received);
  EXPECT_EQ(received->id, made->id);
  EXPECT_EQ(received->name, "gold");
  EXPECT_EQ(target_.fake.ReadData("vmpool/.mvirt/templates/gold").value_or(""), "first data");
  EXPECT_THAT(InvariantViolations(target_.fake), IsEmpty());
  const std::string before = target_.fake.Dump();
  EXPECT_OK(ReceiveTemplateString(target_, {"gold", made->id}, stream)) << "a retry";
  EXPECT_THAT(ReceiveTemplateString(target_, {"gold", kId3}, stream),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(target_.fake.Dump(), before);
  // A cut template stream leaves nothing (templates are not resumable).
  EXPECT_THAT(FeedPipe(stream, stream.size() - 3,
                       [&](int fd) {
                         return target_.vm().ReceiveTemplate({"silver", ""}, fd);
                       }),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(target_.fake.Dump(), before);
  // A volume's stream is not a template's.
  EXPECT_THAT(ReceiveTemplateString(target_, {"other", ""}, SendToString(source_, Plan("s1"))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not the full stream")));
  EXPECT_EQ(target_.fake.Dump(), before);
}

}  // namespace
}  // namespace mvirt::zfs::testing
