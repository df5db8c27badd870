#include "common/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace mvirt::zfs {
namespace {

SubprocessResult RunToEnd(std::vector<std::string> argv, std::string* out = nullptr) {
  SubprocessOptions options;
  options.argv = std::move(argv);
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(options);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return {};
  return (*child)->Wait([&](absl::string_view s) {
    if (out != nullptr) out->append(s.data(), s.size());
  });
}

TEST(Subprocess, PassesStdoutAndKeepsTheStderrTail) {
  std::string out;
  SubprocessResult r = RunToEnd({"sh", "-c", "echo hello; echo oops >&2; exit 3"}, &out);
  EXPECT_EQ(out, "hello\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.stderr_tail, "oops\n");
  EXPECT_EQ(r.Describe(), "exit code 3: oops");
  EXPECT_TRUE(RunToEnd({"true"}).ok());
}

TEST(Subprocess, UnknownProgramIsNotFound) {
  SubprocessOptions options;
  options.argv = {"mvirt-no-such-program"};
  EXPECT_EQ(Subprocess::Start(options).status().code(), absl::StatusCode::kNotFound);
}

TEST(Subprocess, KillEndsTheChildAndItsChildren) {
  SubprocessOptions options;
  // The child starts a grandchild that keeps stdout open: only killing the
  // whole process group ends the output.
  options.argv = {"sh", "-c", "sleep 30 & sleep 30"};
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(options);
  ASSERT_TRUE(child.ok());
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    (*child)->Kill();
  });
  auto start = std::chrono::steady_clock::now();
  SubprocessResult r = (*child)->Wait([](absl::string_view) {});
  killer.join();
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_EQ(r.Describe(), "killed by signal 9");
  // Not the 30 s of sleep: the kill ended it (a generous bound, not a benchmark).
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  (*child)->Kill();  // after reaping: a no-op, never a stray signal
}

TEST(Subprocess, CpuLimitApplies) {
  SubprocessOptions options;
  options.argv = {"sh", "-c", "ulimit -t"};
  options.max_cpu_seconds = 7;
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(options);
  ASSERT_TRUE(child.ok());
  std::string out;
  (*child)->Wait([&](absl::string_view s) { out.append(s.data(), s.size()); });
  EXPECT_EQ(out, "7\n");
}

TEST(Subprocess, FileSizeLimitApplies) {
  char dir[] = "/tmp/mvirt-zfs-fsize-XXXXXX";
  const std::string scratch = mkdtemp(dir);
  SubprocessOptions options;
  // A write beyond the limit ends the writer with SIGXFSZ.
  options.argv = {"sh", "-c", "exec head -c 2000000 /dev/zero > " + scratch + "/big"};
  options.max_file_size_bytes = 1 << 20;
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(options);
  ASSERT_TRUE(child.ok());
  SubprocessResult r = (*child)->Wait([](absl::string_view) {});
  EXPECT_EQ(r.term_signal, SIGXFSZ) << r.Describe();
  struct stat st;
  ASSERT_EQ(::stat((scratch + "/big").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  std::filesystem::remove_all(scratch);
}

TEST(FindExecutable, LooksUpNamesInPathAndTakesPathsAsGiven) {
  EXPECT_EQ(FindExecutable("sh").empty(), false);
  EXPECT_EQ(FindExecutable("sh")[0], '/');
  EXPECT_EQ(FindExecutable("/bin/sh"), "/bin/sh");
  EXPECT_EQ(FindExecutable("mvirt-no-such-program"), "");
  EXPECT_EQ(FindExecutable("/nonexistent/sh"), "");
}

}  // namespace
}  // namespace mvirt::zfs
