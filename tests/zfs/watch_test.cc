// Real-ZFS tests of the change streams: current state first, then every
// mutation, seen by several subscribers; reconnecting after a gap; a slow
// subscriber is disconnected with a clear status instead of missing events.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <set>
#include <thread>

#include "api_fixture.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

// A WatchVolumes subscription with a deadline, so a missing event fails the
// test instead of hanging it.
class VolumeWatch {
 public:
  explicit VolumeWatch(ZfsService::Stub& stub) {
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    reader_ = stub.WatchVolumes(&ctx_, WatchVolumesRequest());
  }
  ~VolumeWatch() { ctx_.TryCancel(); }
  // Reads events until `done` returns true for one; returns all read.
  std::vector<VolumeEvent> ReadUntil(const std::function<bool(const VolumeEvent&)>& done) {
    std::vector<VolumeEvent> events;
    VolumeEvent e;
    while (reader_->Read(&e)) {
      events.push_back(e);
      if (done(e)) return events;
    }
    ADD_FAILURE() << "stream ended: " << reader_->Finish().error_message();
    return events;
  }
  // The next `n` events, in order.
  std::vector<VolumeEvent> ReadN(size_t n) {
    std::vector<VolumeEvent> events;
    VolumeEvent e;
    while (events.size() < n && reader_->Read(&e)) events.push_back(e);
    EXPECT_EQ(events.size(), n) << "stream ended: " << reader_->Finish().error_message();
    return events;
  }
  // Cancels the call and waits until it has ended.
  void Cancel() {
    ctx_.TryCancel();
    Finish();
  }
  grpc::Status Finish() {
    VolumeEvent e;
    while (reader_->Read(&e)) {
    }
    return reader_->Finish();
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<VolumeEvent>> reader_;
};

auto IsVolume(const std::string& name, std::function<bool(const Volume&)> also = nullptr) {
  return [name, also](const VolumeEvent& e) {
    return e.has_volume() && e.volume().name() == name && (!also || also(e.volume()));
  };
}
auto IsDeletion(const std::string& id) {
  return [id](const VolumeEvent& e) { return !e.has_volume() && e.volume_id() == id; };
}

// Creates a 16 MiB volume through a daemon of a test's own.
grpc::Status CreateOn(ZfsService::Stub& stub, const std::string& name, Volume* out) {
  CreateVolumeRequest create;
  create.set_name(name);
  create.set_size_bytes(16 * kMiB);
  grpc::ClientContext c;
  return stub.CreateVolume(&c, create, out);
}

class WatchTest : public ApiTest {};

TEST_F(WatchTest, TwoSubscribersSeeTheStateThenEveryMutation) {
  Volume before, w2, out;
  ASSERT_TRUE(Create("watch-before", 16 * kMiB, &before, kId1).ok());
  VolumeWatch first(*stub_), second(*stub_);
  for (VolumeWatch* w : {&first, &second}) {
    // The current state comes first, the volume with its caller's id.
    auto events = w->ReadUntil(IsVolume("watch-before"));
    EXPECT_EQ(events.back().volume_id(), kId1);
  }
  ASSERT_TRUE(Create("watch-2", 16 * kMiB, &w2, kId2).ok());
  ASSERT_TRUE(Resize("watch-2", 32 * kMiB, &out).ok());
  ASSERT_TRUE(Snapshot("watch-2", "s1").ok());
  ASSERT_TRUE(Rollback("watch-2", "s1", &out).ok());
  ASSERT_TRUE(DeleteSnapshot("watch-2", "s1").ok());
  ASSERT_TRUE(Delete("watch-2").ok());
  // Each subscriber sees exactly the six mutations, in order, each with
  // the volume's full state after it.
  struct Expected {
    const char* what;
    uint64_t volsize;
    int snapshots;
  };
  const Expected expected[] = {{"create", 16 * kMiB, 0},
                               {"resize", 32 * kMiB, 0},
                               {"snapshot", 32 * kMiB, 1},
                               {"rollback", 32 * kMiB, 1},
                               {"delete snapshot", 32 * kMiB, 0}};
  for (VolumeWatch* w : {&first, &second}) {
    std::vector<VolumeEvent> events = w->ReadN(6);
    ASSERT_EQ(events.size(), 6u);
    for (size_t i = 0; i < 5; ++i) {
      const VolumeEvent& e = events[i];
      EXPECT_EQ(e.volume_id(), kId2) << expected[i].what;
      EXPECT_GT(e.timestamp(), 0);
      ASSERT_TRUE(e.has_volume()) << expected[i].what;
      EXPECT_EQ(e.volume().name(), "watch-2") << expected[i].what;
      EXPECT_EQ(e.volume().volsize_bytes(), expected[i].volsize) << expected[i].what;
      EXPECT_EQ(e.volume().snapshots_size(), expected[i].snapshots) << expected[i].what;
    }
    EXPECT_EQ(events[2].volume().snapshots(0).name(), "s1");
    EXPECT_TRUE(IsDeletion(kId2)(events[5])) << "the last event is the deletion";
  }
}

TEST_F(WatchTest, ReconnectingAfterAGapGetsTheCurrentState) {
  Volume gone, added;
  ASSERT_TRUE(Create("watch-gone", 16 * kMiB, &gone).ok());
  {
    VolumeWatch w(*stub_);
    w.ReadUntil(IsVolume("watch-gone"));
  }  // disconnected
  ASSERT_TRUE(Delete("watch-gone").ok());
  ASSERT_TRUE(Create("watch-added", 16 * kMiB, &added).ok());
  // The changes made while away are in the state sent on reconnect.
  ListVolumesResponse now;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ListVolumes(&ctx, ListVolumesRequest(), &now).ok());
  VolumeWatch again(*stub_);
  std::set<std::string> seen;
  again.ReadUntil([&](const VolumeEvent& e) {
    EXPECT_TRUE(e.has_volume());
    seen.insert(e.volume().name());
    return seen.size() == static_cast<size_t>(now.volumes_size());
  });
  EXPECT_TRUE(seen.count("watch-added"));
  EXPECT_FALSE(seen.count("watch-gone"));
}

