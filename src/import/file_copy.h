// Sparse-aware copies of local files, for imports: where a file's data
// lies, and a copy made by the kernel that keeps the source's holes.
#ifndef MVIRT_ZFS_IMPORT_FILE_COPY_H_
#define MVIRT_ZFS_IMPORT_FILE_COPY_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"

namespace mvirt::zfs {

// A region of a file that holds data, [start, end).
struct DataRegion {
  uint64_t start;
  uint64_t end;
};

// The next data region of `fd` at or after `offset` (SEEK_DATA/SEEK_HOLE),
// clipped to `size`: {size, size} if only a hole is left. Where holes
// cannot be told (lseek fails), all of the rest is data.
DataRegion NextDataRegion(int fd, uint64_t offset, uint64_t size);

// OK if the file open as `fd` is at least `size` bytes long, DATA_LOSS if
// it is shorter (it shrank since its size was taken). A copy that skipped
// holes asks this at its end: SEEK_DATA cannot tell a hole at the end from
// the end of a file that shrank meanwhile.
absl::Status CheckStillAtLeast(int fd, uint64_t size);

// Copies the first `size` bytes of the file open as `in` into the empty
// file open as `out`, at the same offsets, inside the kernel
// (copy_file_range: no trip through this process, and no copy at all where
// the file system can share the blocks). Only the data regions are copied: the source's holes stay
// holes, and `out` ends `size` bytes long. Calls `on_progress` with the
// bytes done after each step, and stops with CANCELLED once `cancelled()`.
// UNIMPLEMENTED, with nothing written, when the kernel cannot copy between
// these two files (different file systems, or one that does not support
// it): copy through user space then. DATA_LOSS if `in` ends before `size`.
absl::Status CopyFileInKernel(int in, int out, uint64_t size,
                              const std::function<bool()>& cancelled,
                              const std::function<void(uint64_t)>& on_progress);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_FILE_COPY_H_
