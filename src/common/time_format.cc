#include "common/time_format.h"

#include "absl/time/time.h"

namespace mvirt::zfs {

std::string FormatRfc3339(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

}  // namespace mvirt::zfs
