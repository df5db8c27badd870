// How the daemon hands memory back to the kernel after a peak.
//
// A ListVolumes of a large pool builds the reply (its volumes, the protobuf
// message, the serialized bytes) at once, and several clients can list at
// the same time. glibc's defaults keep such a peak as resident memory:
// every thread may get an arena of its own (8 per CPU), and the threshold
// above which a block is mmap'ed (and unmapped when freed) rises to the
// size of the largest block freed, so that the next large reply lands in
// an arena and stays there. docs/BENCHMARKS.md measures the effect.
#ifndef MVIRT_ZFS_DAEMON_MEMORY_RELEASE_H_
#define MVIRT_ZFS_DAEMON_MEMORY_RELEASE_H_

namespace mvirt::zfs {

// Called once, before any thread starts: at most kMallocArenas arenas, and
// blocks of kMmapThresholdBytes or more always mmap'ed (the threshold no
// longer rises), so a large reply is unmapped as soon as gRPC frees it.
// The threshold is above a send or receive stream's 1 MiB messages, which
// come and go by the thousand and are cheaper reused in an arena than
// mapped and zeroed by the kernel each time.
inline constexpr int kMallocArenas = 4;
inline constexpr int kMmapThresholdBytes = 4 << 20;
void TuneMallocForPeaks();

// Returns the free pages of every arena to the kernel (malloc_trim); the
// daemon calls it every kReleaseIntervalSeconds, so what a peak left free
// is given back after it.
inline constexpr int kReleaseIntervalSeconds = 30;
void ReleaseFreeMemory();

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DAEMON_MEMORY_RELEASE_H_
