// CrashPoint: a named place where the crash-torture tests may end the
// process, as if it had been killed right there. Compiled in only with
// -DMVIRT_CRASH_POINTS (a test build); elsewhere a no-op the compiler drops.
// With it compiled in, the process ends (_exit(kCrashPointExitCode), no
// clean-up, no destructors) when the file named by the environment variable
// MVIRT_ZFS_CRASH_FILE holds the point's name (read at every point, so a
// test can aim one running daemon at one point after another).
#ifndef MVIRT_ZFS_COMMON_CRASH_POINT_H_
#define MVIRT_ZFS_COMMON_CRASH_POINT_H_

#ifdef MVIRT_CRASH_POINTS
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#endif

namespace mvirt::zfs {

inline constexpr int kCrashPointExitCode = 86;

inline void CrashPoint([[maybe_unused]] const char* name) {
#ifdef MVIRT_CRASH_POINTS
  static const char* const file = std::getenv("MVIRT_ZFS_CRASH_FILE");
  if (file == nullptr) return;
  std::string target;
  std::getline(std::ifstream(file), target);
  if (target == name) ::_exit(kCrashPointExitCode);
#endif
}

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_CRASH_POINT_H_
