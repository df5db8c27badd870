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

#include <memory>
#include <random>
#include <string>
#include <thread>

#include "api_fixture.h"
#include "grpc_status_matchers.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

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
// as `target`, then ends the call's writes.
Received ReceiveStream(ZfsService::Stub& stub, const ReceiveTarget& target,
                       const std::string& stream, size_t length = std::string::npos) {
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
                           size_t length = std::string::npos) {
    target_cleanup_.push_back(target.volume_name());
    return ReceiveStream(*target_stub_, target, stream, length);
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

  // A cut full receive, dropped: the name is free again.
  ASSERT_THAT(
      ReceiveOnTarget(TargetFor("rep-abort", full.info), full.stream, full.stream.size() / 2)
          .status,
      GrpcStatusIs(grpc::StatusCode::ABORTED));
  ASSERT_THAT(AbortOnTarget("rep-abort"), GrpcIsOk());
  EXPECT_EQ(TargetReceiveState("rep-abort").resume_token(), "");
  EXPECT_THAT(AbortOnTarget("rep-abort"), GrpcStatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_FALSE(DatasetExists(std::string(kTargetPool) + "/.mvirt/receiving/rep-abort"));

  // A cut increment, dropped: the volume stays as it was.
  ASSERT_THAT(ReceiveOnTarget(TargetFor("rep-abort", full.info), full.stream).status, GrpcIsOk());
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
  // A full stream into a name that is taken.
  ReceiveTarget other_id = target;
  other_id.set_volume_id(kId2);
  EXPECT_THAT(ReceiveOnTarget(other_id, full.stream).status,
              GrpcStatusIs(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_EQ(PoolState(kTargetPool), with_s1);

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

}  // namespace
}  // namespace mvirt::zfs::testing
