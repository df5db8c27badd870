// Real-ZFS tests of imports across daemon stops: a daemon killed (SIGKILL) in
// each phase of an import, restarted on the same pool and state directory;
// a record whose completion a crash kept from being written; SIGTERM during
// an import. Each test has its own pool and daemon.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <memory>

#include "import_fixture.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

class ImportRecoveryTest : public ::testing::Test {
 protected:
  static constexpr const char* kCrashPool = "mvcrash";
  static constexpr const char* kSocket = "/run/mvirt-zfs-crash.sock";
  static constexpr const char* kFile = "/var/tmp/mvirt-zfs-crash.img";

  void SetUp() override {
    Shell(std::string("zpool destroy -f ") + kCrashPool + " 2>/dev/null");
    MustRun(std::string("rm -rf ") + state_ + " " + kFile + " && truncate -s 2G " + kFile);
    MustRun(std::string("zpool create -f -o ashift=12 -o autotrim=on -o cachefile=none ") +
            "-O compression=lz4 -O xattr=sa -O atime=off -m none " + kCrashPool + " " + kFile);
    StartDaemon();
  }
  void TearDown() override {
    ::unlink(kSlowConvertMarker);
    daemon_.reset();  // SIGKILL if still running
    Shell(std::string("zpool destroy -f ") + kCrashPool);
    Shell(std::string("rm -rf ") + kFile + " " + state_ + " " + kImportDir + "/* " +
          HttpsServer::kRoot + "/*");
  }

  void StartDaemon() {
    daemon_ = std::make_unique<DaemonProcess>(kCrashPool, kSocket);
    ASSERT_TRUE(daemon_->WaitUntilServing()) << daemon_->Log();
    client_ = std::make_unique<ImportClient>(ZfsService::NewStub(
        grpc::CreateChannel(daemon_->endpoint(), grpc::InsecureChannelCredentials())));
  }
  void KillAndRestart() {
    daemon_->StopWith(SIGKILL);
    StartDaemon();
  }
  ImportJob Start(const std::string& name, const std::string& source) {
    ImportJob job;
    grpc::Status s = client_->Import(name, source, &job);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return job;
  }
  // After a restart: the job reads FAILED "interrupted", and nothing of it
  // is left in the pool or the state directory.
  void ExpectInterrupted(const std::string& id, const std::string& name,
                         const std::string& says = "interrupted") {
    ImportJob job;
    ASSERT_TRUE(client_->GetJob(id, &job).ok()) << "the record must survive the restart";
    EXPECT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_FAILED");
    EXPECT_THAT(job.error(), HasSubstr(says)) << job.error();
    EXPECT_TRUE(job.has_completed_at());
    ExpectNothingLeftBehind(kCrashPool, state_, name);
    EXPECT_TRUE(client_->Jobs(false).empty()) << "nothing runs after the restart";
  }
  // The name is free again: a small import of it completes.
  void ExpectNameReusable(const std::string& name) {
    const std::string path = std::string(kImportDir) + "/again.raw";
    MakeRawImage(path, kMiB, {{0, 4096}});
    ImportJob job = Start(name, path);
    job = client_->WaitUntilFinished(job.id());
    EXPECT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_COMPLETED") << job.error();
  }

  const std::string state_ = StateDir(kCrashPool);
  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<ImportClient> client_;
};

TEST_F(ImportRecoveryTest, KilledWhileWritingTheStagingZvolIsRemovedAtStart) {
  MakeRawImage(std::string(HttpsServer::kRoot) + "/slow.raw", 16 * kMiB, {{0, 16 * kMiB}});
  ImportJob job = Start("crash-writing", HttpsServer::Get().Url("slow.raw?rate=300000"));
  job = client_->WaitFor(job.id(), [](const ImportJob& j) { return j.bytes_written() > 0; });
  EXPECT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_WRITING");
  EXPECT_NE(ChildrenOf(kCrashPool, "imports"), "") << "a partial staging zvol exists";
  KillAndRestart();
  EXPECT_THAT(daemon_->Log(), HasSubstr("interrupted by a restart")) << daemon_->Log();
  ExpectInterrupted(job.id(), "crash-writing");
  ExpectNameReusable("crash-writing");
}

