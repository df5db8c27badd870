// ZvolWriter: streams an image into a fresh zvol (which reads as zeros).
// Writes are O_DIRECT, block-aligned and up to 4 MiB; blocks that are all
// zero (and holes the source reports, WriteZeros) are skipped, so a sparse
// image stays thin in the pool. Finish pads
// the last block with zeros and fsyncs. Not thread-safe (one writer).
#ifndef MVIRT_ZFS_IMPORT_ZVOL_WRITER_H_
#define MVIRT_ZFS_IMPORT_ZVOL_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "import/byte_sink.h"

namespace mvirt::zfs {

class ZvolWriter final : public ByteSink {
 public:
  // Opens the device of a fresh zvol of `volsize` bytes whose volblocksize
  // is `block_size` (a power of two, 4 KiB..128 KiB).
  static absl::StatusOr<std::unique_ptr<ZvolWriter>> Open(const std::string& device,
                                                          uint64_t volsize, uint64_t block_size);
  ~ZvolWriter() override;

  // OUT_OF_RANGE if the image would not fit in the volume.
  absl::Status Write(absl::string_view data) override;
  // Moves past `length` zero bytes; whole blocks are not written at all
  // (the fresh zvol reads as zeros there).
  absl::Status WriteZeros(uint64_t length) override;
  absl::Status Finish() override;

  // Bytes taken so far (written or skipped as zero).
  uint64_t bytes_accepted() const { return flushed_ + fill_; }
  // Bytes not written because they were zero.
  uint64_t bytes_skipped() const { return skipped_; }

 private:
  ZvolWriter(std::string device, int fd, uint64_t volsize, uint64_t block_size, char* buffer);
  // Writes the buffer's first `length` bytes (a multiple of block_size_) at
  // offset flushed_, skipping zero blocks.
  absl::Status FlushBuffer(size_t length);

  const std::string device_;
  const int fd_;
  const uint64_t volsize_;
  const uint64_t block_size_;
  char* const buffer_;    // kBufferSize bytes, page-aligned
  size_t fill_ = 0;       // bytes in buffer_
  uint64_t flushed_ = 0;  // bytes of the volume done (written or skipped)
  uint64_t skipped_ = 0;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_ZVOL_WRITER_H_
