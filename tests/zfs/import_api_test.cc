// Real-ZFS tests of image imports through the gRPC API: raw and qcow2 images
// from local files and from an HTTPS server on loopback (signed by the
// test's own CA), read back through clones; thin templates; trustworthy
// progress; refusals; failures and cancellation in every phase leaving
// nothing behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "import_fixture.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

const std::string kState = StateDir(TestPool::kPool);

class ImportApiTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    imports_ = std::make_unique<ImportClient>(TestPool::Stub());
  }
  void TearDown() override {
    ::unlink(kSlowConvertMarker);
    ApiTest::TearDown();  // the clones first
    for (const std::string& t : templates_) {
      DestroyDataset(kPool + "/.mvirt/templates/" + t);
    }
    Shell(std::string("rm -rf ") + kImportDir + "/* " + HttpsServer::kRoot + "/*");
  }

  // Starts an import that must be accepted; returns the job.
  ImportJob MustStart(const std::string& name, const std::string& source,
                      std::optional<uint64_t> size = {}, const std::string& sha256 = "") {
    templates_.push_back(name);
    ImportJob job;
    grpc::Status s = imports_->Import(name, source, &job, size, sha256);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(job.template_name(), name);
    EXPECT_EQ(job.state(), IMPORT_JOB_STATE_PENDING);
    return job;
  }
  // Imports and waits; returns the finished job (checking its progress).
  ImportJob ImportAndWait(const std::string& name, const std::string& source,
                          std::optional<uint64_t> size = {}, const std::string& sha256 = "") {
    ImportJob job = MustStart(name, source, size, sha256);
    std::vector<ImportJob> seen;
    ImportJob done = imports_->WaitUntilFinished(job.id(), &seen);
    ExpectTrustworthyProgress(seen);
    return done;
  }
  // Expects `job` to have failed with `says` in its error, leaving nothing.
  void ExpectFailedCleanly(const ImportJob& job, const std::string& says) {
    EXPECT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_FAILED");
    EXPECT_TRUE(job.has_error());
    EXPECT_THAT(job.error(), HasSubstr(says)) << job.error();
    EXPECT_FALSE(job.has_template_());
    EXPECT_TRUE(job.has_completed_at());
    ExpectNothingLeftBehind(kPool, kState, job.template_name());
    for (const Template& t : imports_->Templates()) EXPECT_NE(t.name(), job.template_name());
  }
  // The first `length` bytes of a fresh clone of template `name`.
  std::string ReadThroughClone(const std::string& name, const std::string& clone, size_t length) {
    cleanup_.insert(cleanup_.begin(), clone);
    CloneFromTemplateRequest req;
    req.set_template_name(name);
    req.set_new_volume_name(clone);
    grpc::ClientContext ctx;
    Volume v;
    grpc::Status s = stub_->CloneFromTemplate(&ctx, req, &v);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) return "";
    return ReadDevice(v.path(), 0, length);
  }
  // Checks the template's dataset the way an operator would.
  void ExpectTemplateOnDisk(const ImportJob& job, uint64_t size) {
    const std::string ds = kPool + "/.mvirt/templates/" + job.template_name();
    ASSERT_TRUE(job.has_template_()) << job.error();
    EXPECT_EQ(job.template_().snapshot_path(), ds + "@template");
    EXPECT_EQ(job.template_().size_bytes(), size);
    EXPECT_EQ(job.template_().import_source(), job.source());
    EXPECT_EQ(ZfsGet(ds, "volsize"), std::to_string(size));
    EXPECT_EQ(ZfsGet(ds, "volblocksize"), "16384");
    EXPECT_EQ(ZfsGet(ds, "refreservation"), "0") << "templates are thin";
    EXPECT_EQ(ZfsGet(ds, "volmode"), "none") << "templates have no device";
    EXPECT_EQ(ZfsGet(ds, "mvirt:id"), job.template_().id());
    EXPECT_EQ(ZfsGet(ds, "mvirt:import-job"), job.id());
    EXPECT_TRUE(DatasetExists(ds + "@template"));
    bool listed = false;
    for (const Template& t : imports_->Templates()) {
      listed = listed || (t.name() == job.template_name() && t.size_bytes() == size);
    }
    EXPECT_TRUE(listed);
    EXPECT_EQ(ChildrenOf(kPool, "imports"), "");
    EXPECT_EQ(MustRun("ls -A " + kState + "/tmp"), "");
    // Neither the staging zvol nor the template kept a device.
    EXPECT_NE(Shell("ls -A /dev/zvol/" + kPool + "/.mvirt").exit_code, 0)
        << Shell("ls -R /dev/zvol/" + kPool + "/.mvirt").output;
  }
  uint64_t Referenced(const std::string& name) {
    return std::stoull(ZfsGet(kPool + "/.mvirt/templates/" + name, "referenced"));
  }

  std::unique_ptr<ImportClient> imports_;
  std::vector<std::string> templates_;
};

