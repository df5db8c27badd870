#include "import/free_space.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"
#include "common/sizes.h"

namespace mvirt::zfs {

uint64_t FreeSpaceMargin(uint64_t total_bytes) {
  return std::min<uint64_t>(kGiB, total_bytes / 20);
}

absl::Status CheckRoomForCopy(const std::string& dir, uint64_t bytes, uint64_t available_bytes,
                              uint64_t total_bytes) {
  const uint64_t margin = FreeSpaceMargin(total_bytes);
  if (available_bytes >= margin && available_bytes - margin >= bytes) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("not enough free space in ", dir, " for a copy of the image: it needs ", bytes,
                   " bytes (", FormatSize(bytes), "), the filesystem has ", available_bytes,
                   " bytes (", FormatSize(available_bytes), ") free and keeps ", margin, " bytes (",
                   FormatSize(margin), ") free; free space there or import a smaller image"));
}

absl::Status CheckFreeSpaceFor(const std::string& dir, uint64_t bytes) {
  struct statvfs fs;
  if (::statvfs(dir.c_str(), &fs) != 0) {
    absl::Status s = PosixError(absl::StrCat("statvfs ", dir), errno);
    return absl::UnavailableError(s.message());
  }
  return CheckRoomForCopy(dir, bytes, static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize,
                          static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize);
}

}  // namespace mvirt::zfs
