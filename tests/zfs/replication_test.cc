// Real-ZFS tests of the stream RPCs between two hosts: the shared test
// daemon (pool mvtest) sends, a second daemon on a pool of its own
// (mvrecv) receives, as two mvirt nodes would. The test process carries
// the stream from one to the other: SendVolume's messages become
// ReceiveVolume's. Asserted as an operator would: bytes read back from both
// devices, ids and guids, what the receiving pool lists, resume tokens, and
// that refused receives leave the receiving pool unchanged.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/ascii.h"
#include "api_fixture.h"
#include "grpc_status_matchers.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kTargetPool[] = "mvrecv";
constexpr char kTargetSocket[] = "/run/mvirt-zfs-mvrecv.sock";
constexpr size_t kChunk = 256 * 1024;

// What SendVolume produced.
struct Sent {
  grpc::Status status;
  SendStreamInfo info;
  std::string stream;
};

Sent SendAll(ZfsService::Stub& stub, const SendVolumeRequest& request) {
  Sent out;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  auto reader = stub.SendVolume(&ctx, request);
  SendVolumeResponse message;
  bool first = true;
  while (reader->Read(&message)) {
    if (first) {
      EXPECT_TRUE(message.has_info()) << "the first message carries the info";
      out.info = message.info();
      first = false;
    }
    out.stream += message.data();
  }
  out.status = reader->Finish();
  return out;
}

Sent Send(ZfsService::Stub& stub, const std::string& volume, const std::string& snapshot,
          const std::string& from = "") {
  SendVolumeRequest request;
  request.set_volume_name(volume);
  request.set_snapshot_name(snapshot);
  request.set_from_snapshot(from);
  return SendAll(stub, request);
}

struct Received {
  grpc::Status status;
  ReceiveVolumeResponse response;
};

// Feeds `stream` (its first `length` bytes; all by default) to ReceiveVolume
// as `target`, then (if `target_again`) a message naming the target again,
// then ends the call's writes.
Received ReceiveStream(ZfsService::Stub& stub, const ReceiveTarget& target,
                       const std::string& stream, size_t length = std::string::npos,
                       bool target_again = false) {
  Received out;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  auto writer = stub.ReceiveVolume(&ctx, &out.response);
  ReceiveVolumeRequest first;
  *first.mutable_target() = target;
  bool open = writer->Write(first);
  const size_t end = std::min(length, stream.size());
  for (size_t at = 0; open && at < end; at += kChunk) {
    ReceiveVolumeRequest message;
    message.set_data(stream.substr(at, std::min(kChunk, end - at)));
    open = writer->Write(message);
  }
  if (open && target_again) open = writer->Write(first);
  if (open) writer->WritesDone();
  out.status = writer->Finish();
  return out;
}

// The target that keeps the sender's ids, as a replicating node does.
ReceiveTarget TargetFor(const std::string& name, const SendStreamInfo& info) {
  ReceiveTarget target;
  target.set_volume_name(name);
  target.set_volume_id(info.volume_id());
  target.set_snapshot_id(info.snapshot().id());
  return target;
}

// `length` bytes that lz4 cannot shrink, so that the stream is as long.
std::string RandomBytes(size_t length, unsigned seed) {
  std::mt19937 gen(seed);
  std::string out(length, '\0');
  for (char& c : out) c = static_cast<char>(gen());
  return out;
}

class Replication : public ApiTest {
 protected:
  static void SetUpTestSuite() {
    pool_ = new ScratchPool(kTargetPool);
    StartTarget();
  }
  static void TearDownTestSuite() {
    delete target_;
    target_ = nullptr;
    delete pool_;
    pool_ = nullptr;
  }
  static void StartTarget() {
    target_ = new DaemonProcess(kTargetPool, kTargetSocket);
    ASSERT_TRUE(target_->WaitUntilServing()) << target_->Log();
  }