constexpr uint64_t kKiB = 1024;

TEST_F(ImportApiTest, RawLocalFileBecomesAThinTemplateWithTheSameBytes) {
  // 24 MiB minus 1000 bytes (not a multiple of the volblocksize), with
  // 3 MiB of data in two places and holes elsewhere.
  const uint64_t size = 24 * kMiB - 1000;
  const std::string path = std::string(kImportDir) + "/disk.raw";
  MakeRawImage(path, size, {{0, kMiB}, {10 * kMiB + 4096, 2 * kMiB}, {size - 5000, 5000}});
  ImportJob job = ImportAndWait("raw-local", path);
  ASSERT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_COMPLETED") << job.error();
  EXPECT_EQ(job.format(), "raw");
  EXPECT_EQ(job.total_bytes(), size);
  EXPECT_EQ(job.bytes_written(), size);
  EXPECT_EQ(job.source(), path);
  EXPECT_TRUE(job.has_completed_at());
  ExpectTemplateOnDisk(job, 24 * kMiB);  // rounded up to 16 KiB
  // Zero blocks were never written: the template costs about its data.
  EXPECT_LT(Referenced("raw-local"), 5 * kMiB);

  const std::string image = ReadFile(path);
  std::string disk = ReadThroughClone("raw-local", "raw-local-clone", 24 * kMiB);
  EXPECT_TRUE(disk.substr(0, size) == image) << "the clone's bytes differ from the image";
  EXPECT_EQ(disk.substr(size), std::string(24 * kMiB - size, '\0'));
}

TEST_F(ImportApiTest, Qcow2LocalFileIsConvertedSparseAndGrownToTheRequestedSize) {
  const std::string raw = std::string(kImportDir) + "/src.raw";
  const std::string qcow2 = std::string(kImportDir) + "/disk.qcow2";
  MakeRawImage(raw, 64 * kMiB, {{0, 2 * kMiB}, {40 * kMiB, kMiB}});
  MakeQcow2From(raw, qcow2);
  ImportJob job = ImportAndWait("qcow2-local", qcow2, 96 * kMiB);
  ASSERT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_COMPLETED") << job.error();
  EXPECT_EQ(job.format(), "qcow2");
  EXPECT_EQ(job.total_bytes(), 64 * kMiB);
  EXPECT_EQ(job.bytes_written(), 64 * kMiB);
  EXPECT_EQ(job.size_bytes(), 96 * kMiB);
  ExpectTemplateOnDisk(job, 96 * kMiB);
  EXPECT_LT(Referenced("qcow2-local"), 5 * kMiB);

  std::string disk = ReadThroughClone("qcow2-local", "qcow2-local-clone", 96 * kMiB);
  EXPECT_TRUE(disk.substr(0, 64 * kMiB) == ReadFile(raw)) << "the clone's bytes differ";
  EXPECT_EQ(disk.substr(64 * kMiB), std::string(32 * kMiB, '\0'));
}

