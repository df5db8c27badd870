// Real-ZFS tests of what keeps an import from reading more than its image:
// a local source is opened once below the import directory, never through a
// symbolic or hard link leading out of it (refused at once, naming nothing
// outside); a qcow2 whose header names an external data file (here a FIFO,
// which would block qemu-img forever) fails promptly without qemu-img ever
// running on it; and a normal qcow2 still imports, with qemu-img inside its
// sandbox.
#include <errno.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>

#include "import_fixture.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kState = StateDir(TestPool::kPool);
// Files outside the import directory, on the same filesystem (/var/tmp).
constexpr char kOutside[] = "/var/tmp/mvirt-zfs-safety-outside";

// Watches a FIFO for a reader: while it runs, it tries a non-blocking open
// for writing every 10 ms, which succeeds only if someone has the FIFO open
// for reading (a blocked qemu-img would).
class FifoReaderWatch {
 public:
  explicit FifoReaderWatch(std::string path) : path_(std::move(path)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
          reader_seen_ = true;
          ::close(fd);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  }
  ~FifoReaderWatch() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool reader_seen() const { return reader_seen_; }

 private:
  const std::string path_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reader_seen_{false};
  std::thread thread_;
};

class ImportSafetyTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    imports_ = std::make_unique<ImportClient>(TestPool::Stub());
    MustRun(std::string("rm -rf ") + kOutside + " && mkdir -p " + kOutside);
  }
  void TearDown() override {
    ::unlink(kSlowConvertMarker);
    ApiTest::TearDown();  // the clones first
    for (const std::string& t : templates_) {
      DestroyDataset(kPool + "/.mvirt/templates/" + t);
    }
    Shell(std::string("rm -rf ") + kOutside + " " + kImportDir + "/*");
  }

  // Expects ImportTemplate(name, source) to be refused at once with `code`
  // and `says`, in a message that does not name `hidden`, having started
  // nothing: no job, no template, the pool unchanged.
  void ExpectRefusedAtOnce(const std::string& name, const std::string& source,
                           grpc::StatusCode code, const std::string& says,
                           const std::string& hidden) {
    const size_t jobs_before = imports_->Jobs(true).size();
    const std::string listing = PoolState(kPool);
    ImportJob job;
    grpc::Status s = imports_->Import(name, source, &job);
    EXPECT_EQ(s.error_code(), code) << source << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(says)) << s.error_message();
    EXPECT_THAT(s.error_message(), Not(HasSubstr(hidden)))
        << "the refusal reveals " << hidden << ": " << s.error_message();
    EXPECT_EQ(imports_->Jobs(true).size(), jobs_before);
    for (const Template& t : imports_->Templates()) EXPECT_NE(t.name(), name);
    EXPECT_EQ(PoolState(kPool), listing);
  }

  // The daemon's log lines of qemu-img runs for job `id`: it logs each run
  // (at debug level, as the tests run it) with the host path of the image,
  // <state_dir>/tmp/<job id>.download.
  static std::vector<std::string> QemuImgRunsOf(const std::string& id) {
    std::vector<std::string> runs;
    std::istringstream log(TestPool::daemon().Log());
    for (std::string line; std::getline(log, line);) {
      if (line.find("running qemu-img") != std::string::npos &&
          line.find(id) != std::string::npos) {
        runs.push_back(line);
      }
    }
    return runs;
  }

  ImportJob MustStart(const std::string& name, const std::string& source) {
    templates_.push_back(name);
    ImportJob job;
    grpc::Status s = imports_->Import(name, source, &job);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return job;
  }

  std::unique_ptr<ImportClient> imports_;
  std::vector<std::string> templates_;
};

TEST_F(ImportSafetyTest, ASymlinkOutOfTheImportDirectoryIsRefusedAtOnce) {
  const std::string outside = std::string(kOutside) + "/secret.raw";
  MakeRawImage(outside, kMiB, {{0, 4096}});
  const std::string link = std::string(kImportDir) + "/link.raw";
  MustRun("ln -sf " + outside + " " + link);
  ExpectRefusedAtOnce("via-symlink", link, grpc::StatusCode::PERMISSION_DENIED,
                      "symbolic links are not followed", kOutside);
  // A symlinked directory on the way.
  MustRun(std::string("ln -sfn ") + kOutside + " " + kImportDir + "/dirlink");
  ExpectRefusedAtOnce("via-dirlink", std::string(kImportDir) + "/dirlink/secret.raw",
                      grpc::StatusCode::PERMISSION_DENIED, "symbolic links are not followed",
                      kOutside);
}

TEST_F(ImportSafetyTest, AHardLinkToAFileOutsideIsRefusedAtOnce) {
  const std::string outside = std::string(kOutside) + "/secret.raw";
  MakeRawImage(outside, kMiB, {{0, 4096}});
  const std::string link = std::string(kImportDir) + "/hard.raw";
  MustRun("ln " + outside + " " + link);  // same filesystem: /var/tmp
  ASSERT_EQ(MustRun("stat -c %h " + link), "2\n");
  ExpectRefusedAtOnce("via-hardlink", link, grpc::StatusCode::PERMISSION_DENIED,
                      "has other hard links", kOutside);
}

