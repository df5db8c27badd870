#include "import/qemu_img.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/cancel_token.h"
#include "common/subprocess.h"
#include "import/qemu_img_sandbox.h"

namespace mvirt::zfs {
namespace {

// What qemu-img 7.2 prints for a self-contained qcow2 image.
constexpr char kPlain[] = R"({
    "virtual-size": 10737418240,
    "filename": "debian.qcow2",
    "cluster-size": 65536,
    "format": "qcow2",
    "actual-size": 200704,
    "format-specific": {
        "type": "qcow2",
        "data": {
            "compat": "1.1",
            "compression-type": "zlib",
            "lazy-refcounts": false,
            "refcount-bits": 16,
            "corrupt": false,
            "extended-l2": false
        }
    },
    "dirty-flag": false
})";

TEST(QemuImgInfo, ParsesAPlainImage) {
  absl::StatusOr<QemuImgInfo> info = ParseQemuImgInfo(kPlain);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->format, "qcow2");
  EXPECT_EQ(info->virtual_size, 10737418240u);
  EXPECT_EQ(info->backing_file, "");
  EXPECT_EQ(info->data_file, "");
  EXPECT_FALSE(info->encrypted);
  EXPECT_FALSE(info->corrupt);
  EXPECT_TRUE(CheckQcow2IsSafe(*info, 20ull << 30).ok());
}

TEST(QemuImgInfo, ParsesBackingFileDataFileEncryptionAndCorruption) {
  absl::StatusOr<QemuImgInfo> info = ParseQemuImgInfo(R"({
      "virtual-size": 1048576, "format": "qcow2", "encrypted": true,
      "backing-filename": "/etc/shadow", "backing-filename-format": "raw",
      "format-specific": {"type": "qcow2", "data": {"corrupt": true, "data-file": "/dev/sda"}}})");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->backing_file, "/etc/shadow");
  EXPECT_EQ(info->data_file, "/dev/sda");
  EXPECT_TRUE(info->encrypted);
  EXPECT_TRUE(info->corrupt);
}