TEST_F(ImportRecoveryTest, KilledWhileConvertingTakesQemuImgDownWithIt) {
  const std::string raw = std::string(kImportDir) + "/conv.raw";
  MakeRawImage(raw, 32 * kMiB, {{0, 16 * kMiB}});
  MakeQcow2From(raw, std::string(kImportDir) + "/conv.qcow2");
  MustRun(std::string("echo 262144 > ") + kSlowConvertMarker);
  ImportJob job = Start("crash-converting", std::string(kImportDir) + "/conv.qcow2");
  job = client_->WaitFor(job.id(), [](const ImportJob& j) { return j.bytes_written() > 0; });
  EXPECT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_CONVERTING");
  daemon_->StopWith(SIGKILL);
  // qemu-img dies with the daemon (it would otherwise keep the zvol busy).
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = Shell("pgrep -f 'qemu-img conver[t]'").output.empty();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << "qemu-img outlived the daemon";
  StartDaemon();
  ExpectInterrupted(job.id(), "crash-converting");
}

TEST_F(ImportRecoveryTest, KilledWhileDownloadingLeavesNoTemporaryFile) {
  MakeRawImage(std::string(HttpsServer::kRoot) + "/slow.raw", 16 * kMiB, {{0, 16 * kMiB}});
  MakeQcow2From(std::string(HttpsServer::kRoot) + "/slow.raw",
                std::string(HttpsServer::kRoot) + "/slow.qcow2");
  ImportJob job = Start("crash-downloading", HttpsServer::Get().Url("slow.qcow2?rate=300000"));
  // The first bytes are counted while the job is still PENDING (its format
  // is read off the first 512); the temporary file follows DOWNLOADING.
  job = client_->WaitFor(job.id(), [&](const ImportJob& j) {
    return j.state() == IMPORT_JOB_STATE_DOWNLOADING &&
           !Shell("ls -A " + state_ + "/tmp").output.empty();
  });
  ASSERT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_DOWNLOADING");
  KillAndRestart();
  ExpectInterrupted(job.id(), "crash-downloading");
}

TEST_F(ImportRecoveryTest, ACompletionTheRecordMissedIsTakenFromZfs) {
  const std::string path = std::string(kImportDir) + "/done.raw";
  MakeRawImage(path, 4 * kMiB, {{0, kMiB}});
  ImportJob job = client_->WaitUntilFinished(Start("crash-completed", path).id());
  ASSERT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_COMPLETED") << job.error();
  int status = daemon_->StopWith(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // As if the daemon had died between the rename into templates/ and the
  // record's update: the record still says WRITING.
  const std::string record = state_ + "/jobs/" + job.id() + ".json";
  MustRun("sed -i 's/\"COMPLETED\"/\"WRITING\"/' " + record);
  ASSERT_THAT(ReadFile(record), HasSubstr("\"WRITING\""));
  StartDaemon();
  ImportJob after;
  ASSERT_TRUE(client_->GetJob(job.id(), &after).ok());
  EXPECT_EQ(ImportJobState_Name(after.state()), "IMPORT_JOB_STATE_COMPLETED") << after.error();
  ASSERT_TRUE(after.has_template_());
  EXPECT_EQ(after.template_().id(), job.template_().id());
  EXPECT_THAT(ReadFile(record), HasSubstr("\"COMPLETED\"")) << "the record is settled";
  ASSERT_EQ(client_->Templates().size(), 1u);
  EXPECT_EQ(client_->Templates()[0].name(), "crash-completed");
}

TEST_F(ImportRecoveryTest, SigtermStopsRunningImportsAndRemovesTheirData) {
  MakeRawImage(std::string(HttpsServer::kRoot) + "/slow.raw", 16 * kMiB, {{0, 16 * kMiB}});
  ImportJob job = Start("stopped", HttpsServer::Get().Url("slow.raw?rate=300000"));
  client_->WaitFor(job.id(), [](const ImportJob& j) { return j.bytes_written() > 0; });
  int status = daemon_->StopWith(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << daemon_->Log();
  // Cleaned up before the daemon exited, not only at the next start.
  EXPECT_EQ(ChildrenOf(kCrashPool, "imports"), "");
  StartDaemon();
  ExpectInterrupted(job.id(), "stopped", "mvirt-zfs was stopped");
}

}  // namespace
}  // namespace mvirt::zfs::testing
