// Helpers of the real-ZFS import tests: making images (raw with holes and
// data patterns, qcow2 made by qemu-img from them), running imports through
// the gRPC API, following a job until it ends, and checking that a failed or
// cancelled import left nothing behind.
#ifndef MVIRT_ZFS_TESTS_ZFS_IMPORT_FIXTURE_H_
#define MVIRT_ZFS_TESTS_ZFS_IMPORT_FIXTURE_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api_fixture.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {

// A sparse raw image of `size` bytes holding Pattern(seed) at each given
// (offset, length); zeros (holes) elsewhere.
inline void MakeRawImage(const std::string& path, uint64_t size,
                         const std::vector<std::pair<uint64_t, size_t>>& data, char seed = 'a') {
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::ftruncate(fd, size), 0);
  for (const auto& [offset, length] : data) {
    std::string bytes = Pattern(static_cast<char>(seed + offset / 4096), length);
    ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), offset), static_cast<ssize_t>(length));
  }
  ::close(fd);
}

// `qemu-img convert -O qcow2 raw qcow2` (compressed clusters with `compress`).
inline void MakeQcow2From(const std::string& raw, const std::string& qcow2, bool compress = false) {
  MustRun("rm -f " + qcow2 + " && qemu-img convert -f raw -O qcow2 " + (compress ? "-c " : "") +
          raw + " " + qcow2);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string Sha256Of(const std::string& path) {
  std::string out = MustRun("sha256sum " + path);
  return out.substr(0, 64);
}

// The datasets under <pool>/.mvirt/<dir>, one per line ("" if none).
inline std::string ChildrenOf(const std::string& pool, const std::string& dir) {
  const std::string parent = pool + "/.mvirt/" + dir;
  CommandResult r = Shell("zfs list -H -o name -t all -r " + parent);
  if (r.exit_code != 0) return "";  // never created
  std::string out;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (line != parent) out += line + "\n";
  }
  return out;
}

// A gRPC client for imports, on the shared daemon unless given another one.
class ImportClient {
 public:
  explicit ImportClient(std::unique_ptr<ZfsService::Stub> stub) : stub_(std::move(stub)) {}

  grpc::Status Import(const std::string& name, const std::string& source, ImportJob* job,
                      std::optional<uint64_t> size = {}, const std::string& sha256 = "") {
    ImportTemplateRequest req;
    req.set_name(name);
    req.set_source(source);
    if (size) req.set_size_bytes(*size);
    req.set_sha256(sha256);
    grpc::ClientContext ctx;
    return stub_->ImportTemplate(&ctx, req, job);
  }
  grpc::Status GetJob(const std::string& id, ImportJob* job) {
    GetImportJobRequest req;
    req.set_id(id);
    grpc::ClientContext ctx;
    return stub_->GetImportJob(&ctx, req, job);
  }
  grpc::Status Cancel(const std::string& id) {
    CancelImportJobRequest req;
    req.set_id(id);
    grpc::ClientContext ctx;
    CancelImportJobResponse resp;
    grpc::Status s = stub_->CancelImportJob(&ctx, req, &resp);
    if (s.ok()) {
      EXPECT_TRUE(resp.cancelled());
    }
    return s;
  }
  std::vector<ImportJob> Jobs(bool include_completed) {
    ListImportJobsRequest req;
    req.set_include_completed(include_completed);
    grpc::ClientContext ctx;
    ListImportJobsResponse resp;
    EXPECT_TRUE(stub_->ListImportJobs(&ctx, req, &resp).ok());
    return {resp.jobs().begin(), resp.jobs().end()};
  }
  std::vector<Template> Templates() {
    grpc::ClientContext ctx;
    ListTemplatesResponse resp;
    EXPECT_TRUE(stub_->ListTemplates(&ctx, ListTemplatesRequest(), &resp).ok());
    return {resp.templates().begin(), resp.templates().end()};
  }

  // Polls the job every 50 ms until `done` holds (or it finished); fails
  // the test after `timeout`. Every snapshot seen is appended to `seen`.
  ImportJob WaitFor(const std::string& id, const std::function<bool(const ImportJob&)>& done,
                    std::vector<ImportJob>* seen = nullptr,
                    std::chrono::seconds timeout = std::chrono::seconds(600)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    ImportJob job;
    while (std::chrono::steady_clock::now() < deadline) {
      grpc::Status s = GetJob(id, &job);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) return job;
      if (seen != nullptr) seen->push_back(job);
      if (done(job) || Finished(job)) return job;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "import job " << id << " did not get there in time; last state "
                  << ImportJobState_Name(job.state());
    return job;
  }
  ImportJob WaitUntilFinished(const std::string& id, std::vector<ImportJob>* seen = nullptr) {
    return WaitFor(
        id, [](const ImportJob&) { return false; }, seen);
  }
  ImportJob WaitForState(const std::string& id, ImportJobState state) {
    ImportJob job = WaitFor(id, [&](const ImportJob& j) { return j.state() == state; });
    EXPECT_EQ(ImportJobState_Name(job.state()), ImportJobState_Name(state)) << job.error();
    return job;
  }

  static bool Finished(const ImportJob& job) {
    return job.state() == IMPORT_JOB_STATE_COMPLETED || job.state() == IMPORT_JOB_STATE_FAILED ||
           job.state() == IMPORT_JOB_STATE_CANCELLED;
  }

  ZfsService::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<ZfsService::Stub> stub_;
};

// What a progress bar relies on, over every snapshot of a job seen in order:
// bytes_written never decreases and never exceeds a known total, the total
// never changes once known, downloads likewise.
inline void ExpectTrustworthyProgress(const std::vector<ImportJob>& seen) {
  uint64_t written = 0, total = 0, downloaded = 0;
  for (const ImportJob& job : seen) {
    EXPECT_GE(job.bytes_written(), written) << "bytes_written went backwards";
    if (job.total_bytes() > 0) {
      EXPECT_LE(job.bytes_written(), job.total_bytes());
      if (total > 0) {
        EXPECT_EQ(job.total_bytes(), total) << "total_bytes changed";
      }
      total = job.total_bytes();
    } else {
      EXPECT_EQ(job.bytes_written(), 0u) << "bytes written before the total is known";
    }
    EXPECT_GE(job.downloaded_bytes(), downloaded);
    if (job.download_total_bytes() > 0) {
      EXPECT_LE(job.downloaded_bytes(), job.download_total_bytes());
    }
    written = job.bytes_written();
    downloaded = job.downloaded_bytes();
  }
}

// Nothing of failed or cancelled imports is left in `pool` or `state_dir`:
// no staging zvol, no half-built or finished template named `name`, no
// temporary download.
inline void ExpectNothingLeftBehind(const std::string& pool, const std::string& state_dir,
                                    const std::string& name) {
  EXPECT_EQ(ChildrenOf(pool, "imports"), "");
  EXPECT_EQ(ChildrenOf(pool, "incoming"), "");
  EXPECT_FALSE(DatasetExists(pool + "/.mvirt/templates/" + name));
  EXPECT_EQ(MustRun("ls -A " + state_dir + "/tmp"), "") << "temporary downloads remain";
  EXPECT_EQ(Shell("pgrep -f 'qemu-img (inf[o]|conver[t])'").output, "") << "qemu-img still runs";
}

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_ZFS_IMPORT_FIXTURE_H_