TEST(QemuImgInfo, RefusesGarbage) {
  for (const char* text : {"", "not json", "[]", R"({"format": "qcow2"})",
                           R"({"virtual-size": -1, "format": "qcow2"})"}) {
    EXPECT_EQ(ParseQemuImgInfo(text).status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(QemuImgInfo, UnsafeImagesAreRefusedNamingWhy) {
  QemuImgInfo good;
  good.format = "qcow2";
  good.virtual_size = 1 << 20;
  struct Case {
    QemuImgInfo info;
    std::string why;
  };
  std::vector<Case> cases;
  cases.push_back({good, ""});
  cases.back().info.backing_file = "base.qcow2";
  cases.back().why = "backing file";
  cases.push_back({good, "external data file"});
  cases.back().info.data_file = "data.raw";
  cases.push_back({good, "encrypted"});
  cases.back().info.encrypted = true;
  cases.push_back({good, "corrupt"});
  cases.back().info.corrupt = true;
  cases.push_back({good, "empty"});
  cases.back().info.virtual_size = 0;
  cases.push_back({good, "exceeds the import limit"});
  cases.back().info.virtual_size = (1 << 20) + 1;
  cases.push_back({good, "not qcow2"});
  cases.back().info.format = "raw";
  for (const Case& c : cases) {
    absl::Status s = CheckQcow2IsSafe(c.info, 1 << 20);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.why;
    EXPECT_NE(s.message().find(c.why), absl::string_view::npos) << s;
  }
  EXPECT_TRUE(CheckQcow2IsSafe(good, 1 << 20).ok());
}

TEST(QemuImgCheck, ParsesCountsOfACleanAndATruncatedImage) {
  // What qemu-img 7.2 prints for a clean image: counts that are 0 are left out.
  absl::StatusOr<QemuImgCheck> clean = ParseQemuImgCheck(R"({
      "image-end-offset": 8716288, "total-clusters": 256, "check-errors": 0,
      "allocated-clusters": 128, "filename": "t.qcow2", "format": "qcow2"})");
  ASSERT_TRUE(clean.ok()) << clean.status();
  EXPECT_EQ(clean->corruptions, 0u);
  EXPECT_EQ(clean->check_errors, 0u);
  absl::StatusOr<QemuImgCheck> leaky = ParseQemuImgCheck(R"({"check-errors": 0, "leaks": 2})");
  ASSERT_TRUE(leaky.ok()) << leaky.status();
  EXPECT_EQ(leaky->leaks, 2u);
  EXPECT_FALSE(ParseQemuImgCheck(R"({"filename": "t.qcow2"})").ok()) << "not a check result";
  // What qemu-img 7.2 prints for a qcow2 cut short.
  absl::StatusOr<QemuImgCheck> truncated = ParseQemuImgCheck(R"({
      "image-end-offset": 2097152, "total-clusters": 256, "corruptions": 101,
      "check-errors": 0, "allocated-clusters": 128, "filename": "t.qcow2", "format": "qcow2"})");
  ASSERT_TRUE(truncated.ok()) << truncated.status();
  EXPECT_EQ(truncated->corruptions, 101u);
  EXPECT_EQ(ParseQemuImgCheck("garbage").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(QemuImgProgress, ReportsTheLatestPercentageAcrossChunks) {
  QemuImgProgressParser parser;
  std::optional<double> p = parser.Feed("    (0.00/100%)");
  ASSERT_TRUE(p.has_value());
  EXPECT_DOUBLE_EQ(*p, 0.0);
  p = parser.Feed("\r    (12.5");
  EXPECT_FALSE(p.has_value());
  p = parser.Feed("0/100%)\r    (20.00/100%)\r    (3");
  ASSERT_TRUE(p.has_value());
  EXPECT_DOUBLE_EQ(*p, 0.2);
  p = parser.Feed("0.00/100%)\r");
  ASSERT_TRUE(p.has_value());
  EXPECT_DOUBLE_EQ(*p, 0.3);
  p = parser.Feed("    (100.00/100%)\n");
  ASSERT_TRUE(p.has_value());
  EXPECT_DOUBLE_EQ(*p, 1.0);
  EXPECT_FALSE(parser.Feed("noise without a report").has_value());
}

// --- The sandbox ---

TEST(QemuImgSandbox, BuildsTheBwrapCommandLine) {
  QemuImgSandbox sandbox{"/usr/bin/qemu-img",
                         "/var/lib/mvirt-zfs/tmp/j.download",
                         "/dev/zd0",
                         {"/opt/wrap", "/var/tmp/marker"}};
  std::vector<RootEntry> root = {{"/bin", "usr/bin"}, {"/lib", "usr/lib"}, {"/lib64", ""}};
  std::vector<std::string> argv =
      QemuImgSandboxArgv(sandbox, root, {"convert", "-n", kSandboxImage, kSandboxTarget});
  const std::vector<std::string> expected = {"/usr/bin/bwrap",
                                             "--unshare-ipc",
                                             "--unshare-pid",
                                             "--unshare-net",
                                             "--unshare-uts",
                                             "--unshare-cgroup-try",
                                             "--die-with-parent",
                                             "--new-session",
                                             "--cap-drop",
                                             "ALL",
                                             "--clearenv",
                                             "--setenv",
                                             "PATH",
                                             "/usr/local/bin:/usr/bin:/bin",
                                             "--ro-bind",
                                             "/usr",
                                             "/usr",
                                             "--symlink",
                                             "usr/bin",
                                             "/bin",
                                             "--symlink",
                                             "usr/lib",
                                             "/lib",
                                             "--ro-bind",
                                             "/lib64",
                                             "/lib64",
                                             "--ro-bind-try",
                                             "/etc/ld.so.cache",
                                             "/etc/ld.so.cache",
                                             "--proc",
                                             "/proc",
                                             "--dev",
                                             "/dev",
                                             "--tmpfs",
                                             "/tmp",
                                             "--ro-bind-try",
                                             "/opt/wrap",
                                             "/opt/wrap",
                                             "--ro-bind-try",
                                             "/var/tmp/marker",
                                             "/var/tmp/marker",
                                             "--ro-bind",
                                             "/var/lib/mvirt-zfs/tmp/j.download",
                                             "/image",
                                             "--dev-bind",
                                             "/dev/zd0",
                                             "/target",
                                             "--chdir",
                                             "/",
                                             "--",
                                             "/usr/bin/qemu-img",
                                             "convert",
                                             "-n",
                                             "/image",
                                             "/target"};
  EXPECT_EQ(argv, expected) << absl::StrJoin(argv, " ");

  // info and check: no device at all.
  sandbox.target_device = "";
  argv = QemuImgSandboxArgv(sandbox, root, {"info", kSandboxImage});
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "--dev-bind"), argv.end());
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "/target"), argv.end());
}