TEST_F(ImportApiTest, CompressedQcow2WithAMatchingChecksum) {
  const std::string raw = std::string(kImportDir) + "/src.raw";
  const std::string qcow2 = std::string(kImportDir) + "/packed.qcow2";
  MakeRawImage(raw, 16 * kMiB, {{kMiB, 3 * kMiB}});
  MakeQcow2From(raw, qcow2, /*compress=*/true);
  ImportJob job = ImportAndWait("qcow2-packed", qcow2, {}, Sha256Of(qcow2));
  ASSERT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_COMPLETED") << job.error();
  EXPECT_EQ(job.sha256(), Sha256Of(qcow2));
  EXPECT_TRUE(ReadThroughClone("qcow2-packed", "qcow2-packed-clone", 16 * kMiB) == ReadFile(raw));
}

TEST_F(ImportApiTest, HttpsRawWithALengthIsStreamedStraightIntoTheZvol) {
  const uint64_t size = 20 * kMiB;
  const std::string file = std::string(HttpsServer::kRoot) + "/stream.raw";
  MakeRawImage(file, size, {{0, kMiB}, {15 * kMiB, 3 * kMiB}});
  ImportJob job = MustStart("https-raw", HttpsServer::Get().Url("stream.raw"), {}, Sha256Of(file));
  std::vector<ImportJob> seen;
  job = imports_->WaitUntilFinished(job.id(), &seen);
  ASSERT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_COMPLETED") << job.error();
  ExpectTrustworthyProgress(seen);
  for (const ImportJob& j : seen) {
    EXPECT_NE(j.state(), IMPORT_JOB_STATE_DOWNLOADING) << "a raw image with a length is streamed";
  }
  EXPECT_EQ(job.format(), "raw");
  EXPECT_EQ(job.downloaded_bytes(), size);
  EXPECT_EQ(job.download_total_bytes(), size);
  ExpectTemplateOnDisk(job, size);
  EXPECT_LT(Referenced("https-raw"), 6 * kMiB);
  EXPECT_TRUE(ReadThroughClone("https-raw", "https-raw-clone", size) == ReadFile(file));
}

TEST_F(ImportApiTest, HttpsRawWithoutALengthIsStreamedAndSizedAtTheEnd) {
  const uint64_t size = 8 * kMiB + 512;
  const std::string file = std::string(HttpsServer::kRoot) + "/chunked.raw";
  MakeRawImage(file, size, {{kMiB, kMiB}, {size - 512, 512}});
  // Slow enough that a poll sees it streaming.
  ImportJob job =
      MustStart("https-chunked", HttpsServer::Get().Url("chunked.raw?chunked=1&rate=4000000"));
  std::vector<ImportJob> seen;
  job = imports_->WaitUntilFinished(job.id(), &seen);
  ASSERT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_COMPLETED") << job.error();
  ExpectTrustworthyProgress(seen);
  bool streaming_seen = false;
  for (const ImportJob& j : seen) {
    EXPECT_NE(j.state(), IMPORT_JOB_STATE_DOWNLOADING) << "raw is never copied to a file first";
    streaming_seen = streaming_seen || (j.state() == IMPORT_JOB_STATE_WRITING &&
                                        j.downloaded_bytes() > 0 && j.total_bytes() == 0);
  }
  EXPECT_TRUE(streaming_seen) << "while the length is unknown only the download counts";
  EXPECT_EQ(job.download_total_bytes(), 0u) << "the server announced no length";
  EXPECT_EQ(job.downloaded_bytes(), size);
  EXPECT_EQ(job.total_bytes(), size);
  ExpectTemplateOnDisk(job, 8 * kMiB + 16 * kKiB);
  std::string disk = ReadThroughClone("https-chunked", "https-chunked-clone", size);
  EXPECT_TRUE(disk == ReadFile(file));
}

