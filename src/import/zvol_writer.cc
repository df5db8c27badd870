#include "import/zvol_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace mvirt::zfs {
namespace {

constexpr size_t kBufferSize = 4 << 20;  // a multiple of every volblocksize
constexpr size_t kAlignment = 4096;

bool IsZero(const char* data, size_t length) {
  // The first byte, then the whole range against itself shifted by one.
  return length == 0 || (data[0] == 0 && std::memcmp(data, data + 1, length - 1) == 0);
}

absl::Status ErrnoStatus(int err, absl::string_view what, const std::string& device) {
  return absl::Status(
      err == ENOSPC ? absl::StatusCode::kResourceExhausted : absl::StatusCode::kUnavailable,
      absl::StrCat(what, " ", device, ": ", std::strerror(err)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ZvolWriter>> ZvolWriter::Open(const std::string& device,
                                                             uint64_t volsize,
                                                             uint64_t block_size) {
  if (block_size < kAlignment || (block_size & (block_size - 1)) != 0 || kBufferSize % block_size) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported block size ", block_size));
  }
  int fd = ::open(device.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open", device);
  void* buffer = nullptr;
  if (::posix_memalign(&buffer, kAlignment, kBufferSize) != 0) {
    ::close(fd);
    return absl::ResourceExhaustedError("cannot allocate the write buffer");
  }
  return std::unique_ptr<ZvolWriter>(
      new ZvolWriter(device, fd, volsize, block_size, static_cast<char*>(buffer)));
}

ZvolWriter::ZvolWriter(std::string device, int fd, uint64_t volsize, uint64_t block_size,
                       char* buffer)
    : device_(std::move(device)),
      fd_(fd),
      volsize_(volsize),
      block_size_(block_size),
      buffer_(buffer) {}

ZvolWriter::~ZvolWriter() {
  ::close(fd_);
  std::free(buffer_);
}

absl::Status ZvolWriter::Write(absl::string_view data) {
  if (bytes_accepted() + data.size() > volsize_) {
    return absl::OutOfRangeError(
        absl::StrCat("the image is larger than its volume (", volsize_, " bytes)"));
  }
  while (!data.empty()) {
    size_t n = std::min(data.size(), kBufferSize - fill_);
    std::memcpy(buffer_ + fill_, data.data(), n);
    fill_ += n;
    data.remove_prefix(n);
    if (fill_ == kBufferSize) {
      if (absl::Status s = FlushBuffer(fill_); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ZvolWriter::WriteZeros(uint64_t length) {
  if (bytes_accepted() + length > volsize_) {
    return absl::OutOfRangeError(
        absl::StrCat("the image is larger than its volume (", volsize_, " bytes)"));
  }
  while (length > 0) {
    if (fill_ == 0 && length >= block_size_) {
      // Whole blocks at a block boundary (flushed_ is one): nothing to write.
      const uint64_t skip = length / block_size_ * block_size_;
      flushed_ += skip;
      skipped_ += skip;
      length -= skip;
      continue;
    }
    // Into the buffer up to the next block boundary (or the end).
    const size_t to_boundary = block_size_ - fill_ % block_size_;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(length, to_boundary));
    std::memset(buffer_ + fill_, 0, n);
    fill_ += n;
    length -= n;
    if (fill_ % block_size_ == 0) {
      if (absl::Status s = FlushBuffer(fill_); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ZvolWriter::FlushBuffer(size_t length) {
  // Write each run of non-zero blocks with one pwrite; skip zero blocks.
  size_t run_start = 0;
  auto write_run = [&](size_t run_end) -> absl::Status {
    size_t offset = run_start;
    while (offset < run_end) {
      ssize_t n = ::pwrite(fd_, buffer_ + offset, run_end - offset, flushed_ + offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return ErrnoStatus(n < 0 ? errno : EIO, "write to", device_);
      offset += n;
    }
    return absl::OkStatus();
  };
  for (size_t block = 0; block < length; block += block_size_) {
    if (IsZero(buffer_ + block, block_size_)) {
      if (absl::Status s = write_run(block); !s.ok()) return s;
      run_start = block + block_size_;
      skipped_ += block_size_;
    }
  }
  if (absl::Status s = write_run(length); !s.ok()) return s;
  flushed_ += length;
  fill_ = 0;
  return absl::OkStatus();
}

absl::Status ZvolWriter::Finish() {
  if (fill_ > 0) {
    // Pad to a whole block; the volume's size is a multiple of it.
    size_t padded = (fill_ + block_size_ - 1) / block_size_ * block_size_;
    std::memset(buffer_ + fill_, 0, padded - fill_);
    uint64_t real = fill_;
    if (absl::Status s = FlushBuffer(padded); !s.ok()) return s;
    flushed_ -= padded - real;  // bytes_accepted() counts image bytes only
  }
  if (::fsync(fd_) != 0) return ErrnoStatus(errno, "flush", device_);
  return absl::OkStatus();
}

}  // namespace mvirt::zfs