TEST_F(WatchTest, TemplateEventsForPromoteCloneAndDelete) {
  Volume src, clone;
  ASSERT_TRUE(Create("watch-tsrc", 16 * kMiB, &src).ok());
  ASSERT_TRUE(Snapshot("watch-tsrc", "v1").ok());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  auto reader = stub_->WatchTemplates(&ctx, WatchTemplatesRequest());
  PromoteSnapshotRequest promote;
  promote.set_volume_name("watch-tsrc");
  promote.set_snapshot_name("v1");
  promote.set_template_name("watch-tmpl");
  Template t;
  {
    grpc::ClientContext c;
    ASSERT_TRUE(stub_->PromoteSnapshotToTemplate(&c, promote, &t).ok());
  }
  TemplateEvent e;
  do {
    ASSERT_TRUE(reader->Read(&e));
  } while (!(e.has_template_() && e.template_().name() == "watch-tmpl"));
  EXPECT_EQ(e.template_id(), t.id());
  EXPECT_EQ(e.template_().clone_count(), 0u);
  CloneFromTemplateRequest clone_req;
  clone_req.set_template_name("watch-tmpl");
  clone_req.set_new_volume_name("watch-tclone");
  cleanup_.insert(cleanup_.begin(), "watch-tclone");
  {
    grpc::ClientContext c;
    ASSERT_TRUE(stub_->CloneFromTemplate(&c, clone_req, &clone).ok());
  }
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.template_().clone_count(), 1u) << "clone_count changes are events too";
  ASSERT_TRUE(Delete("watch-tclone").ok());
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.template_().clone_count(), 0u);
  DeleteTemplateRequest del;
  del.set_name("watch-tmpl");
  DeleteTemplateResponse resp;
  {
    grpc::ClientContext c;
    ASSERT_TRUE(stub_->DeleteTemplate(&c, del, &resp).ok());
  }
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.template_id(), t.id());
  EXPECT_FALSE(e.has_template_()) << "no payload means deleted";
  EXPECT_FALSE(e.has_import_job());
  ctx.TryCancel();
}