TEST_F(ImportApiTest, HttpsQcow2IsDownloadedThenConvertedThroughARedirect) {
  const std::string raw = std::string(HttpsServer::kRoot) + "/src.raw";
  const std::string qcow2 = std::string(HttpsServer::kRoot) + "/cloud.qcow2";
  MakeRawImage(raw, 48 * kMiB, {{0, kMiB}, {30 * kMiB, 2 * kMiB}});
  MakeQcow2From(raw, qcow2);
  ImportJob job =
      MustStart("https-qcow2", HttpsServer::Get().Url("cloud.qcow2?redirect=2&rate=2000000"));
  std::vector<ImportJob> seen;
  job = imports_->WaitUntilFinished(job.id(), &seen);
  ASSERT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_COMPLETED") << job.error();
  ExpectTrustworthyProgress(seen);
  std::set<int> states;
  for (const ImportJob& j : seen) states.insert(j.state());
  EXPECT_TRUE(states.count(IMPORT_JOB_STATE_DOWNLOADING)) << "no DOWNLOADING seen";
  EXPECT_EQ(job.format(), "qcow2");
  EXPECT_EQ(job.download_total_bytes(), std::stoull(MustRun("stat -c %s " + qcow2)));
  EXPECT_EQ(job.total_bytes(), 48 * kMiB);
  ExpectTemplateOnDisk(job, 48 * kMiB);
  EXPECT_LT(Referenced("https-qcow2"), 5 * kMiB);
  EXPECT_TRUE(ReadThroughClone("https-qcow2", "https-qcow2-clone", 48 * kMiB) == ReadFile(raw));
}

TEST_F(ImportApiTest, BadRequestsAreRefusedAtOnceAndStartNothing) {
  const std::string inside = std::string(kImportDir) + "/ok.raw";
  MakeRawImage(inside, kMiB, {{0, 4096}});
  MustRun("mkdir -p /var/tmp/mvirt-outside && cp " + inside + " /var/tmp/mvirt-outside/x.raw");
  MustRun(std::string("ln -sf /var/tmp/mvirt-outside/x.raw ") + kImportDir + "/link.raw");
  const size_t jobs_before = imports_->Jobs(true).size();
  const std::string listing = PoolState(kPool);
  struct Case {
    std::string name, source;
    std::optional<uint64_t> size;
    std::string sha256;
    grpc::StatusCode code;
    std::string says;
  };
  const Case cases[] = {
      {"", inside, {}, "", grpc::StatusCode::INVALID_ARGUMENT, "template name"},
      {"bad/name", inside, {}, "", grpc::StatusCode::INVALID_ARGUMENT, "bad/name"},
      {"ok", "", {}, "", grpc::StatusCode::INVALID_ARGUMENT, "source is empty"},
      {"ok", "ok.raw", {}, "", grpc::StatusCode::INVALID_ARGUMENT, "absolute path"},
      {"ok",
       "/etc/passwd",
       {},
       "",
       grpc::StatusCode::PERMISSION_DENIED,
       "outside the import directories"},
      {"ok",
       "/var/tmp/mvirt-outside/x.raw",
       {},
       "",
       grpc::StatusCode::PERMISSION_DENIED,
       "outside"},
      {"ok",
       std::string(kImportDir) + "/link.raw",
       {},
       "",
       grpc::StatusCode::PERMISSION_DENIED,
       "symbolic links are not followed"},
      {"ok",
       std::string(kImportDir) + "/../mvirt-outside/x.raw",
       {},
       "",
       grpc::StatusCode::PERMISSION_DENIED,
       "outside"},
      {"ok",
       std::string(kImportDir) + "/missing.raw",
       {},
       "",
       grpc::StatusCode::NOT_FOUND,
       "does not exist"},
      {"ok", "http://127.0.0.1/x.raw", {}, "", grpc::StatusCode::PERMISSION_DENIED, "plain http"},
      {"ok", "ftp://127.0.0.1/x.raw", {}, "", grpc::StatusCode::INVALID_ARGUMENT, "not supported"},
      {"ok", inside, 0, "", grpc::StatusCode::INVALID_ARGUMENT,
       "size_bytes must be greater than 0"},
      {"ok", inside, 2ull << 30, "", grpc::StatusCode::INVALID_ARGUMENT,
       "exceeds the import limit"},
      {"ok", inside, {}, "abc", grpc::StatusCode::INVALID_ARGUMENT, "64 hexadecimal digits"},
  };
  for (const Case& c : cases) {
    ImportJob job;
    grpc::Status s = imports_->Import(c.name, c.source, &job, c.size, c.sha256);
    EXPECT_EQ(s.error_code(), c.code) << c.name << " " << c.source << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(c.says)) << s.error_message();
  }
  EXPECT_EQ(imports_->Jobs(true).size(), jobs_before);
  EXPECT_EQ(PoolState(kPool), listing);
  Shell("rm -rf /var/tmp/mvirt-outside");
}

