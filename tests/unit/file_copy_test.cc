#include "import/file_copy.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "status_matchers.h"

namespace mvirt::zfs {
namespace {

using ::mvirt::zfs::testing::StatusIs;
namespace fs = std::filesystem;
constexpr uint64_t kMiB = 1 << 20;

class FileCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/mvirt-zfs-copy-XXXXXX";
    root_ = mkdtemp(dir);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A file of `size` bytes whose `regions` ({offset, length}) hold a
  // pattern and the rest is holes.
  UniqueFd MakeSparse(const std::string& name, uint64_t size,
                      const std::vector<std::pair<uint64_t, uint64_t>>& regions) {
    UniqueFd fd(::open((root_ / name).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    EXPECT_GE(fd.get(), 0);
    EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
    for (const auto& [offset, length] : regions) {
      std::string data(length, '\0');
      for (uint64_t i = 0; i < length; ++i) data[i] = static_cast<char>('a' + (offset + i) % 23);
      EXPECT_EQ(::pwrite(fd.get(), data.data(), data.size(), static_cast<off_t>(offset)),
                static_cast<ssize_t>(length));
    }
    return fd;
  }
  UniqueFd MakeEmpty(const std::string& name) {
    return UniqueFd(::open((root_ / name).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  }
  static std::string ReadAll(int fd) {
    struct stat st;
    EXPECT_EQ(::fstat(fd, &st), 0);
    std::string out(static_cast<size_t>(st.st_size), '\0');
    EXPECT_EQ(::pread(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
    return out;
  }
  static uint64_t AllocatedBytes(int fd) {
    struct stat st;
    EXPECT_EQ(::fstat(fd, &st), 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }

  fs::path root_;
};

TEST_F(FileCopyTest, CopiesTheBytesAndKeepsTheSourcesHoles) {
  const uint64_t size = 10 * kMiB;
  UniqueFd in = MakeSparse("in", size, {{0, kMiB}, {5 * kMiB, kMiB + 123}});
  UniqueFd out = MakeEmpty("out");
  std::vector<uint64_t> progress;
  ASSERT_OK(CopyFileInKernel(
      in.get(), out.get(), size, [] { return false; },
      [&](uint64_t done) { progress.push_back(done); }));
  EXPECT_EQ(ReadAll(out.get()), ReadAll(in.get()));
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), size);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  // Where the file system keeps the source sparse, the copy is no less so.
  if (AllocatedBytes(in.get()) < size / 2) {
    EXPECT_LE(AllocatedBytes(out.get()), AllocatedBytes(in.get()) + kMiB);
  }
}

TEST_F(FileCopyTest, AFileOfOnlyAHoleBecomesOneOfTheSameLength) {
  UniqueFd in = MakeSparse("in", 3 * kMiB, {});
  UniqueFd out = MakeEmpty("out");
  ASSERT_OK(CopyFileInKernel(
      in.get(), out.get(), 3 * kMiB, [] { return false; }, [](uint64_t) {}));
  EXPECT_EQ(ReadAll(out.get()), std::string(3 * kMiB, '\0'));
}

TEST_F(FileCopyTest, ASourceShorterThanSaidIsDataLoss) {
  UniqueFd in = MakeSparse("in", kMiB, {{0, kMiB}});
  UniqueFd out = MakeEmpty("out");
  EXPECT_THAT(CopyFileInKernel(
                  in.get(), out.get(), 2 * kMiB, [] { return false; }, [](uint64_t) {}),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::HasSubstr("ended at byte")));
}

TEST_F(FileCopyTest, StopsWhenCancelled) {
  UniqueFd in = MakeSparse("in", 4 * kMiB, {{0, 4 * kMiB}});
  UniqueFd out = MakeEmpty("out");
  EXPECT_THAT(CopyFileInKernel(
                  in.get(), out.get(), 4 * kMiB, [] { return true; }, [](uint64_t) {}),
              StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(FileCopyTest, WhatTheKernelCannotCopyIsUnimplementedAndWritesNothing) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  ASSERT_EQ(::write(write_end.get(), "data", 4), 4);
  UniqueFd out = MakeEmpty("out");
  EXPECT_THAT(CopyFileInKernel(
                  read_end.get(), out.get(), 4, [] { return false; }, [](uint64_t) {}),
              StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_EQ(ReadAll(out.get()), "");
}

TEST_F(FileCopyTest, NextDataRegionSkipsHolesWhereTheFileSystemTellsThem) {
  UniqueFd fd = MakeSparse("f", 8 * kMiB, {{4 * kMiB, kMiB}});
  const DataRegion region = NextDataRegion(fd.get(), 0, 8 * kMiB);
  if (region.start == 0) {  // a file system that cannot tell holes: all data
    EXPECT_EQ(region.end, 8 * kMiB);
    return;
  }
  EXPECT_EQ(region.start, 4 * kMiB);
  EXPECT_EQ(region.end, 5 * kMiB);
  const DataRegion tail = NextDataRegion(fd.get(), 5 * kMiB, 8 * kMiB);
  EXPECT_EQ(tail.start, 8 * kMiB);  // only a hole is left
  EXPECT_EQ(tail.end, 8 * kMiB);
  // Clipped to the size asked for.
  EXPECT_EQ(NextDataRegion(fd.get(), 0, 4 * kMiB + 10).end, 4 * kMiB + 10);
}

}  // namespace
}  // namespace mvirt::zfs
