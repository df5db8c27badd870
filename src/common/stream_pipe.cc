#include "common/stream_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace mvirt::zfs {

absl::Status MakeStreamPipe(UniqueFd* read_end, UniqueFd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("cannot make a pipe: errno ", errno));
  }
  read_end->Reset(fds[0]);
  write_end->Reset(fds[1]);
  (void)::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);  // best effort
  return absl::OkStatus();
}

ssize_t ReadFull(int fd, char* buf, size_t size) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

ssize_t ReadChunk(int fd, size_t size, std::string& chunk) {
  chunk.resize(size);  // no allocation after a full chunk
  const ssize_t n = ReadFull(fd, chunk.data(), chunk.size());
  chunk.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return n;
}

bool WriteFull(int fd, absl::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace mvirt::zfs