TEST_F(ImportApiTest, UnsafeAndBrokenImagesFailCleanly) {
  const std::string dir = kImportDir;
  // A qcow2 with a backing file (qemu-img would read another host file).
  MakeRawImage(dir + "/base.raw", 4 * kMiB, {{0, kMiB}});
  MustRun("qemu-img create -f qcow2 -b " + dir + "/base.raw -F raw " + dir + "/overlay.qcow2");
  ExpectFailedCleanly(ImportAndWait("backed", dir + "/overlay.qcow2"), "backing file");

  // A truncated qcow2: its tables point past the end of the file.
  MakeRawImage(dir + "/full.raw", 16 * kMiB, {{0, 8 * kMiB}});
  MakeQcow2From(dir + "/full.raw", dir + "/full.qcow2");
  MustRun("truncate -s 2M " + dir + "/full.qcow2");
  // qemu-img convert would read the missing clusters as zeros; check finds them.
  ExpectFailedCleanly(ImportAndWait("truncated", dir + "/full.qcow2"), "corrupt or truncated");

  // A qcow2 whose disk is larger than the import limit (1G here).
  MustRun("qemu-img create -f qcow2 " + dir + "/huge.qcow2 2G");
  ExpectFailedCleanly(ImportAndWait("huge", dir + "/huge.qcow2"), "exceeds the import limit");

  // A raw download announced above the limit: refused before any byte is written.
  MustRun(std::string("truncate -s 1536M ") + HttpsServer::kRoot + "/huge.raw");
  ExpectFailedCleanly(ImportAndWait("huge-https", HttpsServer::Get().Url("huge.raw")),
                      "larger than the import limit");

  // 404, and a download cut short of its announced length.
  ExpectFailedCleanly(ImportAndWait("gone", HttpsServer::Get().Url("nothing-here.raw")),
                      "HTTP 404");
  MakeRawImage(std::string(HttpsServer::kRoot) + "/short.raw", 4 * kMiB, {{0, 4 * kMiB}});
  ExpectFailedCleanly(ImportAndWait("short", HttpsServer::Get().Url("short.raw?lie=8388608")),
                      "download https://localhost");

  // Checksum mismatches, local (streamed) and downloaded.
  MakeRawImage(dir + "/sum.raw", 6 * kMiB, {{0, 6 * kMiB}});
  ExpectFailedCleanly(ImportAndWait("badsum", dir + "/sum.raw", {}, std::string(64, '0')),
                      "SHA-256 mismatch");
  MakeQcow2From(dir + "/sum.raw", std::string(HttpsServer::kRoot) + "/sum.qcow2");
  ExpectFailedCleanly(
      ImportAndWait("badsum-https", HttpsServer::Get().Url("sum.qcow2"), {}, std::string(64, 'f')),
      "SHA-256 mismatch");

  // Formats that are not raw or qcow2, an empty file, a size below the image.
  MakeRawImage(dir + "/fake.vmdk", kMiB, {});
  MustRun("printf 'KDMV' | dd of=" + dir + "/fake.vmdk conv=notrunc 2>/dev/null");
  ExpectFailedCleanly(ImportAndWait("vmdk", dir + "/fake.vmdk"), "VMDK");
  MustRun("touch " + dir + "/empty.raw");
  ExpectFailedCleanly(ImportAndWait("empty", dir + "/empty.raw"), "empty.raw is empty");
}