// A subscriber that reads one event and then nothing, on a daemon of its
// own started with `daemon_args`, while `rounds` atomic snapshots of
// `volumes` volumes publish ever larger events (each carries every
// snapshot of its volume): they soon outgrow the transport's window.
class StalledSubscriber {
 public:
  StalledSubscriber(const std::string& socket, std::vector<std::string> daemon_args, int volumes,
                    const std::string& prefix)
      : pool_("mvwatch"), daemon_(pool_.name(), socket, std::move(daemon_args)), prefix_(prefix) {
    EXPECT_TRUE(daemon_.WaitUntilServing()) << daemon_.Log();
    // A window that stays small (no BDP growth): a client that does not
    // read really stops the server's writes.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
    stub_ = ZfsService::NewStub(
        grpc::CreateCustomChannel(daemon_.endpoint(), grpc::InsecureChannelCredentials(), args));
    for (int i = 0; i < volumes; ++i) {
      Volume v;
      EXPECT_TRUE(CreateOn(*stub_, prefix_ + std::to_string(i), &v).ok());
      snap_.add_volume_names(prefix_ + std::to_string(i));
    }
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    reader_ = stub_->WatchVolumes(&ctx_, WatchVolumesRequest());
    VolumeEvent first;
    EXPECT_TRUE(reader_->Read(&first));  // subscribed; from now on nothing is read
  }
  // Takes up to `rounds` snapshots of every volume at once, stopping early
  // once `enough` says so; each must succeed whatever the subscriber does.
  // Returns how many rounds it took.
  int MakeEvents(
      int rounds, const std::function<bool()>& enough = [] { return false; }) {
    int made = 0;
    while (made < rounds && !enough()) {
      snap_.set_snapshot_name(std::string(90, 'x') + std::to_string(made++));
      grpc::ClientContext c;
      CreateSnapshotsResponse r;
      EXPECT_TRUE(stub_->CreateSnapshots(&c, snap_, &r).ok())
          << "mutations never wait for watchers";
    }
    return made;
  }
  // Reads whatever is left; returns how the stream ended.
  grpc::Status Drain() {
    VolumeEvent e;
    while (reader_->Read(&e)) {
    }
    return reader_->Finish();
  }
  DaemonProcess& daemon() { return daemon_; }

 private:
  ScratchPool pool_;  // a daemon of its own needs a pool of its own
  DaemonProcess daemon_;
  std::string prefix_;
  std::unique_ptr<ZfsService::Stub> stub_;
  CreateSnapshotsRequest snap_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<VolumeEvent>> reader_;
};

