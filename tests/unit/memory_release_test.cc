// TuneMallocForPeaks: after it, a large block is mmap'ed and given back when
// freed, also after a large block was freed before (glibc would otherwise
// raise its mmap threshold to that block's size and keep the next one in an
// arena). ReleaseFreeMemory hands freed arena pages back.
#include "daemon/memory_release.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

namespace mvirt::zfs {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MVIRT_OWN_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MVIRT_OWN_MALLOC 1
#endif
#endif

// Under a sanitizer, malloc is the sanitizer's (mallopt, mallinfo2 and
// malloc_trim do nothing there): these tests exist only where glibc's runs,
// the plain build of scripts/test.sh.
#ifndef MVIRT_OWN_MALLOC
// Bytes glibc holds in mmap'ed blocks right now.
size_t MmappedBytes() { return mallinfo2().hblkhd; }

// This process's resident set (/proc/self/statm), in bytes.
size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

TEST(MemoryReleaseTest, LargeBlocksStayMmappedAfterALargerOneWasFreed) {
  TuneMallocForPeaks();
  // glibc's default would raise the threshold to 16 MiB on this free.
  void* big = std::malloc(16 << 20);
  ASSERT_NE(big, nullptr);
  std::memset(big, 1, 16 << 20);
  std::free(big);
  const size_t before = MmappedBytes();
  void* reply = std::malloc(kMmapThresholdBytes + 4096);
  ASSERT_NE(reply, nullptr);
  EXPECT_GE(MmappedBytes(), before + kMmapThresholdBytes) << "a large block was not mmap'ed";
  std::free(reply);
  EXPECT_EQ(MmappedBytes(), before) << "a freed large block was not unmapped";
}

TEST(MemoryReleaseTest, ReleaseFreeMemoryGivesFreedArenaPagesBack) {
  TuneMallocForPeaks();
  // Many small blocks (below the mmap threshold) in the arena, then every
  // other one freed: free memory between live blocks, which only
  // malloc_trim hands back.
  std::vector<void*> blocks;
  for (int i = 0; i < 4096; ++i) {
    blocks.push_back(std::malloc(8192));
    std::memset(blocks.back(), 1, 8192);
  }
  for (size_t i = 0; i < blocks.size(); i += 2) std::free(blocks[i]);
  const size_t resident_before = ResidentBytes();
  ReleaseFreeMemory();
  const size_t resident_after = ResidentBytes();
  // Each freed 8 KiB block holds at least one whole page: 2048 of them.
  EXPECT_GE(resident_before, resident_after + (size_t{1024} << 12))
      << "resident " << resident_before << " bytes before, " << resident_after << " after";
  for (size_t i = 1; i < blocks.size(); i += 2) std::free(blocks[i]);
}
#endif  // MVIRT_OWN_MALLOC

}  // namespace
}  // namespace mvirt::zfs