// The daemon never fetches from this host's own addresses for a caller
// unless the operator allowed the host (the test daemons allow
// "localhost"): neither directly nor behind a redirect.
TEST_F(ImportApiTest, InternalAddressesAreRefusedAlsoAfterARedirect) {
  MakeRawImage(std::string(HttpsServer::kRoot) + "/internal.raw", kMiB, {{0, 4096}});
  const std::string before = PoolState(kPool);
  const std::string internal = HttpsServer::Get().Url("internal.raw", "127.0.0.1");
  auto start = std::chrono::steady_clock::now();
  ImportJob direct = ImportAndWait("internal-direct", internal);
  ExpectFailedCleanly(direct, "leads to a loopback address");
  EXPECT_THAT(direct.error(), HasSubstr("--import-allow-host 127.0.0.1")) << direct.error();
  // localhost is allowed, but it redirects to 127.0.0.1, which is not.
  std::string encoded;
  for (char c : internal) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      encoded += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof(hex), "%%%02X", static_cast<unsigned char>(c));
      encoded += hex;
    }
  }
  ImportJob redirected =
      ImportAndWait("internal-redirect", HttpsServer::Get().Url("internal.raw?goto=" + encoded));
  ExpectFailedCleanly(redirected, "leads to a loopback address");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30))
      << "refused promptly";
  EXPECT_EQ(PoolState(kPool), before);
}

TEST_F(ImportApiTest, ARequestedSizeBelowTheImagesIsTheImagesSize) {
  const std::string path = std::string(kImportDir) + "/bigger.raw";
  MakeRawImage(path, 3 * kMiB, {{0, 3 * kMiB}});
  ImportJob job = ImportAndWait("sized-by-image", path, kMiB);
  ASSERT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_COMPLETED") << job.error();
  ExpectTemplateOnDisk(job, 3 * kMiB);
}

