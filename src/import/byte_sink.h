// ByteSink: where an import's image bytes go, in order (a zvol, or a
// temporary file for a download that must be complete before use).
#ifndef MVIRT_ZFS_IMPORT_BYTE_SINK_H_
#define MVIRT_ZFS_IMPORT_BYTE_SINK_H_

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Takes the next bytes of the image.
  virtual absl::Status Write(absl::string_view data) = 0;
  // Takes the next `length` bytes of the image, all zero (a hole of a
  // sparse source). By default written as zeros; a sink that starts out
  // reading as zeros skips them.
  virtual absl::Status WriteZeros(uint64_t length) {
    static const std::string* const kZeros = new std::string(1 << 20, '\0');
    while (length > 0) {
      const uint64_t n = std::min<uint64_t>(length, kZeros->size());
      if (absl::Status s = Write(absl::string_view(kZeros->data(), n)); !s.ok()) return s;
      length -= n;
    }
    return absl::OkStatus();
  }
  // Called once after the last Write: makes everything written durable.
  virtual absl::Status Finish() = 0;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_BYTE_SINK_H_