TEST(QemuImgSandbox, HostRootEntriesDescribeThisHost) {
  for (const RootEntry& entry : HostRootEntries()) {
    struct stat st;
    ASSERT_EQ(::lstat(entry.path.c_str(), &st), 0) << entry.path;
    EXPECT_EQ(S_ISLNK(st.st_mode), !entry.symlink_target.empty()) << entry.path;
  }
}

TEST(QemuImgSandbox, WrapperScriptsDeclareWhatTheyNeed) {
  absl::StatusOr<std::vector<std::string>> binds = WrapperBinds(
      "#!/bin/sh\n# mvirt-zfs-sandbox-ro-bind: /var/tmp/marker\n"
      "  # mvirt-zfs-sandbox-ro-bind:/etc/wrap.conf  \nexec qemu-img \"$@\"\n"
      "# mvirt-zfs-sandbox-ro-bind: /cut/sho");
  ASSERT_TRUE(binds.ok()) << binds.status();
  EXPECT_EQ(*binds, (std::vector<std::string>{"/var/tmp/marker", "/etc/wrap.conf"}));
  // Not a script (a binary): nothing is read from it.
  binds = WrapperBinds(
      "\x7f"
      "ELF# mvirt-zfs-sandbox-ro-bind: /etc\n");
  ASSERT_TRUE(binds.ok());
  EXPECT_TRUE(binds->empty());
  for (const char* bad : {"relative/path", "/", "/a/../etc", "", "/a//b"}) {
    binds = WrapperBinds(absl::StrCat("#!/bin/sh\n# mvirt-zfs-sandbox-ro-bind: ", bad, "\n"));
    EXPECT_EQ(binds.status().code(), absl::StatusCode::kFailedPrecondition) << bad;
  }
}