TEST_F(ImportSafetyTest, AnExternalDataFileFailsPromptlyWithoutRunningQemuImg) {
  // qemu-img makes the image with a regular data file, which then becomes a
  // FIFO: an image naming a file that would block any reader forever.
  const std::string fifo = std::string(kOutside) + "/data.fifo";
  const std::string qcow2 = std::string(kImportDir) + "/external.qcow2";
  MustRun("qemu-img create -q -f qcow2 -o data_file=" + fifo + ",data_file_raw=on " + qcow2 +
          " 16M");
  MustRun("rm -f " + fifo + " && mkfifo " + fifo);
  FifoReaderWatch watch(fifo);

  const auto start = std::chrono::steady_clock::now();
  ImportJob job = MustStart("external-data", qcow2);
  ImportJob done = imports_->WaitFor(
      job.id(), [](const ImportJob&) { return false; }, nullptr, std::chrono::seconds(60));
  const auto took = std::chrono::steady_clock::now() - start;
  watch.Stop();

  EXPECT_EQ(ImportJobState_Name(done.state()), "IMPORT_JOB_STATE_FAILED") << done.error();
  EXPECT_THAT(done.error(), HasSubstr("external data file")) << done.error();
  EXPECT_THAT(done.error(), Not(HasSubstr(fifo))) << "the image's text is not echoed";
  EXPECT_LT(took, std::chrono::seconds(15)) << "the import did not fail promptly";
  EXPECT_FALSE(done.has_template_());
  ExpectNothingLeftBehind(kPool, kState, "external-data");
  // qemu-img never ran on it (the daemon logs every run), and nothing ever
  // opened the FIFO.
  EXPECT_EQ(QemuImgRunsOf(job.id()), std::vector<std::string>{});
  EXPECT_FALSE(watch.reader_seen()) << "something opened the data file";
}

TEST_F(ImportSafetyTest, Qcow2ImportsThroughTheSandbox) {
  const std::string raw = std::string(kImportDir) + "/src.raw";
  const std::string qcow2 = std::string(kImportDir) + "/sandboxed.qcow2";
  MakeRawImage(raw, 32 * kMiB, {{0, 4 * kMiB}, {20 * kMiB, 4 * kMiB}});
  MakeQcow2From(raw, qcow2);
  // Slow enough to look at qemu-img convert while it runs.
  MustRun(std::string("echo 2097152 > ") + kSlowConvertMarker);
  ImportJob job = MustStart("sandboxed", qcow2);

  std::string pid;
  for (int i = 0; i < 600 && pid.empty(); ++i) {
    pid = Shell("pgrep -o -f 'qemu-img conver[t]'").output;
    if (pid.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(pid.empty()) << "qemu-img convert never ran";
  pid = pid.substr(0, pid.find('\n'));
  // Its root holds the image and the target, not the host's directories;
  // it has no network of the host's.
  CommandResult root = Shell("ls -A /proc/" + pid + "/root/");
  if (root.exit_code == 0) {  // (unless it has just finished)
    for (const char* there : {"image\n", "target\n", "usr\n"}) {
      EXPECT_THAT(root.output, HasSubstr(there)) << root.output;
    }
    for (const char* absent : {"home\n", "root\n", "run\n", "boot\n", "srv\n", "mnt\n"}) {
      EXPECT_THAT(root.output, Not(HasSubstr(absent))) << root.output;
    }
    CommandResult net = Shell("readlink /proc/" + pid + "/ns/net /proc/self/ns/net");
    std::istringstream lines(net.output);
    std::string theirs, ours;
    std::getline(lines, theirs);
    std::getline(lines, ours);
    EXPECT_NE(theirs, ours) << net.output;
  }

  ImportJob done = imports_->WaitUntilFinished(job.id());
  ASSERT_EQ(ImportJobState_Name(done.state()), "IMPORT_JOB_STATE_COMPLETED") << done.error();
  EXPECT_EQ(done.total_bytes(), 32 * kMiB);
  // info, check and convert, each in the sandbox.
  std::vector<std::string> runs = QemuImgRunsOf(job.id());
  EXPECT_EQ(runs.size(), 3u);
  for (const std::string& run : runs) {
    EXPECT_THAT(run, HasSubstr("/usr/bin/bwrap --unshare-ipc --unshare-pid --unshare-net")) << run;
  }

  cleanup_.insert(cleanup_.begin(), "sandboxed-clone");
  CloneFromTemplateRequest req;
  req.set_template_name("sandboxed");
  req.set_new_volume_name("sandboxed-clone");
  grpc::ClientContext ctx;
  Volume v;
  grpc::Status s = stub_->CloneFromTemplate(&ctx, req, &v);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(ReadDevice(v.path(), 0, 32 * kMiB) == ReadFile(raw)) << "the clone's bytes differ";
}

}  // namespace
}  // namespace mvirt::zfs::testing