TEST(WatchStall, ASubscriberThatStopsReadingIsDisconnected) {
  // No overflow here (a large buffer): only the stalled write ends it.
  StalledSubscriber stalled("/run/mvirt-zfs-watch3.sock",
                            {"--watch-buffer", "100000", "--watch-stall-timeout", "3"}, 5,
                            "watch-stall-");
  auto disconnected = [&] {
    return stalled.daemon().Log().find("has not read for 3s; disconnecting it") !=
           std::string::npos;
  };
  int rounds = stalled.MakeEvents(25, disconnected);
  std::cout << "the stall was found after " << rounds << " rounds of snapshots\n";
  for (int i = 0; i < 100 && !disconnected(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(disconnected()) << stalled.daemon().Log();
  EXPECT_EQ(stalled.Drain().error_code(), grpc::StatusCode::CANCELLED);
  int status = stalled.daemon().StopWith(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << stalled.daemon().Log();
}

TEST(WatchOverflow, ASlowSubscriberIsDisconnectedWithAClearStatus) {
  // A tiny buffer: the subscriber falls behind by more than 2 events. No
  // stall limit in reach: however long the events take to make, only the
  // overflow ends the stream, and the client sees it once it reads on.
  StalledSubscriber stalled("/run/mvirt-zfs-watch.sock",
                            {"--watch-buffer", "2", "--watch-stall-timeout", "86400"}, 10,
                            "watch-slow-");
  stalled.MakeEvents(3);
  grpc::Status s = stalled.Drain();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("resubscribe")) << s.error_message();
  int status = stalled.daemon().StopWith(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << stalled.daemon().Log();
}

TEST(WatchFanOut, AHundredSubscribersConnectingAtOnceGetTheStateAndTheNextEvent) {
  // mvirt's node agents all resubscribe at once after a daemon restart. The
  // current state is read off gRPC's threads, once for all who wait, so
  // that no subscriber's writes stall behind the others' reads (a short
  // stall limit would disconnect them).
  ScratchPool pool("mvwatch");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-watch4.sock",
                       {"--watch-stall-timeout", "5", "--max-watchers", "200"});
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = ZfsService::NewStub(
      grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
  constexpr int kVolumes = 10;
  for (int i = 0; i < kVolumes; ++i) {
    Volume v;
    ASSERT_TRUE(CreateOn(*stub, "fan-" + std::to_string(i), &v).ok());
  }
  // A hundred subscribers over ten connections. (A hundred connections from
  // this one process once left the next test's daemon unreachable from it
  // for minutes: the client side, not the daemon, which sees 100 streams
  // either way.)
  constexpr int kSubscribers = 100;
  constexpr int kConnections = 10;
  std::vector<std::unique_ptr<ZfsService::Stub>> stubs;
  for (int i = 0; i < kConnections; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("mvirt.test.connection", i);  // no connection shared between channels
    stubs.push_back(ZfsService::NewStub(
        grpc::CreateCustomChannel(daemon.endpoint(), grpc::InsecureChannelCredentials(), args)));
  }
  std::vector<std::unique_ptr<VolumeWatch>> watches;
  for (int i = 0; i < kSubscribers; ++i) {
    watches.push_back(std::make_unique<VolumeWatch>(*stubs[i % kConnections]));
  }
  for (auto& watch : watches) {
    std::set<std::string> seen;
    watch->ReadUntil([&](const VolumeEvent& e) {
      if (e.has_volume()) seen.insert(e.volume().name());
      return seen.size() == kVolumes;
    });
    EXPECT_EQ(seen.size(), kVolumes);
  }
  Volume late;
  ASSERT_TRUE(CreateOn(*stub, "fan-late", &late).ok());
  for (auto& watch : watches) {
    auto events = watch->ReadUntil(IsVolume("fan-late"));
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().volume_id(), late.id());
  }
  EXPECT_THAT(daemon.Log(), ::testing::Not(HasSubstr("disconnecting"))) << daemon.Log();
  // Every call ended and every channel closed before the daemon stops.
  for (auto& watch : watches) watch->Cancel();
  watches.clear();
  stubs.clear();
  int status = daemon.StopWith(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << daemon.Log();
}

TEST(WatchShutdown, SigtermEndsOpenStreamsPromptly) {
  ScratchPool pool("mvwatch");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-watch2.sock");
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = ZfsService::NewStub(
      grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
  Volume v;
  ASSERT_TRUE(CreateOn(*stub, "watch-shutdown", &v).ok());
  grpc::ClientContext ctx;
  auto reader = stub->WatchVolumes(&ctx, WatchVolumesRequest());
  VolumeEvent e;
  ASSERT_TRUE(reader->Read(&e)) << "the stream is live on the server";
  auto start = std::chrono::steady_clock::now();
  int status = daemon.StopWith(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << daemon.Log();
  // Well under the 30 s shutdown deadline: the stream was ended, not waited out.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  while (reader->Read(&e)) {
  }
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

}  // namespace
}  // namespace mvirt::zfs::testing
