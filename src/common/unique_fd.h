// UniqueFd: the one owner of a file descriptor, closed on destruction.
#ifndef MVIRT_ZFS_COMMON_UNIQUE_FD_H_
#define MVIRT_ZFS_COMMON_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace mvirt::zfs {

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_UNIQUE_FD_H_