  void SetUp() override {
    ApiTest::SetUp();
    ASSERT_NE(target_, nullptr);
    target_stub_ = ZfsService::NewStub(
        grpc::CreateChannel(target_->endpoint(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    for (const std::string& name : target_cleanup_) {
      DestroyDataset(std::string(kTargetPool) + "/" + name);
      DestroyDataset(std::string(kTargetPool) + "/.mvirt/receiving/" + name);
    }
    ApiTest::TearDown();
  }

  // A source volume of 64 MiB with `data` written at `offset`, and snapshot
  // `snapshot` of it.
  Volume SourceWith(const std::string& name, uint64_t offset, const std::string& data,
                    const std::string& snapshot) {
    Volume v;
    EXPECT_THAT(Create(name, 64 * kMiB, &v), GrpcIsOk());
    WriteDevice(v.path(), offset, data);
    EXPECT_THAT(Snapshot(name, snapshot), GrpcIsOk());
    return v;
  }

  Received ReceiveOnTarget(const ReceiveTarget& target, const std::string& stream,
                           size_t length = std::string::npos, bool target_again = false) {
    target_cleanup_.push_back(target.volume_name());
    return ReceiveStream(*target_stub_, target, stream, length, target_again);
  }

  ReceiveState TargetReceiveState(const std::string& name) {
    GetReceiveStateRequest request;
    request.set_volume_name(name);
    ReceiveState state;
    grpc::ClientContext ctx;
    EXPECT_THAT(target_stub_->GetReceiveState(&ctx, request, &state), GrpcIsOk());
    return state;
  }

  grpc::Status AbortOnTarget(const std::string& name) {
    AbortReceiveRequest request;
    request.set_volume_name(name);
    AbortReceiveResponse response;
    grpc::ClientContext ctx;
    return target_stub_->AbortReceive(&ctx, request, &response);
  }

  std::vector<std::string> TargetVolumeNames() {
    grpc::ClientContext ctx;
    ListVolumesResponse response;
    EXPECT_THAT(target_stub_->ListVolumes(&ctx, ListVolumesRequest(), &response), GrpcIsOk());
    std::vector<std::string> names;
    for (const Volume& v : response.volumes()) names.push_back(v.name());
    return names;
  }

  static std::string TargetDataset(const std::string& name) {
    return std::string(kTargetPool) + "/" + name;
  }

  static ScratchPool* pool_;
  static DaemonProcess* target_;
  std::unique_ptr<ZfsService::Stub> target_stub_;
  std::vector<std::string> target_cleanup_;
};

ScratchPool* Replication::pool_ = nullptr;
DaemonProcess* Replication::target_ = nullptr;

TEST_F(Replication, FullThenIncrementalMakeTheSameVolumeWithTheSameIds) {
  const std::string first = Pattern('a', 1 * kMiB);
  Volume source = SourceWith("rep-full", 0, first, "s1");

  Sent full = Send(*stub_, "rep-full", "s1");
  ASSERT_THAT(full.status, GrpcIsOk());
  EXPECT_EQ(full.info.volume_id(), source.id());
  EXPECT_EQ(full.info.snapshot().name(), "s1");
  EXPECT_EQ(full.info.from_snapshot(), "");
  EXPECT_GT(full.info.estimated_bytes(), 0u);
  EXPECT_EQ(std::to_string(full.info.snapshot_guid()), ZfsGet(kPool + "/rep-full@s1", "guid"));
  Received made = ReceiveOnTarget(TargetFor("rep-full", full.info), full.stream);
  ASSERT_THAT(made.status, GrpcIsOk());
  EXPECT_EQ(made.response.volume().id(), source.id()) << "the volume keeps its id";
  EXPECT_EQ(made.response.snapshot().id(), full.info.snapshot().id()) << "so does the snapshot";
  EXPECT_EQ(made.response.received_bytes(), full.stream.size());
  EXPECT_EQ(made.response.volume().volsize_bytes(), source.volsize_bytes());
  EXPECT_EQ(made.response.volume().path(), "/dev/zvol/mvrecv/rep-full");
  EXPECT_EQ(ZfsGet(TargetDataset("rep-full"), "mvirt:id"), source.id());
  EXPECT_EQ(ZfsGet(TargetDataset("rep-full") + "@s1", "guid"),
            ZfsGet(kPool + "/rep-full@s1", "guid"));
  EXPECT_EQ(ZfsGet(TargetDataset("rep-full"), "volmode"), "dev");
  EXPECT_EQ(DeviceDatasetName("/dev/zvol/mvrecv/rep-full"), TargetDataset("rep-full"));
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-full", 0, first.size()), first);
  EXPECT_FALSE(DatasetExists(std::string(kTargetPool) + "/.mvirt/receiving/rep-full"));

  // Data written between the snapshots travels as an increment.
  const std::string second = Pattern('q', 1 * kMiB);
  WriteDevice(source.path(), 16 * kMiB, second);
  ASSERT_THAT(Snapshot("rep-full", "s2"), GrpcIsOk());
  Sent increment = Send(*stub_, "rep-full", "s2", "s1");
  ASSERT_THAT(increment.status, GrpcIsOk());
  EXPECT_EQ(increment.info.from_snapshot(), "s1");
  EXPECT_EQ(increment.info.from_guid(), full.info.snapshot_guid());
  EXPECT_LT(increment.stream.size(), full.stream.size() + second.size());
  Received updated = ReceiveOnTarget(TargetFor("rep-full", increment.info), increment.stream);
  ASSERT_THAT(updated.status, GrpcIsOk());
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-full", 16 * kMiB, second.size()), second);
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-full", 0, first.size()), first);
  Volume after;
  ASSERT_THAT(Get("rep-full", &after), GrpcIsOk());
  ASSERT_EQ(updated.response.volume().snapshots_size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(updated.response.volume().snapshots(i).name(), after.snapshots(i).name());
    EXPECT_EQ(updated.response.volume().snapshots(i).id(), after.snapshots(i).id());
  }

  // Sending the same increment again (a retry) changes nothing and says OK.
  const std::string before_retry = PoolState(kTargetPool);
  Received again = ReceiveOnTarget(TargetFor("rep-full", increment.info), increment.stream);
  EXPECT_THAT(again.status, GrpcIsOk());
  EXPECT_EQ(PoolState(kTargetPool), before_retry);

  // The base may be named by its guid (the newest snapshot both sides share).
  WriteDevice(source.path(), 32 * kMiB, Pattern('z', 4096));
  ASSERT_THAT(Snapshot("rep-full", "s3"), GrpcIsOk());
  SendVolumeRequest by_guid;
  by_guid.set_volume_name("rep-full");
  by_guid.set_snapshot_name("s3");
  by_guid.set_from_guid(increment.info.snapshot_guid());
  Sent third = SendAll(*stub_, by_guid);
  ASSERT_THAT(third.status, GrpcIsOk());
  EXPECT_EQ(third.info.from_snapshot(), "s2");
  ASSERT_THAT(ReceiveOnTarget(TargetFor("rep-full", third.info), third.stream).status, GrpcIsOk());
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-full", 32 * kMiB, 4096), Pattern('z', 4096));
}

TEST_F(Replication, AnIncrementalReceiveIsRefusedWhileTheDeviceIsOpen) {
  Volume source = SourceWith("rep-open", 0, Pattern('b', 64 * 1024), "s1");
  Sent full = Send(*stub_, "rep-open", "s1");
  ASSERT_THAT(full.status, GrpcIsOk());
  ASSERT_THAT(ReceiveOnTarget(TargetFor("rep-open", full.info), full.stream).status, GrpcIsOk());
  WriteDevice(source.path(), 0, Pattern('c', 64 * 1024));
  ASSERT_THAT(Snapshot("rep-open", "s2"), GrpcIsOk());
  Sent increment = Send(*stub_, "rep-open", "s2", "s1");
  ASSERT_THAT(increment.status, GrpcIsOk());

  // A VM on the receiving host has the disk open.
  int vm = ::open("/dev/zvol/mvrecv/rep-open", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(vm, 0);
  const std::string before = PoolState(kTargetPool);
  Received refused = ReceiveOnTarget(TargetFor("rep-open", increment.info), increment.stream);
  EXPECT_THAT(refused.status,
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("is in use by")));
  EXPECT_THAT(refused.status.error_message(), HasSubstr(std::to_string(::getpid())))
      << "names the process holding it";
  EXPECT_EQ(PoolState(kTargetPool), before) << "the refused receive changed the pool";
  EXPECT_EQ(TargetReceiveState("rep-open").resume_token(), "");
  ::close(vm);

  Received received = ReceiveOnTarget(TargetFor("rep-open", increment.info), increment.stream);
  ASSERT_THAT(received.status, GrpcIsOk());
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-open", 0, 64 * 1024), Pattern('c', 64 * 1024));
}

TEST_F(Replication, ACutStreamIsNeverListedAndResumesWithoutResendingWhatArrived) {
  const std::string data = RandomBytes(8 * kMiB, 7);
  SourceWith("rep-cut", 0, data, "s1");
  Sent full = Send(*stub_, "rep-cut", "s1");
  ASSERT_THAT(full.status, GrpcIsOk());
  ASSERT_GT(full.stream.size(), 8 * kMiB);
  const size_t cut = full.stream.size() / 2;

  Received cut_short = ReceiveOnTarget(TargetFor("rep-cut", full.info), full.stream, cut);
  EXPECT_THAT(cut_short.status,
              GrpcStatusIs(grpc::StatusCode::ABORTED, HasSubstr("what arrived is kept")));
  EXPECT_THAT(TargetVolumeNames(), ::testing::Not(::testing::Contains("rep-cut")))
      << "a half-received volume is not listed";
  EXPECT_FALSE(DatasetExists(TargetDataset("rep-cut")));
  ReceiveState state = TargetReceiveState("rep-cut");
  ASSERT_NE(state.resume_token(), "");
  EXPECT_TRUE(state.creating());

  // A new full stream may not start over what waits to be resumed.
  Received again = ReceiveOnTarget(TargetFor("rep-cut", full.info), full.stream, 4096);
  EXPECT_THAT(again.status, GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                                         HasSubstr("an interrupted receive")));

  SendVolumeRequest resume;
  resume.set_volume_name("rep-cut");
  resume.set_resume_token(state.resume_token());
  Sent rest = SendAll(*stub_, resume);
  ASSERT_THAT(rest.status, GrpcIsOk());
  EXPECT_TRUE(rest.info.resuming());
  EXPECT_EQ(rest.info.snapshot().id(), full.info.snapshot().id());
  EXPECT_LT(rest.stream.size(), full.stream.size() - cut / 2)
      << "the resumed stream resends what had arrived";
  Received done = ReceiveOnTarget(TargetFor("rep-cut", rest.info), rest.stream);
  ASSERT_THAT(done.status, GrpcIsOk());
  EXPECT_EQ(done.response.volume().id(), full.info.volume_id());
  EXPECT_EQ(done.response.snapshot().id(), full.info.snapshot().id());
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-cut", 0, data.size()), data);
  EXPECT_EQ(TargetReceiveState("rep-cut").resume_token(), "");
  EXPECT_FALSE(DatasetExists(std::string(kTargetPool) + "/.mvirt/receiving/rep-cut"));
}

TEST_F(Replication, AnAbortedReceiveLeavesNothingBehind) {
  Volume source = SourceWith("rep-abort", 0, RandomBytes(4 * kMiB, 3), "s1");
  Sent full = Send(*stub_, "rep-abort", "s1");
  ASSERT_THAT(full.status, GrpcIsOk());

  // A full receive cut by a second target message (which only the first
  // may carry), dropped: the name is free again.
  ASSERT_THAT(ReceiveOnTarget(TargetFor("rep-abort", full.info), full.stream,
                              full.stream.size() / 2, /*target_again=*/true)
                  .status,
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           AllOf(HasSubstr("only the first message"), HasSubstr("kept"))));
  ASSERT_THAT(AbortOnTarget("rep-abort"), GrpcIsOk());
  EXPECT_EQ(TargetReceiveState("rep-abort").resume_token(), "");
  EXPECT_THAT(AbortOnTarget("rep-abort"), GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_FALSE(DatasetExists(std::string(kTargetPool) + "/.mvirt/receiving/rep-abort"));

  // A cut increment, dropped: the volume stays as it was. (A stray target
  // message after a complete stream changes nothing: the receive is done.)
  ASSERT_THAT(ReceiveOnTarget(TargetFor("rep-abort", full.info), full.stream, std::string::npos,
                              /*target_again=*/true)
                  .status,
              GrpcIsOk());
  WriteDevice(source.path(), 0, RandomBytes(4 * kMiB, 4));
  ASSERT_THAT(Snapshot("rep-abort", "s2"), GrpcIsOk());
  Sent increment = Send(*stub_, "rep-abort", "s2", "s1");
  ASSERT_THAT(increment.status, GrpcIsOk());
  const std::string before = PoolListing(kTargetPool);
  ASSERT_THAT(ReceiveOnTarget(TargetFor("rep-abort", increment.info), increment.stream,
                              increment.stream.size() / 2)
                  .status,
              GrpcStatusIs(grpc::StatusCode::ABORTED));
  ReceiveState state = TargetReceiveState("rep-abort");
  EXPECT_NE(state.resume_token(), "");
  EXPECT_FALSE(state.creating());
  // Meanwhile the volume's data is what it was.
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-abort", 0, 4096),
            RandomBytes(4 * kMiB, 3).substr(0, 4096));
  ASSERT_THAT(AbortOnTarget("rep-abort"), GrpcIsOk());
  EXPECT_EQ(PoolListing(kTargetPool), before);
  EXPECT_EQ(TargetReceiveState("rep-abort").resume_token(), "");
}

// A sender that never comes back: once nothing has touched an interrupted
// receive for --abandon-receive-after, its partial data goes (the volume an
// increment was for stays as it was). A restart counts as a touch.
TEST_F(Replication, AnAbandonedReceiveIsDroppedOnceIdleLongEnough) {
  const std::string first = RandomBytes(4 * kMiB, 31);
  Volume source = SourceWith("rep-idle", 0, first, "s1");
  Sent full = Send(*stub_, "rep-idle", "s1");
  ASSERT_THAT(full.status, GrpcIsOk());
  WriteDevice(source.path(), 0, RandomBytes(4 * kMiB, 32));
  ASSERT_THAT(Snapshot("rep-idle", "s2"), GrpcIsOk());
  Sent increment = Send(*stub_, "rep-idle", "s2", "s1");
  ASSERT_THAT(increment.status, GrpcIsOk());
  ASSERT_THAT(ReceiveOnTarget(TargetFor("rep-idle", full.info), full.stream).status, GrpcIsOk());
  ASSERT_THAT(ReceiveOnTarget(TargetFor("rep-idle", increment.info), increment.stream,
                              increment.stream.size() / 2)
                  .status,
              GrpcStatusIs(grpc::StatusCode::ABORTED));
  ReceiveTarget fresh;  // a new volume (an id of its own) cut short
  fresh.set_volume_name("rep-idle-new");
  ASSERT_THAT(ReceiveOnTarget(fresh, full.stream, full.stream.size() / 2).status,
              GrpcStatusIs(grpc::StatusCode::ABORTED));
  const std::string staging = std::string(kTargetPool) + "/.mvirt/receiving/rep-idle-new";
  ASSERT_TRUE(DatasetExists(staging));

  // Watched through ZFS: a GetReceiveState would touch them.
  auto token_of = [](const std::string& dataset) {
    return Shell("zfs get -H -o value receive_resume_token " + dataset).output;
  };
  ASSERT_NE(token_of(TargetDataset("rep-idle")), "-\n");

  struct RestoreTarget {
    ~RestoreTarget() {
      delete target_;
      StartTarget();
    }
  } restore;
  delete target_;
  // The restart touches both (the daemon starts after this instant).
  const auto restarted = std::chrono::steady_clock::now();
  target_ = new DaemonProcess(kTargetPool, kTargetSocket, {"--abandon-receive-after", "5"});
  ASSERT_TRUE(target_->WaitUntilServing()) << target_->Log();
  target_stub_ = ZfsService::NewStub(
      grpc::CreateChannel(target_->endpoint(), grpc::InsecureChannelCredentials()));
  for (int i = 0;
       i < 240 && (DatasetExists(staging) || token_of(TargetDataset("rep-idle")) != "-\n"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_FALSE(DatasetExists(staging));
  EXPECT_EQ(token_of(TargetDataset("rep-idle")), "-\n");
  EXPECT_GE(std::chrono::steady_clock::now() - restarted, std::chrono::seconds(5))
      << "dropped before it was idle for 5 s since the restart";
  EXPECT_THAT(target_->WaitForLog("dropped the interrupted receive into 'rep-idle'"),
              HasSubstr("untouched for 5s"));
  // The volume the increment was for is as it was, and takes it again.
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-idle", 0, 4096), first.substr(0, 4096));
  EXPECT_THAT(ReceiveOnTarget(TargetFor("rep-idle", increment.info), increment.stream).status,
              GrpcIsOk());
}

TEST_F(Replication, ReceivingDaemonKilledMidStreamRestartsWithNothingHalfMadeAndResumes) {
  const std::string data = RandomBytes(8 * kMiB, 11);
  SourceWith("rep-kill", 0, data, "s1");
  Sent full = Send(*stub_, "rep-kill", "s1");
  ASSERT_THAT(full.status, GrpcIsOk());
  target_cleanup_.push_back("rep-kill");

  // Half the stream, then the receiving daemon dies (SIGKILL) with the call
  // still open.
  grpc::ClientContext ctx;
  ReceiveVolumeResponse response;
  auto writer = target_stub_->ReceiveVolume(&ctx, &response);
  ReceiveVolumeRequest first;
  *first.mutable_target() = TargetFor("rep-kill", full.info);
  ASSERT_TRUE(writer->Write(first));
  for (size_t at = 0; at < full.stream.size() / 2; at += kChunk) {
    ReceiveVolumeRequest message;
    message.set_data(full.stream.substr(at, kChunk));
    ASSERT_TRUE(writer->Write(message));
  }
  // Let the daemon pass what it got to ZFS before it dies.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  target_->StopWith(SIGKILL);
  EXPECT_FALSE(writer->Finish().ok());
  delete target_;
  target_ = nullptr;
  StartTarget();
  target_stub_ = ZfsService::NewStub(
      grpc::CreateChannel(target_->endpoint(), grpc::InsecureChannelCredentials()));

  EXPECT_THAT(TargetVolumeNames(), ::testing::Not(::testing::Contains("rep-kill")));
  ReceiveState state = TargetReceiveState("rep-kill");
  ASSERT_NE(state.resume_token(), "") << "what arrived before the kill is kept";
  SendVolumeRequest resume;
  resume.set_volume_name("rep-kill");
  resume.set_resume_token(state.resume_token());
  Sent rest = SendAll(*stub_, resume);
  ASSERT_THAT(rest.status, GrpcIsOk());
  EXPECT_LT(rest.stream.size(), full.stream.size());
  ASSERT_THAT(ReceiveOnTarget(TargetFor("rep-kill", rest.info), rest.stream).status, GrpcIsOk());
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-kill", 0, data.size()), data);
}

TEST_F(Replication, RefusedStreamsAndTargetsChangeNothing) {
  Volume source = SourceWith("rep-bad", 0, Pattern('d', 64 * 1024), "s1");
  ASSERT_THAT(Snapshot("rep-bad", "s2"), GrpcIsOk());
  ASSERT_THAT(Snapshot("rep-bad", "s3"), GrpcIsOk());
  Sent full = Send(*stub_, "rep-bad", "s1");
  ASSERT_THAT(full.status, GrpcIsOk());
  const std::string before = PoolState(kTargetPool);

  ReceiveTarget target = TargetFor("rep-bad", full.info);
  EXPECT_THAT(ReceiveOnTarget(target, std::string(4096, 'x')).status,
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ReceiveOnTarget(target, full.stream.substr(0, 100)).status,
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("before its first")));
  ReceiveTarget bad_name = target;
  bad_name.set_volume_name("../escape");
  EXPECT_THAT(ReceiveOnTarget(bad_name, full.stream).status,
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  ReceiveTarget bad_id = target;
  bad_id.set_volume_id("not-a-uuid");
  EXPECT_THAT(ReceiveOnTarget(bad_id, full.stream).status,
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(PoolState(kTargetPool), before) << "a refused stream changed the pool";

  // An increment whose base the target lacks (it has no such volume yet).
  Sent increment = Send(*stub_, "rep-bad", "s3", "s2");
  ASSERT_THAT(increment.status, GrpcIsOk());
  EXPECT_THAT(ReceiveOnTarget(TargetFor("rep-bad", increment.info), increment.stream).status,
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
  // ...and once it has s1 only.
  ASSERT_THAT(ReceiveOnTarget(target, full.stream).status, GrpcIsOk());
  const std::string with_s1 = PoolState(kTargetPool);
  EXPECT_THAT(ReceiveOnTarget(TargetFor("rep-bad", increment.info), increment.stream).status,
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(PoolState(kTargetPool), with_s1);
  // An increment whose base the target has, but for another volume id, or
  // into a volume written since its base.
  Sent next = Send(*stub_, "rep-bad", "s2", "s1");
  ASSERT_THAT(next.status, GrpcIsOk());
  ReceiveTarget stranger = TargetFor("rep-bad", next.info);
  stranger.set_volume_id(kId2);
  EXPECT_THAT(ReceiveOnTarget(stranger, next.stream).status,
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("volume id")));
  EXPECT_EQ(PoolState(kTargetPool), with_s1);
  WriteDevice("/dev/zvol/mvrecv/rep-bad", 0, Pattern('w', 4096));
  const std::string written = PoolState(kTargetPool);
  EXPECT_THAT(ReceiveOnTarget(TargetFor("rep-bad", next.info), next.stream).status,
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(PoolState(kTargetPool), written);
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-bad", 0, 4096), Pattern('w', 4096));
  // A full stream into a name that is taken.
  ReceiveTarget other_id = target;
  other_id.set_volume_id(kId2);
  EXPECT_THAT(ReceiveOnTarget(other_id, full.stream).status,
              GrpcStatusIs(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_EQ(PoolState(kTargetPool), written);

  // The sender's refusals: a base guid nobody has, a base not older.
  SendVolumeRequest unknown_base;
  unknown_base.set_volume_name("rep-bad");
  unknown_base.set_snapshot_name("s3");
  unknown_base.set_from_guid(12345);
  EXPECT_THAT(SendAll(*stub_, unknown_base).status,
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("send in full")));
  EXPECT_THAT(Send(*stub_, "rep-bad", "s1", "s3").status,
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("not older")));
  EXPECT_THAT(Send(*stub_, "rep-bad", "nope").status, GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
  SendVolumeRequest forged;
  forged.set_volume_name("rep-bad");
  forged.set_resume_token("1-abc-1234-789c");
  EXPECT_THAT(SendAll(*stub_, forged).status, GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT));

  // The same volume id received into the sender's own pool: ids are unique.
  Received same_pool = ReceiveStream(*stub_, TargetFor("rep-bad-copy", full.info), full.stream);
  cleanup_.push_back("rep-bad-copy");
  EXPECT_THAT(same_pool.status,
              GrpcStatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("already belongs")));
  EXPECT_FALSE(DatasetExists(kPool + "/rep-bad-copy"));
  (void)source;
}

TEST_F(Replication, TheCliSendsToAFileAndReceivesFromIt) {
  const std::string data = Pattern('e', 256 * 1024);
  SourceWith("rep-cli", 4096, data, "s1");
  target_cleanup_.push_back("rep-cli");
  const std::string file = "/var/tmp/mvirt-zfs-rep-cli.stream";
  CommandResult sent = Shell(CliPath() + " --endpoint " + TestPool::daemon().endpoint() +
                             " volume send rep-cli s1 > " + file);
  ASSERT_EQ(sent.exit_code, 0) << sent.output;
  CommandResult received =
      Shell(CliPath() + " --endpoint unix:" + kTargetSocket + " volume receive rep-cli < " + file);
  ASSERT_EQ(received.exit_code, 0) << received.output;
  EXPECT_THAT(received.output, HasSubstr("received snapshot s1"));
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-cli", 4096, data.size()), data);
  CommandResult state =
      Shell(CliPath() + " --endpoint unix:" + kTargetSocket + " volume receive-state rep-cli");
  EXPECT_EQ(state.exit_code, 0) << state.output;
  EXPECT_THAT(state.output, HasSubstr("no interrupted receive"));
  // The stream is ZFS's own: `zfs receive` takes it too.
  Shell("zfs destroy -r mvrecv/plain 2>/dev/null");
  CommandResult plain = Shell("zfs receive mvrecv/plain < " + file);
  EXPECT_EQ(plain.exit_code, 0) << plain.output;
  DestroyDataset("mvrecv/plain");
  CommandResult tty = Shell("script -qc '" + CliPath() + " --endpoint " +
                            TestPool::daemon().endpoint() + " volume send rep-cli s1' /dev/null");
  EXPECT_THAT(tty.output, HasSubstr("redirect stdout"));
  ::unlink(file.c_str());
}

// The job once it has ended (or as it is after 300 s).
ReplicationJob WaitForJob(ZfsService::Stub& stub, const ReplicationJob& started) {
  ReplicationJob job = started;
  for (int i = 0; i < 600 && job.state() == REPLICATION_JOB_STATE_RUNNING; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    GetReplicationJobRequest request;
    request.set_id(started.id());
    grpc::ClientContext ctx;
    EXPECT_THAT(stub.GetReplicationJob(&ctx, request, &job), GrpcIsOk());
  }
  return job;
}

// Starts a job with `start` (ReplicateVolume, MigrateVolume, ...) and
// waits for its end; the job as it ended.
template <typename Request>
ReplicationJob RunJob(ZfsService::Stub& stub,
                      grpc::Status (ZfsService::Stub::*start)(grpc::ClientContext*, const Request&,
                                                              ReplicationJob*),
                      const Request& request) {
  ReplicationJob job;
  grpc::ClientContext ctx;
  grpc::Status started = (stub.*start)(&ctx, request, &job);
  EXPECT_THAT(started, GrpcIsOk());
  if (!started.ok()) return job;
  return WaitForJob(stub, job);
}

// ReplicateVolume of `volume` to `target` on `stub`, to its end.
ReplicationJob Replicate(ZfsService::Stub& stub, const std::string& volume,
                         const std::string& target) {
  ReplicateVolumeRequest request;
  request.set_volume_name(volume);
  request.set_target(target);
  return RunJob(stub, &ZfsService::Stub::ReplicateVolume, request);
}

// The tags of the user holds on `snapshot`, space-separated ("" if none).
std::string HoldsOf(const std::string& snapshot) {
  CommandResult r = Shell("zfs holds -H " + snapshot + " | cut -f2 | sort | tr '\\n' ' '");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return std::string(absl::StripTrailingAsciiWhitespace(r.output));
}

constexpr char kBaseHold[] = "mvirt-zfs:replication-base";

// The names, ids and guids of a volume's snapshots, one line each.
std::string SnapshotIdentities(const Volume& volume) {
  std::string out;
  for (const auto& s : volume.snapshots()) {
    out += s.name() + " " + s.id() + " " + std::to_string(s.guid()) + "\n";
  }
  return out;
}

TEST_F(Replication, ReplicateVolumeSendsEverySnapshotOnceThenOnlyWhatIsNew) {
  Volume source = SourceWith("rep-job", 0, Pattern('f', 256 * 1024), "s1");
  WriteDevice(source.path(), 8 * kMiB, Pattern('g', 256 * 1024));
  ASSERT_THAT(Snapshot("rep-job", "s2"), GrpcIsOk());
  target_cleanup_.push_back("rep-job");
  const std::string target = std::string("unix:") + kTargetSocket;

  ReplicationJob first = Replicate(*stub_, "rep-job", target);
  ASSERT_EQ(first.state(), REPLICATION_JOB_STATE_COMPLETED) << first.error();
  EXPECT_THAT(first.snapshots_sent(), ::testing::ElementsAre("s1", "s2"));
  EXPECT_GT(first.bytes_sent(), 0u);
  EXPECT_GT(first.total_bytes(), 0u);
  Volume here, there;
  ASSERT_THAT(Get("rep-job", &here), GrpcIsOk());
  {
    GetVolumeRequest request;
    request.set_name("rep-job");
    grpc::ClientContext ctx;
    ASSERT_THAT(target_stub_->GetVolume(&ctx, request, &there), GrpcIsOk());
  }
  EXPECT_EQ(there.id(), here.id());
  EXPECT_EQ(SnapshotIdentities(there), SnapshotIdentities(here))
      << "every snapshot keeps its name, id and guid";
  EXPECT_EQ(ReadDevice(there.path(), 8 * kMiB, 256 * 1024), Pattern('g', 256 * 1024));
  // The newest snapshot received is held there as the next base.
  EXPECT_EQ(HoldsOf(TargetDataset("rep-job@s2")), kBaseHold);
  EXPECT_EQ(HoldsOf(TargetDataset("rep-job@s1")), "");

  // Later: only the new snapshot travels.
  WriteDevice(source.path(), 16 * kMiB, Pattern('h', 256 * 1024));
  ASSERT_THAT(Snapshot("rep-job", "s3"), GrpcIsOk());
  ReplicationJob second = Replicate(*stub_, "rep-job", target);
  ASSERT_EQ(second.state(), REPLICATION_JOB_STATE_COMPLETED) << second.error();
  EXPECT_THAT(second.snapshots_sent(), ::testing::ElementsAre("s3"));
  EXPECT_LT(second.bytes_sent(), first.bytes_sent() + 256 * 1024);
  EXPECT_EQ(ReadDevice(there.path(), 16 * kMiB, 256 * 1024), Pattern('h', 256 * 1024));
  ReplicationJob nothing = Replicate(*stub_, "rep-job", target);
  ASSERT_EQ(nothing.state(), REPLICATION_JOB_STATE_COMPLETED) << nothing.error();
  EXPECT_THAT(nothing.snapshots_sent(), IsEmpty());
  // The hold moved to the new base; nobody deletes it by accident, neither
  // through the daemon (which names it) nor by hand.
  EXPECT_EQ(HoldsOf(TargetDataset("rep-job@s3")), kBaseHold);
  EXPECT_EQ(HoldsOf(TargetDataset("rep-job@s2")), "");
  {
    const std::string unchanged = PoolState(kTargetPool);
    DeleteSnapshotRequest request;
    request.set_volume_name("rep-job");
    request.set_snapshot_name("s3");
    DeleteSnapshotResponse response;
    grpc::ClientContext ctx;
    EXPECT_THAT(target_stub_->DeleteSnapshot(&ctx, request, &response),
                GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                             AllOf(HasSubstr(kBaseHold), HasSubstr("newer snapshot arrives"))));
    EXPECT_NE(Shell("zfs destroy " + TargetDataset("rep-job@s3")).exit_code, 0);
    DeleteVolumeRequest delete_volume;
    delete_volume.set_name("rep-job");
    DeleteVolumeResponse deleted;
    grpc::ClientContext ctx2;
    EXPECT_THAT(target_stub_->DeleteVolume(&ctx2, delete_volume, &deleted),
                GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                             AllOf(HasSubstr("rep-job@s3"), HasSubstr("release_holds"))));
    EXPECT_EQ(PoolState(kTargetPool), unchanged);
  }

  // A daemon without --peer-ca never reaches another host in plaintext.
  {
    ReplicateVolumeRequest plain;
    plain.set_volume_name("rep-job");
    plain.set_target("192.0.2.1:50931");
    ReplicationJob none;
    grpc::ClientContext ctx;
    EXPECT_THAT(stub_->ReplicateVolume(&ctx, plain, &none),
                GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("TLS only")));
  }

  // A target whose volume went its own way says why, and keeps its data.
  ASSERT_EQ(Shell("zfs snapshot mvrecv/rep-job@local").exit_code, 0);
  WriteDevice(source.path(), 0, Pattern('i', 4096));
  ASSERT_THAT(Snapshot("rep-job", "s4"), GrpcIsOk());
  const std::string before = PoolState(kTargetPool);
  ReplicationJob diverged = Replicate(*stub_, "rep-job", target);
  EXPECT_EQ(diverged.state(), REPLICATION_JOB_STATE_FAILED);
  EXPECT_THAT(diverged.error(), HasSubstr("newer than 's3'"));
  EXPECT_EQ(PoolState(kTargetPool), before);

  // Deleting the replica on purpose releases the daemon's hold; another
  // hold still refuses, naming its tag.
  ASSERT_EQ(Shell("zfs hold backup-tool " + TargetDataset("rep-job@s1")).exit_code, 0);
  const std::string held = PoolState(kTargetPool);
  DeleteVolumeRequest delete_volume;
  delete_volume.set_name("rep-job");
  delete_volume.set_release_holds(true);
  DeleteVolumeResponse deleted;
  {
    grpc::ClientContext ctx;
    EXPECT_THAT(target_stub_->DeleteVolume(&ctx, delete_volume, &deleted),
                GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("'backup-tool'")));
  }
  EXPECT_EQ(PoolState(kTargetPool), held) << "the refused delete kept the daemon's hold too";
  ASSERT_EQ(Shell("zfs release backup-tool " + TargetDataset("rep-job@s1")).exit_code, 0);
  {
    grpc::ClientContext ctx;
    EXPECT_THAT(target_stub_->DeleteVolume(&ctx, delete_volume, &deleted), GrpcIsOk());
  }
  EXPECT_FALSE(DatasetExists(TargetDataset("rep-job")));
}

TEST_F(Replication, TheFinalMigrationStepWaitsForTheSourceDeviceToClose) {
  Volume source = SourceWith("rep-mig", 0, Pattern('j', 512 * 1024), "base");
  target_cleanup_.push_back("rep-mig");
  const std::string target = std::string("unix:") + kTargetSocket;
  // The VM runs: its disk is open while the rounds copy it.
  int vm = ::open(source.path().c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(vm, 0);
  MigrateVolumeRequest request;
  request.set_volume_name("rep-mig");
  request.set_target(target);
  ReplicationJob rounds = RunJob(*stub_, &ZfsService::Stub::MigrateVolume, request);
  ASSERT_EQ(rounds.state(), REPLICATION_JOB_STATE_COMPLETED) << rounds.error();
  EXPECT_FALSE(rounds.ready());
  ASSERT_GE(rounds.snapshots_sent_size(), 2);
  EXPECT_EQ(rounds.snapshots_sent(0), "base");
  EXPECT_EQ(
      HoldsOf(TargetDataset("rep-mig@" + rounds.snapshots_sent(rounds.snapshots_sent_size() - 1))),
      kBaseHold)
      << "the base of the next round";

  // Written after the rounds: must arrive with the final step.
  const std::string late = Pattern('k', 64 * 1024);
  ASSERT_EQ(::pwrite(vm, late.data(), late.size(), 4 * kMiB), static_cast<ssize_t>(late.size()));
  ASSERT_EQ(::fsync(vm), 0);
  request.set_final(true);
  const std::string before = PoolState(kPool);
  {
    ReplicationJob refused;
    grpc::ClientContext ctx;
    EXPECT_THAT(stub_->MigrateVolume(&ctx, request, &refused),
                GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("stop the VM")));
  }
  EXPECT_EQ(PoolState(kPool), before) << "the refused final step changed the source";
  ::close(vm);

  ReplicationJob final_step = RunJob(*stub_, &ZfsService::Stub::MigrateVolume, request);
  ASSERT_EQ(final_step.state(), REPLICATION_JOB_STATE_COMPLETED) << final_step.error();
  EXPECT_TRUE(final_step.ready());
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-mig", 4 * kMiB, late.size()), late);
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-mig", 0, 512 * 1024), Pattern('j', 512 * 1024));
  Volume kept;
  EXPECT_THAT(Get("rep-mig", &kept), GrpcIsOk()) << "the source stays until the caller deletes it";
  // Migrated, the target's volume is nobody's replica: no hold is left,
  // and a plain DeleteVolume (as mvirt sends) would succeed there.
  EXPECT_EQ(Shell("zfs get -H -o value -r userrefs -t snapshot " + TargetDataset("rep-mig") +
                  " | sort -u")
                .output,
            "0\n");
}

TEST_F(Replication, AJobKeepsItsBandwidthLimitAndACancelledOneResumes) {
  const std::string data = RandomBytes(12 * kMiB, 21);
  SourceWith("rep-slow", 0, data, "s1");
  target_cleanup_.push_back("rep-slow");
  const std::string target = std::string("unix:") + kTargetSocket;
  constexpr uint64_t kLimit = 1 * kMiB;  // bytes per second
  ReplicateVolumeRequest request;
  request.set_volume_name("rep-slow");
  request.set_target(target);
  request.set_bandwidth_limit(kLimit);
  // A watcher of the source's volumes sees the job as it goes.
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  std::unique_ptr<grpc::ClientReader<VolumeEvent>> watch =
      stub_->WatchVolumes(&watch_ctx, WatchVolumesRequest());
  const auto started = std::chrono::steady_clock::now();
  ReplicationJob job;
  {
    grpc::ClientContext ctx;
    ASSERT_THAT(stub_->ReplicateVolume(&ctx, request, &job), GrpcIsOk());
  }
  // Asking again returns the running job; another kind of job is refused.
  {
    ReplicationJob same;
    grpc::ClientContext ctx;
    ASSERT_THAT(stub_->ReplicateVolume(&ctx, request, &same), GrpcIsOk());
    EXPECT_EQ(same.id(), job.id());
    MigrateVolumeRequest migrate;
    migrate.set_volume_name("rep-slow");
    migrate.set_target(target);
    ReplicationJob refused;
    grpc::ClientContext ctx2;
    EXPECT_THAT(stub_->MigrateVolume(&ctx2, migrate, &refused),
                GrpcStatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr(job.id())));
  }
  // Never ahead of the limit: at most limit x time, plus the 1 MiB message
  // in flight.
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    GetReplicationJobRequest get;
    get.set_id(job.id());
    grpc::ClientContext ctx;
    ASSERT_THAT(stub_->GetReplicationJob(&ctx, get, &job), GrpcIsOk());
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_LE(job.bytes_sent(), static_cast<uint64_t>(elapsed * kLimit) + kMiB)
        << "after " << elapsed << " s";
  }
  ASSERT_EQ(job.state(), REPLICATION_JOB_STATE_RUNNING) << "12 MiB at 1 MiB/s takes 12 s";
  {
    CancelReplicationJobRequest cancel;
    cancel.set_id(job.id());
    grpc::ClientContext ctx;
    ASSERT_THAT(stub_->CancelReplicationJob(&ctx, cancel, &job), GrpcIsOk());
  }
  EXPECT_EQ(job.state(), REPLICATION_JOB_STATE_CANCELLED);
  const uint64_t sent_before = job.bytes_sent();
  {
    // From its start to its cancellation, its bytes counted up about once a
    // second, each event with the volume's state.
    std::vector<ReplicationJob> seen;
    VolumeEvent event;
    while ((seen.empty() || seen.back().state() == REPLICATION_JOB_STATE_RUNNING) &&
           watch->Read(&event)) {
      if (!event.has_replication_job()) continue;
      EXPECT_TRUE(event.has_volume()) << "a job event is not a deletion";
      EXPECT_EQ(event.volume().name(), "rep-slow");
      seen.push_back(event.replication_job());
    }
    watch_ctx.TryCancel();
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.front().id(), job.id());
    EXPECT_EQ(seen.back().state(), REPLICATION_JOB_STATE_CANCELLED);
    EXPECT_EQ(seen.back().bytes_sent(), sent_before);
    int progress = 0;
    for (size_t i = 1; i < seen.size(); ++i) {
      EXPECT_GE(seen[i].bytes_sent(), seen[i - 1].bytes_sent());
      progress += seen[i].bytes_sent() > seen[i - 1].bytes_sent() ? 1 : 0;
    }
    EXPECT_GE(progress, 2) << "bytes moved on in at least two events over >3 s";
    EXPECT_GT(seen.back().total_bytes(), 0u);
  }
  // The target notices the cut a moment after the job ended.
  std::string token;
  for (int i = 0; i < 100 && token.empty(); ++i) {
    token = TargetReceiveState("rep-slow").resume_token();
    if (token.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(token, "") << "the target keeps what arrived";

  ReplicationJob rest = Replicate(*stub_, "rep-slow", target);
  ASSERT_EQ(rest.state(), REPLICATION_JOB_STATE_COMPLETED) << rest.error();
  EXPECT_THAT(rest.snapshots_sent(), ::testing::ElementsAre("s1"));
  EXPECT_LT(rest.bytes_sent(), data.size() + 64 * 1024 - sent_before / 2)
      << "the rest of the stream, not all of it";
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecv/rep-slow", 0, data.size()), data);
}

// An encrypted volume travels raw: its blocks stay encrypted on the wire and
// on the target, which needs the source's key to read them; increments
// follow the same way.
TEST_F(Replication, AnEncryptedVolumeTravelsRawAndNeedsItsKeyThere) {
  const std::string key = "/run/mvirt-zfs-test-raw.key";
  ASSERT_EQ(Shell("head -c 32 /dev/urandom > " + key).exit_code, 0);
  const std::string id = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
  cleanup_.push_back("rep-enc");
  target_cleanup_.push_back("rep-enc");
  // Made by hand as the daemon would have made it, encrypted.
  CommandResult made = Shell(
      "zfs create -s -V 64M -o volmode=dev -o encryption=aes-256-gcm "
      "-o keyformat=raw -o keylocation=file://" +
      key + " -o mvirt:id=" + id + " -o mvirt:kind=volume " + kPool + "/rep-enc");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string device = "/dev/zvol/" + kPool + "/rep-enc";
  ASSERT_TRUE(WaitForPath(device));
  const std::string first = Pattern('r', 256 * 1024);
  WriteDevice(device, 0, first);
  ASSERT_THAT(Snapshot("rep-enc", "s1"), GrpcIsOk());
  Volume here;
  ASSERT_THAT(Get("rep-enc", &here), GrpcIsOk());
  EXPECT_TRUE(here.encrypted());
  EXPECT_TRUE(here.key_loaded());

  Sent stream = Send(*stub_, "rep-enc", "s1");
  ASSERT_THAT(stream.status, GrpcIsOk());
  EXPECT_TRUE(stream.info.raw());
  EXPECT_EQ(stream.stream.find(first.substr(0, 4096)), std::string::npos)
      << "the data is on the wire in the clear";

  const std::string target = std::string("unix:") + kTargetSocket;
  ReplicationJob job = Replicate(*stub_, "rep-enc", target);
  ASSERT_EQ(job.state(), REPLICATION_JOB_STATE_COMPLETED) << job.error();
  const std::string there = TargetDataset("rep-enc");
  EXPECT_EQ(ZfsGet(there, "encryptionroot"), there);
  EXPECT_EQ(ZfsGet(there, "keystatus"), "unavailable");
  EXPECT_EQ(ZfsGet(there, "mvirt:id"), id);
  Volume received;
  {
    GetVolumeRequest request;
    request.set_name("rep-enc");
    grpc::ClientContext ctx;
    ASSERT_THAT(target_stub_->GetVolume(&ctx, request, &received), GrpcIsOk());
  }
  EXPECT_TRUE(received.encrypted());
  EXPECT_FALSE(received.key_loaded()) << "no device until the key is loaded";

  // The next increment travels raw too, without the key on the target.
  const std::string second = Pattern('s', 256 * 1024);
  WriteDevice(device, 8 * kMiB, second);
  ASSERT_THAT(Snapshot("rep-enc", "s2"), GrpcIsOk());
  ReplicationJob next = Replicate(*stub_, "rep-enc", target);
  ASSERT_EQ(next.state(), REPLICATION_JOB_STATE_COMPLETED) << next.error();
  EXPECT_THAT(next.snapshots_sent(), ::testing::ElementsAre("s2"));

  // With the source's key, the target reads what was written.
  CommandResult loaded = Shell("zfs load-key -L file://" + key + " " + there);
  ASSERT_EQ(loaded.exit_code, 0) << loaded.output;
  const std::string there_device = "/dev/zvol/" + there;
  ASSERT_TRUE(WaitForPath(there_device));
  EXPECT_EQ(ReadDevice(there_device, 0, first.size()), first);
  EXPECT_EQ(ReadDevice(there_device, 8 * kMiB, second.size()), second);
}

TEST_F(Replication, ATemplateArrivesWithItsIdentityAndClonesThereAreThin) {
  const std::string data = Pattern('m', 1 * kMiB);
  SourceWith("rep-gold", 0, data, "s1");
  {
    PromoteSnapshotRequest promote;
    promote.set_volume_name("rep-gold");
    promote.set_snapshot_name("s1");
    promote.set_template_name("rep-tmpl");
    Template made;
    grpc::ClientContext ctx;
    ASSERT_THAT(stub_->PromoteSnapshotToTemplate(&ctx, promote, &made), GrpcIsOk());
  }
  struct Cleanup {
    ~Cleanup() {
      DestroyDataset("mvrecv/rep-tclone");
      DestroyDataset("mvrecv/.mvirt/templates/rep-tmpl");
      DestroyDataset(kPool + "/.mvirt/templates/rep-tmpl");
    }
  } cleanup;
  const std::string target = std::string("unix:") + kTargetSocket;
  ReplicateTemplateRequest request;
  request.set_template_name("rep-tmpl");
  request.set_target(target);
  ReplicationJob job = RunJob(*stub_, &ZfsService::Stub::ReplicateTemplate, request);
  ASSERT_EQ(job.state(), REPLICATION_JOB_STATE_COMPLETED) << job.error();
  EXPECT_EQ(job.kind(), "replicate-template");
  EXPECT_GT(job.bytes_sent(), 0u);

  auto templates_of = [](ZfsService::Stub& stub) {
    ListTemplatesResponse list;
    grpc::ClientContext ctx;
    EXPECT_THAT(stub.ListTemplates(&ctx, ListTemplatesRequest(), &list), GrpcIsOk());
    std::map<std::string, Template> out;
    for (const Template& t : list.templates()) out[t.name()] = t;
    return out;
  };
  auto here = templates_of(*stub_);
  auto there = templates_of(*target_stub_);
  ASSERT_EQ(there.count("rep-tmpl"), 1u);
  EXPECT_EQ(there["rep-tmpl"].id(), here["rep-tmpl"].id());
  EXPECT_EQ(there["rep-tmpl"].size_bytes(), here["rep-tmpl"].size_bytes());
  EXPECT_EQ(ZfsGet("mvrecv/.mvirt/templates/rep-tmpl", "volmode"), "none") << "no device";
  EXPECT_EQ(ZfsGet("mvrecv/.mvirt/templates/rep-tmpl@template", "guid"),
            ZfsGet(kPool + "/.mvirt/templates/rep-tmpl@template", "guid"));

  // A clone on the target is a thin clone of the received template.
  CloneFromTemplateRequest clone;
  clone.set_template_name("rep-tmpl");
  clone.set_new_volume_name("rep-tclone");
  Volume cloned;
  {
    grpc::ClientContext ctx;
    ASSERT_THAT(target_stub_->CloneFromTemplate(&ctx, clone, &cloned), GrpcIsOk());
  }
  EXPECT_EQ(ZfsGet("mvrecv/rep-tclone", "origin"), "mvrecv/.mvirt/templates/rep-tmpl@template");
  EXPECT_LT(std::stoull(ZfsGet("mvrecv/rep-tclone", "used")), 512 * 1024u) << "thin";
  EXPECT_EQ(ReadDevice(cloned.path(), 0, data.size()), data);

  // Once there, it is not sent again.
  ReplicationJob again = RunJob(*stub_, &ZfsService::Stub::ReplicateTemplate, request);
  EXPECT_EQ(again.state(), REPLICATION_JOB_STATE_COMPLETED) << again.error();
  EXPECT_EQ(again.bytes_sent(), 0u);
}

// Daemons on two pools of their own, the target on TCP with mutual TLS.
TEST(ReplicationTls, OnlyANodeCertificateOfTheRightCaMayReplicate) {
  const std::string tls = "/var/tmp/mvirt-zfs-test-tls";
  MustRun("cd " + tls +
          " && openssl req -newkey rsa:2048 -nodes -subj '/CN=node-2/O=mvirt' -keyout node.key"
          " -out node.csr && openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key"
          " -CAcreateserial -days 2 -out node.pem"
          " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=rogue CA'"
          " -keyout rogue-ca.key -out rogue-ca.pem"
          " && openssl req -newkey rsa:2048 -nodes -subj '/CN=rogue' -keyout rogue.key"
          " -out rogue.csr && openssl x509 -req -in rogue.csr -CA rogue-ca.pem"
          " -CAkey rogue-ca.key -CAcreateserial -days 2 -out rogue.pem"
          " && cp node.pem peer.pem && cp node.key peer.key");
  ScratchPool receiving("mvrecvtls");
  DaemonProcess target("mvrecvtls", "127.0.0.1:50931",
                       {"--tls-cert", tls + "/server.pem", "--tls-key", tls + "/server.key",
                        "--tls-client-ca", tls + "/ca.pem"});
  grpc::SslCredentialsOptions node;
  node.pem_root_certs = MustRun("cat " + tls + "/ca.pem");
  node.pem_cert_chain = MustRun("cat " + tls + "/node.pem");
  node.pem_private_key = MustRun("cat " + tls + "/node.key");
  // A TLS handshake takes a while in the emulated guest: no 200 ms tries.
  bool serving = false;
  for (int i = 0; i < 30 && !serving && target.Alive(); ++i) {
    auto probe =
        ZfsService::NewStub(grpc::CreateChannel("127.0.0.1:50931", grpc::SslCredentials(node)));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    VersionInfo version;
    serving = probe->GetVersion(&ctx, GetVersionRequest(), &version).ok();
    if (!serving) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(serving) << target.Log();
  ScratchPool sending("mvsendtls");
  DaemonProcess source("mvsendtls", "/run/mvirt-zfs-mvsendtls.sock",
                       {"--peer-ca", tls + "/ca.pem", "--peer-cert", tls + "/peer.pem",
                        "--peer-key", tls + "/peer.key"});
  ASSERT_TRUE(source.WaitUntilServing()) << source.Log();
  auto stub = ZfsService::NewStub(
      grpc::CreateChannel(source.endpoint(), grpc::InsecureChannelCredentials()));
  CreateVolumeRequest create;
  create.set_name("tls-vol");
  create.set_size_bytes(16 * kMiB);
  Volume v;
  {
    grpc::ClientContext ctx;
    ASSERT_THAT(stub->CreateVolume(&ctx, create, &v), GrpcIsOk());
  }
  WriteDevice(v.path(), 0, Pattern('t', 64 * 1024));
  {
    CreateSnapshotRequest snap;
    snap.set_volume_name("tls-vol");
    snap.set_snapshot_name("s1");
    ::mvirt::zfs::Snapshot out;
    grpc::ClientContext ctx;
    ASSERT_THAT(stub->CreateSnapshot(&ctx, snap, &out), GrpcIsOk());
  }

  ReplicationJob job = Replicate(*stub, "tls-vol", "127.0.0.1:50931");
  ASSERT_EQ(job.state(), REPLICATION_JOB_STATE_COMPLETED) << job.error() << source.Log();
  EXPECT_EQ(ReadDevice("/dev/zvol/mvrecvtls/tls-vol", 0, 64 * 1024), Pattern('t', 64 * 1024));
  EXPECT_THAT(target.WaitForLog("audit: ReceiveVolume volume 'tls-vol' by TLS client '"),
              HasSubstr("CN=node-2"));

  // A certificate of another CA is refused by the target: nothing arrives.
  MustRun("cd " + tls + " && cp rogue.pem peer.pem && cp rogue.key peer.key");
  {
    CreateSnapshotRequest snap;
    snap.set_volume_name("tls-vol");
    snap.set_snapshot_name("s2");
    ::mvirt::zfs::Snapshot out;
    grpc::ClientContext ctx;
    ASSERT_THAT(stub->CreateSnapshot(&ctx, snap, &out), GrpcIsOk());
  }
  const std::string before = PoolState("mvrecvtls");
  ReplicationJob refused = Replicate(*stub, "tls-vol", "127.0.0.1:50931");
  EXPECT_EQ(refused.state(), REPLICATION_JOB_STATE_FAILED);
  EXPECT_THAT(refused.error(), HasSubstr("the target says"));
  EXPECT_EQ(PoolState("mvrecvtls"), before);
}

}  // namespace
}  // namespace mvirt::zfs::testing
