// A pipe between the thread that runs a ZFS send or receive and the thread
// that moves the stream over gRPC, and the read that fills a message.
#ifndef MVIRT_ZFS_COMMON_STREAM_PIPE_H_
#define MVIRT_ZFS_COMMON_STREAM_PIPE_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace mvirt::zfs {

// A pipe (close-on-exec) enlarged to 1 MiB where the system allows it
// (/proc/sys/fs/pipe-max-size; else it keeps its size): with the default
// 64 KiB a read seldom returns more, and every piece costs a message.
// INTERNAL if no pipe can be made.
absl::Status MakeStreamPipe(UniqueFd* read_end, UniqueFd* write_end);

// Reads from `fd` until `size` bytes are in `buf` or the stream ends,
// retrying interrupted reads. The bytes read (fewer than `size` only at
// the end), or -1 with errno set.
ssize_t ReadFull(int fd, char* buf, size_t size);

// ReadFull into `chunk`, which holds exactly the bytes read afterwards (up
// to `size`; empty at the end of the stream). Reused across calls, `chunk`
// keeps its capacity, so a stream's message can be read into in place.
// The bytes read, or -1 with errno set.
ssize_t ReadChunk(int fd, size_t size, std::string& chunk);

// Writes all of `data` into `fd`, retrying interrupted and short writes.
// False once a write fails (e.g. EPIPE: the reader closed its end), errno
// set.
bool WriteFull(int fd, absl::string_view data);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_STREAM_PIPE_H_
