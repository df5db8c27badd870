// MakeStreamPipe and ReadFull.
#include "common/stream_pipe.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

namespace mvirt::zfs {
namespace {

TEST(StreamPipe, IsAsLargeAsTheSystemAllowsUpToOneMiB) {
  UniqueFd r, w;
  ASSERT_TRUE(MakeStreamPipe(&r, &w).ok());
  long max_size = 0;
  std::ifstream("/proc/sys/fs/pipe-max-size") >> max_size;
  const int size = ::fcntl(w.get(), F_GETPIPE_SZ);
  if (max_size >= (1 << 20)) {
    EXPECT_EQ(size, 1 << 20);
  } else {
    EXPECT_GE(size, 4096);
  }
  EXPECT_EQ(::fcntl(r.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST(StreamPipe, ReadFullWaitsForAWholeBufferOrTheEnd) {
  UniqueFd r, w;
  ASSERT_TRUE(MakeStreamPipe(&r, &w).ok());
  std::thread writer([&] {
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(::write(w.get(), "abcd", 4), 4);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    w.Reset();
  });
  char buf[8];
  EXPECT_EQ(ReadFull(r.get(), buf, sizeof buf), 8) << "two writes make one read";
  EXPECT_EQ(std::string(buf, 8), "abcdabcd");
  EXPECT_EQ(ReadFull(r.get(), buf, sizeof buf), 4) << "the rest, at the end";
  EXPECT_EQ(ReadFull(r.get(), buf, sizeof buf), 0);
  writer.join();
}

TEST(StreamPipe, ReadChunkHoldsExactlyWhatWasReadAndKeepsItsBuffer) {
  UniqueFd r, w;
  ASSERT_TRUE(MakeStreamPipe(&r, &w).ok());
  ASSERT_EQ(::write(w.get(), "abcdefghij", 10), 10);
  w.Reset();
  std::string chunk;
  EXPECT_EQ(ReadChunk(r.get(), 8, chunk), 8);
  EXPECT_EQ(chunk, "abcdefgh");
  const char* buffer = chunk.data();
  EXPECT_EQ(ReadChunk(r.get(), 8, chunk), 2) << "the rest, at the end";
  EXPECT_EQ(chunk, "ij");
  EXPECT_EQ(chunk.data(), buffer) << "the same buffer, read into in place";
  EXPECT_EQ(ReadChunk(r.get(), 8, chunk), 0);
  EXPECT_TRUE(chunk.empty());
}

}  // namespace
}  // namespace mvirt::zfs
