// Helpers shared by the fuzz targets.
#ifndef MVIRT_ZFS_TESTS_FUZZ_FUZZ_UTIL_H_
#define MVIRT_ZFS_TESTS_FUZZ_FUZZ_UTIL_H_

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace mvirt::zfs::fuzz {

// Reports a violated invariant and aborts, so that libFuzzer records the
// input as a crash.
[[noreturn]] inline void Fail(const char* target, const std::string& what) {
  std::fprintf(stderr, "%s: invariant violated: %s\n", target, what.c_str());
  std::abort();
}

// True if `finding` is listed in $MVIRT_FUZZ_IGNORE (comma-separated): a
// known finding, reported and not fixed yet, that should not stop a run
// exploring past it. Each target documents the names it checks.
inline bool Ignored(const char* finding) {
  const char* list = std::getenv("MVIRT_FUZZ_IGNORE");
  if (list == nullptr) return false;
  const std::string all = std::string(",") + list + ",";
  return all.find(std::string(",") + finding + ",") != std::string::npos;
}

// An empty directory mvirt-fuzz-<name>-<uid> in /dev/shm (tmpfs: the job
// records of imports are written with fsync, which costs milliseconds on a
// disk), else in $TMPDIR or /tmp; removed at exit. The same path in every run: inputs that
// libFuzzer grew around the path (it learns compared strings) reproduce in a later run. So two
// processes of one target must not run at once.
inline const std::string& FreshDir(const char* name) {
  static std::string* dir = nullptr;
  if (dir != nullptr) return *dir;
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp != nullptr && *tmp == '/' ? tmp : "/tmp";
  if (::access("/dev/shm", W_OK | X_OK) == 0) base = "/dev/shm";
  dir = new std::string(base + "/mvirt-fuzz-" + name + "-" + std::to_string(::getuid()));
  std::error_code ec;
  std::filesystem::remove_all(*dir, ec);
  std::filesystem::create_directories(*dir, ec);
  if (ec) Fail(name, "cannot create " + *dir + ": " + ec.message());
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(*dir, ignored);
  });
  return *dir;
}

}  // namespace mvirt::zfs::fuzz

#endif  // MVIRT_ZFS_TESTS_FUZZ_FUZZ_UTIL_H_
