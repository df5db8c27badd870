#include "common/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/posix_error.h"

namespace mvirt::zfs {

std::string InstanceLock::PathFor(const std::string& key) {
  std::string name = key;
  for (char& c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
      c = '_';
    }
  }
  return absl::StrCat(kLockDir, "/", name, ".lock");
}

absl::StatusOr<InstanceLock> InstanceLock::Acquire(const std::string& path,
                                                   const std::string& what) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec)
    return absl::UnavailableError(
        absl::StrCat("create the directory of ", path, ": ", ec.message()));
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) return PosixError(absl::StrCat("open the lock file ", path), errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return PosixError(absl::StrCat("lock ", path), errno);
    char buf[32] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof(buf) - 1, 0);
    int pid = 0;
    std::string holder = n > 0 && absl::SimpleAtoi(absl::StripAsciiWhitespace(buf), &pid)
                             ? absl::StrCat("pid ", pid)
                             : "another process";
    return absl::FailedPreconditionError(absl::StrCat("another mvirt-zfs (", holder,
                                                      ") already serves ", what, " (it holds ",
                                                      path, "); stop it first"));
  }
  std::string pid = absl::StrCat(::getpid(), "\n");
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) {
    return PosixError(absl::StrCat("write ", path), errno);
  }
  return InstanceLock(std::move(fd));
}

}  // namespace mvirt::zfs