// A scratch directory with a qcow2 image made by qemu-img.
class SandboxedQemuImg : public ::testing::Test {
 protected:
  void SetUp() override {
    // scripts/setup-host.sh installs both; the tests run as root.
    ASSERT_FALSE(FindExecutable("qemu-img").empty()) << "qemu-img is not installed (qemu-utils)";
    ASSERT_EQ(::access(kBwrapPath, X_OK), 0) << "bubblewrap is not installed";
    char dir[] = "/tmp/mvirt-zfs-sandbox-XXXXXX";
    dir_ = mkdtemp(dir);
    image_ = dir_ + "/disk.qcow2";
    const std::string raw = dir_ + "/src.raw";
    std::ofstream(raw) << std::string(65536, 'x');
    std::filesystem::resize_file(raw, 4 << 20);
    Run("qemu-img convert -q -f raw -O qcow2 " + raw + " " + image_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  static void Run(const std::string& command) {
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  // An executable wrapper script `name` in the scratch directory.
  std::string Wrapper(const std::string& name, const std::string& body) {
    const std::string path = dir_ + "/bin/" + name;
    std::filesystem::create_directories(dir_ + "/bin");
    std::ofstream(path) << "#!/bin/sh\n" << body;
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path;
  }
  std::string dir_;
  std::string image_;
  CancelToken cancel_;
};

TEST_F(SandboxedQemuImg, InspectsChecksAndConverts) {
  absl::StatusOr<QemuImgInfo> info = InspectQcow2("qemu-img", image_, cancel_);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->format, "qcow2");
  EXPECT_EQ(info->virtual_size, 4u << 20);
  absl::Status checked = CheckQcow2Consistency("qemu-img", image_, cancel_);
  EXPECT_TRUE(checked.ok()) << checked;
  // Into a zero-filled target (a file here; a zvol's device in use).
  const std::string target = dir_ + "/target.raw";
  std::ofstream(target).close();
  std::filesystem::resize_file(target, 4 << 20);
  double last = 0;
  absl::Status converted =
      ConvertQcow2ToDevice("qemu-img", image_, target, cancel_, [&](double f) { last = f; });
  ASSERT_TRUE(converted.ok()) << converted;
  EXPECT_EQ(last, 1.0);
  std::ifstream in(target, std::ios::binary);
  std::string head(65537, '\0');
  in.read(head.data(), head.size());
  EXPECT_EQ(head, std::string(65536, 'x') + '\0');
}

TEST_F(SandboxedQemuImg, QemuImgSeesOnlyWhatItNeeds) {
  // A wrapper reporting what it sees as the "format" of qemu-img info's JSON.
  const std::string declared = dir_ + "/declared";
  std::ofstream(declared) << "visible";
  const std::string wrapper = Wrapper(
      "qemu-img",
      absl::StrCat("# mvirt-zfs-sandbox-ro-bind: ", declared, "\n", "root=$(ls / | tr '\\n' ' ')\n",
                   "etc=$(ls /etc | tr '\\n' ' ')\n",
                   "net=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' ')\n",
                   "envs=$(env | cut -d= -f1 | grep -v '^PWD$' | sort | tr '\\n' ' ')\n",
                   "caps=$(grep CapEff /proc/self/status | cut -f2)\n",
                   "touch /image 2>/dev/null && rw=writable || rw=readonly\n",
                   "secret=$(cat /etc/shadow " + dir_ + "/src.raw 2>/dev/null | head -c 1)\n",
                   "printf '{\"virtual-size\": 1, \"format\": \"%s|%s|%s|%s|%s|%s|%s|%s|%s\"}' ",
                   "\"$root\" \"$etc\" \"$net\" \"$envs\" \"$caps\" \"$rw\" \"$(cat ", declared,
                   ")\" ", "\"$secret\" \"$*\"\n"));
  ::setenv("MVIRT_ZFS_TEST_SECRET", "x", 1);
  absl::StatusOr<QemuImgInfo> info = InspectQcow2(wrapper, image_, cancel_);
  ::unsetenv("MVIRT_ZFS_TEST_SECRET");
  ASSERT_TRUE(info.ok()) << info.status();
  std::vector<std::string> seen = absl::StrSplit(info->format, '|');
  ASSERT_EQ(seen.size(), 9u) << info->format;
  // / holds the system's programs and libraries, the image, the wrapper's
  // directory (under /tmp) and nothing else: no /home, /var, /run, /root.
  std::vector<std::string> root = absl::StrSplit(seen[0], ' ', absl::SkipEmpty());
  for (const std::string& entry : root) {
    EXPECT_TRUE(entry == "usr" || entry == "bin" || entry == "sbin" || entry == "etc" ||
                absl::StartsWith(entry, "lib") || entry == "proc" || entry == "dev" ||
                entry == "tmp" || entry == "image")
        << entry << " in " << seen[0];
  }
  EXPECT_EQ(seen[1], "ld.so.cache ") << "/etc holds only the loader's cache";
  EXPECT_EQ(seen[2], "lo ") << "no network but loopback";
  EXPECT_EQ(seen[3], "PATH ") << "the environment is cleared";
  EXPECT_EQ(seen[4], "0000000000000000") << "no capabilities";
  EXPECT_EQ(seen[5], "readonly");
  EXPECT_EQ(seen[6], "visible") << "declared paths are bound";
  EXPECT_EQ(seen[7], "") << "other files are not";
  EXPECT_EQ(seen[8], "info -f qcow2 --output=json /image");
}

TEST_F(SandboxedQemuImg, CancelKillsEverythingInTheSandbox) {
  const std::string wrapper = Wrapper("slow-qemu-img", "sleep 31.337\n");
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cancel_.Cancel();
  });
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<QemuImgInfo> info = InspectQcow2(wrapper, image_, cancel_);
  canceller.join();
  EXPECT_EQ(info.status().code(), absl::StatusCode::kCancelled) << info.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  // The sandbox's processes are in their own session: still, none is left.
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    gone = std::system("pgrep -f 'sleep 31[.]337' >/dev/null") != 0;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << "a process of the sandbox outlived the cancel";
}

TEST_F(SandboxedQemuImg, AMissingQemuImgIsAFailedPrecondition) {
  absl::StatusOr<QemuImgInfo> info = InspectQcow2("mvirt-no-such-qemu-img", image_, cancel_);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kFailedPrecondition) << info.status();
  EXPECT_NE(info.status().message().find("install qemu-utils"), absl::string_view::npos);
}

}  // namespace
}  // namespace mvirt::zfs
