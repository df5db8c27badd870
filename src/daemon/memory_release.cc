#include "memory_release.h"

#include <malloc.h>

namespace mvirt::zfs {

void TuneMallocForPeaks() {
  // mallopt returns 0 when it refuses a value; the defaults then stay, which
  // costs memory and nothing else, so there is nothing to report.
  (void)mallopt(M_ARENA_MAX, kMallocArenas);
  (void)mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
}

void ReleaseFreeMemory() { (void)malloc_trim(0); }

}  // namespace mvirt::zfs
