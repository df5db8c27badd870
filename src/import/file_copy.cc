#include "import/file_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"

namespace mvirt::zfs {
namespace {

// Bytes per copy_file_range call: progress and cancellation between calls.
constexpr uint64_t kCopyStep = 16 << 20;

// The errors of a first copy_file_range that mean "not between these
// files" rather than a failed copy.
bool CannotCopyHere(int err) {
  return err == EXDEV || err == EOPNOTSUPP || err == ENOSYS || err == EINVAL;
}

}  // namespace

DataRegion NextDataRegion(int fd, uint64_t offset, uint64_t size) {
  const off_t data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
  if (data < 0) return errno == ENXIO ? DataRegion{size, size} : DataRegion{offset, size};
  const uint64_t start = std::min<uint64_t>(data, size);
  const off_t hole = ::lseek(fd, data, SEEK_HOLE);
  const uint64_t end = hole < 0 ? size : std::min<uint64_t>(hole, size);
  return {start, std::max(start, end)};
}

absl::Status CheckStillAtLeast(int fd, uint64_t size) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return PosixError("fstat", errno);
  if (static_cast<uint64_t>(st.st_size) < size) {
    return absl::DataLossError(absl::StrCat("the file ended at byte ", st.st_size));
  }
  return absl::OkStatus();
}

absl::Status CopyFileInKernel(int in, int out, uint64_t size,
                              const std::function<bool()>& cancelled,
                              const std::function<void(uint64_t)>& on_progress) {
  bool copied_any = false;
  uint64_t offset = 0;
  while (offset < size) {
    if (cancelled()) return absl::CancelledError("cancelled");
    const DataRegion region = NextDataRegion(in, offset, size);
    offset = region.start;
    while (offset < region.end) {
      if (cancelled()) return absl::CancelledError("cancelled");
      loff_t from = static_cast<loff_t>(offset);
      loff_t to = static_cast<loff_t>(offset);
      const ssize_t n = ::copy_file_range(in, &from, out, &to,
                                          std::min<uint64_t>(kCopyStep, region.end - offset), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && !copied_any && CannotCopyHere(errno)) {
        return absl::UnimplementedError(
            absl::StrCat("the kernel cannot copy between these files: ", std::strerror(errno)));
      }
      if (n < 0) return PosixError("copy_file_range", errno);
      if (n == 0) return absl::DataLossError(absl::StrCat("the file ended at byte ", offset));
      copied_any = true;
      offset += static_cast<uint64_t>(n);
      on_progress(offset);
    }
  }
  if (absl::Status s = CheckStillAtLeast(in, size); !s.ok()) return s;
  // A hole at the end is the file's length, not data.
  if (::ftruncate(out, static_cast<off_t>(size)) != 0) return PosixError("ftruncate", errno);
  on_progress(size);
  return absl::OkStatus();
}

}  // namespace mvirt::zfs