TEST_F(ImportApiTest, CancelStopsEveryPhaseAndLeavesNothing) {
  // Two slow imports take both slots (--import-concurrency 2): a raw image
  // streaming into its zvol, a qcow2 image downloading ...
  MakeRawImage(std::string(HttpsServer::kRoot) + "/slow.raw", 32 * kMiB, {{0, 32 * kMiB}});
  MakeQcow2From(std::string(HttpsServer::kRoot) + "/slow.raw",
                std::string(HttpsServer::kRoot) + "/slow.qcow2");
  ImportJob writing = MustStart("cancel-writing", HttpsServer::Get().Url("slow.raw?rate=200000"));
  ImportJob downloading =
      MustStart("cancel-downloading", HttpsServer::Get().Url("slow.qcow2?rate=200000"));
  writing =
      imports_->WaitFor(writing.id(), [](const ImportJob& j) { return j.bytes_written() > 0; });
  EXPECT_EQ(ImportJobState_Name(writing.state()), "IMPORT_JOB_STATE_WRITING");
  downloading = imports_->WaitFor(downloading.id(),
                                  [](const ImportJob& j) { return j.downloaded_bytes() > 0; });
  EXPECT_EQ(ImportJobState_Name(downloading.state()), "IMPORT_JOB_STATE_DOWNLOADING");
  EXPECT_NE(ChildrenOf(kPool, "imports"), "") << "the streaming import has its staging zvol";
  EXPECT_NE(MustRun("ls -A " + kState + "/tmp"), "") << "the download has its temporary file";

  // ... so a third waits as PENDING.
  const std::string local = std::string(kImportDir) + "/queued.raw";
  MakeRawImage(local, 4 * kMiB, {{0, kMiB}});
  ImportJob pending = MustStart("cancel-pending", local);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(imports_->GetJob(pending.id(), &pending).ok());
  EXPECT_EQ(ImportJobState_Name(pending.state()), "IMPORT_JOB_STATE_PENDING");
  EXPECT_EQ(imports_->Jobs(false).size(), 3u);

  for (const ImportJob& job : {pending, writing, downloading}) {
    grpc::Status s = imports_->Cancel(job.id());
    ASSERT_TRUE(s.ok()) << s.error_message();
    ImportJob after;
    ASSERT_TRUE(imports_->GetJob(job.id(), &after).ok());
    EXPECT_EQ(ImportJobState_Name(after.state()), "IMPORT_JOB_STATE_CANCELLED")
        << job.template_name();
    EXPECT_TRUE(after.has_completed_at());
    EXPECT_EQ(imports_->Cancel(job.id()).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  ExpectNothingLeftBehind(kPool, kState, "cancel-writing");
  EXPECT_TRUE(imports_->Jobs(false).empty());

  // CONVERTING: qemu-img is slowed to 256 KiB/s and killed by the cancel.
  const std::string raw = std::string(kImportDir) + "/conv.raw";
  MakeRawImage(raw, 32 * kMiB, {{0, 16 * kMiB}});
  MakeQcow2From(raw, std::string(kImportDir) + "/conv.qcow2");
  MustRun(std::string("echo 262144 > ") + kSlowConvertMarker);
  ImportJob converting = MustStart("cancel-converting", std::string(kImportDir) + "/conv.qcow2");
  converting =
      imports_->WaitFor(converting.id(), [](const ImportJob& j) { return j.bytes_written() > 0; });
  EXPECT_EQ(ImportJobState_Name(converting.state()), "IMPORT_JOB_STATE_CONVERTING");
  EXPECT_NE(Shell("pgrep -f 'qemu-img conver[t]'").output, "") << "qemu-img should be running";
  ASSERT_TRUE(imports_->Cancel(converting.id()).ok());
  ASSERT_TRUE(imports_->GetJob(converting.id(), &converting).ok());
  EXPECT_EQ(ImportJobState_Name(converting.state()), "IMPORT_JOB_STATE_CANCELLED");
  ExpectNothingLeftBehind(kPool, kState, "cancel-converting");

  EXPECT_EQ(imports_->Cancel("00000000-0000-4000-8000-000000000000").error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ImportApiTest, CancellingAFinishedJobSaysSo) {
  const std::string path = std::string(kImportDir) + "/done.raw";
  MakeRawImage(path, 2 * kMiB, {{0, kMiB}});
  ImportJob job = ImportAndWait("finished", path);
  ASSERT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_COMPLETED") << job.error();
  grpc::Status s = imports_->Cancel(job.id());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("already finished (COMPLETED)")) << s.error_message();
  EXPECT_TRUE(DatasetExists(kPool + "/.mvirt/templates/finished@template"));
}

TEST_F(ImportApiTest, NamesOfTemplatesAndRunningImportsAreTaken) {
  const std::string path = std::string(kImportDir) + "/name.raw";
  MakeRawImage(path, 2 * kMiB, {{0, kMiB}});
  ImportJob done = ImportAndWait("taken", path);
  ASSERT_EQ(ImportJobState_Name(done.state()), "IMPORT_JOB_STATE_COMPLETED") << done.error();
  ImportJob job;
  grpc::Status s = imports_->Import("taken", path, &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();

  MakeRawImage(std::string(HttpsServer::kRoot) + "/busy.raw", 16 * kMiB, {{0, 16 * kMiB}});
  ImportJob running = MustStart("busy", HttpsServer::Get().Url("busy.raw?rate=300000"));
  s = imports_->Import("busy", path, &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("an import of a template of that name is running (job " +
                                           running.id() + ")"))
      << "the refusal names the running job: " << s.error_message();
  // A snapshot cannot be promoted to the name either.
  Volume v;
  ASSERT_TRUE(Create("busy-src", 4 * kMiB, &v).ok());
  ASSERT_TRUE(Snapshot("busy-src", "s").ok());
  PromoteSnapshotRequest promote;
  promote.set_volume_name("busy-src");
  promote.set_snapshot_name("s");
  promote.set_template_name("busy");
  grpc::ClientContext ctx;
  Template t;
  s = stub_->PromoteSnapshotToTemplate(&ctx, promote, &t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  ASSERT_TRUE(imports_->Cancel(running.id()).ok());
  // Once the import is gone, the name is free again.
  ImportJob again = ImportAndWait("busy", path);
  EXPECT_EQ(ImportJobState_Name(again.state()), "IMPORT_JOB_STATE_COMPLETED") << again.error();
}

TEST_F(ImportApiTest, JobsAreListedInCreationOrderAndWatchersSeeThem) {
  const std::string path = std::string(kImportDir) + "/watched.raw";
  MakeRawImage(path, 12 * kMiB, {{0, 12 * kMiB}});
  MakeRawImage(std::string(HttpsServer::kRoot) + "/watched.raw", 12 * kMiB, {{0, 12 * kMiB}});

  // A template that exists before the watch starts comes first, in full;
  // once it has arrived the subscription is live and misses nothing.
  MakeRawImage(std::string(kImportDir) + "/before.raw", kMiB, {{0, 4096}});
  ImportJob before = ImportAndWait("watched-before", std::string(kImportDir) + "/before.raw");
  ASSERT_TRUE(before.has_template_()) << before.error();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
  auto watch = stub_->WatchTemplates(&ctx, WatchTemplatesRequest());
  {
    TemplateEvent e;
    ASSERT_TRUE(watch->Read(&e));
    ASSERT_TRUE(e.has_template_());
    EXPECT_EQ(e.template_().name(), "watched-before");
    EXPECT_EQ(e.template_id(), before.template_().id());
    EXPECT_EQ(e.template_().size_bytes(), kMiB);
    EXPECT_EQ(e.template_().import_source(), std::string(kImportDir) + "/before.raw");
    EXPECT_FALSE(e.has_import_job()) << "a finished import is not part of the state";
  }
  ImportJob slow = MustStart("watched-slow", HttpsServer::Get().Url("watched.raw?rate=2000000"));
  ImportJob fast = MustStart("watched", path);

  // A subscriber that comes later gets the running import in its initial state.
  imports_->WaitFor(slow.id(), [](const ImportJob& j) { return j.bytes_written() > 0; });
  {
    grpc::ClientContext late_ctx;
    late_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    auto late = stub_->WatchTemplates(&late_ctx, WatchTemplatesRequest());
    TemplateEvent e;
    bool seen = false;
    while (!seen && late->Read(&e)) {
      seen = e.has_import_job() && e.import_job().id() == slow.id();
    }
    EXPECT_TRUE(seen) << "a running import is part of the current state";
    late_ctx.TryCancel();
  }

  // The first subscriber sees each job's states in order and its template.
  std::map<std::string, std::vector<ImportJob>> events;
  std::set<std::string> finished;
  TemplateEvent e;
  while (finished.size() < 2 && watch->Read(&e)) {
    if (!e.has_import_job()) continue;
    const ImportJob& job = e.import_job();
    events[job.id()].push_back(job);
    if (ImportClient::Finished(job)) {
      finished.insert(job.id());
      EXPECT_EQ(ImportJobState_Name(job.state()), "IMPORT_JOB_STATE_COMPLETED") << job.error();
      EXPECT_TRUE(e.has_template_()) << "the completing event carries the template";
      EXPECT_EQ(e.template_id(), e.template_().id());
    }
  }
  ctx.TryCancel();
  for (const ImportJob& job : {slow, fast}) {
    const std::vector<ImportJob>& seen = events[job.id()];
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(ImportJobState_Name(seen.front().state()), "IMPORT_JOB_STATE_PENDING");
    EXPECT_EQ(ImportJobState_Name(seen.back().state()), "IMPORT_JOB_STATE_COMPLETED");
    ExpectTrustworthyProgress(seen);
    // Throttled: a handful per second, not one per chunk.
    EXPECT_LT(seen.size(), 200u);
  }

  std::vector<ImportJob> all = imports_->Jobs(true);
  ASSERT_GE(all.size(), 2u);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LE(all[i - 1].created_at(), all[i].created_at());
  for (const ImportJob& job : imports_->Jobs(false)) {
    EXPECT_NE(job.id(), slow.id()) << "finished jobs are listed only with include_completed";
  }
}

}  // namespace
}  // namespace mvirt::zfs::testing
