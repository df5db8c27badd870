// ByteSink: where an import's image bytes go, in order (a zvol, or a
// temporary file for a download that must be complete before use).
#ifndef MVIRT_ZFS_IMPORT_BYTE_SINK_H_
#define MVIRT_ZFS_IMPORT_BYTE_SINK_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Takes the next bytes of the image.
  virtual absl::Status Write(absl::string_view data) = 0;
  // Called once after the last Write: makes everything written durable.
  virtual absl::Status Finish() = 0;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_BYTE_SINK_H_
