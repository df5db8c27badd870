#include "import/qemu_img_sandbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/subprocess.h"
#include "common/unique_fd.h"

namespace mvirt::zfs {
namespace {

namespace fs = std::filesystem;

constexpr size_t kWrapperHeadBytes = 4096;
constexpr char kSandboxPath[] = "/usr/local/bin:/usr/bin:/bin";

// The first kWrapperHeadBytes of the file at `path` ("" if unreadable).
std::string ReadHead(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return "";
  std::string head(kWrapperHeadBytes, '\0');
  ssize_t n = ::pread(fd.get(), head.data(), head.size(), 0);
  head.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return head;
}

}  // namespace

std::vector<RootEntry> HostRootEntries() {
  std::vector<RootEntry> entries;
  for (const char* path : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    struct stat st;
    if (::lstat(path, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      fs::path target = fs::read_symlink(path, ec);
      if (!ec) entries.push_back({path, target.string()});
    } else if (S_ISDIR(st.st_mode)) {
      entries.push_back({path, ""});
    }
  }
  return entries;
}

absl::StatusOr<std::vector<std::string>> WrapperBinds(absl::string_view script_head) {
  std::vector<std::string> binds;
  if (!absl::StartsWith(script_head, "#!")) return binds;
  std::vector<absl::string_view> lines = absl::StrSplit(script_head, '\n');
  lines.pop_back();  // unterminated: perhaps cut short
  for (absl::string_view line : lines) {
    line = absl::StripAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, kSandboxBindDirective)) continue;
    const std::string path(absl::StripAsciiWhitespace(line));
    if (path.empty() || path[0] != '/' || path == "/" ||
        fs::path(path).lexically_normal().string() != path) {
      return absl::FailedPreconditionError(
          absl::StrCat("the qemu-img wrapper names the sandbox path '", path,
                       "'; give an absolute, normalized path other than /"));
    }
    binds.push_back(path);
  }
  return binds;
}

absl::StatusOr<QemuImgSandbox> PrepareQemuImgSandbox(const std::string& qemu_img,
                                                     const std::string& image,
                                                     const std::string& target_device) {
  if (::access(kBwrapPath, X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run qemu-img: ", kBwrapPath,
                     " is missing, and qemu-img only runs sandboxed; install bubblewrap"));
  }
  const std::string program = FindExecutable(qemu_img);
  std::error_code ec;
  const fs::path canonical = program.empty() ? fs::path() : fs::canonical(program, ec);
  if (program.empty() || ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run qemu-img: '", qemu_img, "' is not found (install qemu-utils)"));
  }
  QemuImgSandbox sandbox{canonical.string(), image, target_device, {}};
  if (absl::StartsWith(sandbox.qemu_img, "/usr/")) return sandbox;
  // A wrapper: its directory, and what it declares it needs.
  const std::string dir = canonical.parent_path().string();
  if (dir == "/") {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot sandbox qemu-img '", sandbox.qemu_img,
        "': its directory (bound into the sandbox) is /; move it into a directory of its own"));
  }
  sandbox.extra_ro_binds.push_back(dir);
  absl::StatusOr<std::vector<std::string>> binds = WrapperBinds(ReadHead(sandbox.qemu_img));
  if (!binds.ok()) return binds.status();
  sandbox.extra_ro_binds.insert(sandbox.extra_ro_binds.end(), binds->begin(), binds->end());
  return sandbox;
}

std::vector<std::string> QemuImgSandboxArgv(const QemuImgSandbox& sandbox,
                                            const std::vector<RootEntry>& root_entries,
                                            const std::vector<std::string>& args) {
  std::vector<std::string> argv = {
      // Every namespace but the user namespace: the daemon is root, which
      // needs none (and may not create one when chrooted); bwrap run by
      // another user adds one by itself.
      kBwrapPath,
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
      kSandboxPath,
      "--ro-bind",
      "/usr",
      "/usr"};
  for (const RootEntry& entry : root_entries) {
    if (entry.symlink_target.empty()) {
      argv.insert(argv.end(), {"--ro-bind", entry.path, entry.path});
    } else {
      argv.insert(argv.end(), {"--symlink", entry.symlink_target, entry.path});
    }
  }
  argv.insert(argv.end(), {"--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache", "--proc",
                           "/proc", "--dev", "/dev", "--tmpfs", "/tmp"});
  for (const std::string& path : sandbox.extra_ro_binds) {
    argv.insert(argv.end(), {"--ro-bind-try", path, path});
  }
  argv.insert(argv.end(), {"--ro-bind", sandbox.image, kSandboxImage});
  if (!sandbox.target_device.empty()) {
    argv.insert(argv.end(), {"--dev-bind", sandbox.target_device, kSandboxTarget});
  }
  argv.insert(argv.end(), {"--chdir", "/", "--", sandbox.qemu_img});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace mvirt::zfs
