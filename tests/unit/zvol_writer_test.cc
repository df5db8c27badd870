// ZvolWriter's offsets, zero skipping and padding, checked on a regular file
// on the host (which, like a fresh zvol, reads as zeros where nothing was
// written). Real zvols are covered by the import tests in tests/zfs.
#include "import/zvol_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace mvirt::zfs {
namespace {

constexpr uint64_t kBlock = 16 * 1024;

class ZvolWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // O_DIRECT needs a disk file system (not tmpfs).
    path_ = "/var/tmp/mvirt-zvol-writer-XXXXXX";
    int fd = mkstemp(path_.data());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, kVolsize), 0);
    ::close(fd);
  }
  void TearDown() override { std::remove(path_.c_str()); }

  std::string Contents() {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Offsets of the data regions of the file (holes are what was skipped).
  off_t NextData(off_t from) {
    int fd = ::open(path_.c_str(), O_RDONLY);
    off_t at = ::lseek(fd, from, SEEK_DATA);
    ::close(fd);
    return at;
  }

  static constexpr uint64_t kVolsize = 12 * 1024 * 1024;
  std::string path_;
};

TEST_F(ZvolWriterTest, WritesDataInPiecesAndSkipsZeroBlocks) {
  absl::StatusOr<std::unique_ptr<ZvolWriter>> writer = ZvolWriter::Open(path_, kVolsize, kBlock);
  ASSERT_TRUE(writer.ok()) << writer.status();
  // 5 MiB of zeros, then 3 blocks of data, then 1 MiB of zeros, then a
  // partial block of data: fed in odd-sized pieces, as a download arrives.
  std::string image(5 << 20, '\0');
  std::string data(3 * kBlock + 100, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(1 + i % 251);
  image += data;
  image += std::string(1 << 20, '\0');
  image += "tail";
  for (size_t at = 0; at < image.size(); at += 777777) {
    ASSERT_TRUE((*writer)->Write(absl::string_view(image).substr(at, 777777)).ok());
  }
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ((*writer)->bytes_accepted(), image.size());
  EXPECT_GE((*writer)->bytes_skipped(), (5u << 20) + (1u << 20) - kBlock);

  std::string contents = Contents();
  ASSERT_EQ(contents.size(), kVolsize);
  EXPECT_EQ(contents.substr(0, image.size()), image);
  EXPECT_EQ(contents.substr(image.size()), std::string(kVolsize - image.size(), '\0'));
  // Nothing was written before the first data block.
  EXPECT_EQ(NextData(0), static_cast<off_t>(5 << 20));
}

TEST_F(ZvolWriterTest, RefusesMoreThanTheVolumeHolds) {
  absl::StatusOr<std::unique_ptr<ZvolWriter>> writer = ZvolWriter::Open(path_, kVolsize, kBlock);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(std::string(kVolsize, 'x')).ok());
  absl::Status s = (*writer)->Write("y");
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("larger than its volume"), absl::string_view::npos);
}

TEST_F(ZvolWriterTest, MissingDeviceIsAnError) {
  EXPECT_FALSE(ZvolWriter::Open("/nonexistent/zd0", kVolsize, kBlock).ok());
  EXPECT_EQ(ZvolWriter::Open(path_, kVolsize, 1000).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ZvolWriterTest, ZerosFromASourcesHolesAreSkippedWholeAndPaddedAtTheEdges) {
  absl::StatusOr<std::unique_ptr<ZvolWriter>> writer = ZvolWriter::Open(path_, kVolsize, kBlock);
  ASSERT_TRUE(writer.ok()) << writer.status();
  // 100 bytes of data, a hole of 3 MiB, 1 block of data, a hole to 9 MiB,
  // then 10 bytes: as a sparse raw file is read region by region.
  const std::string head(100, 'a');
  const std::string block(kBlock, 'b');
  ASSERT_TRUE((*writer)->Write(head).ok());
  ASSERT_TRUE((*writer)->WriteZeros((3 << 20) - 100).ok());
  ASSERT_TRUE((*writer)->Write(block).ok());
  ASSERT_TRUE((*writer)->WriteZeros((9 << 20) - (3 << 20) - kBlock).ok());
  ASSERT_TRUE((*writer)->Write("tail567890").ok());
  EXPECT_EQ((*writer)->bytes_accepted(), (9u << 20) + 10);
  EXPECT_EQ((*writer)->WriteZeros(kVolsize).code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE((*writer)->Finish().ok());
  // Only the blocks with data were written: the first, the one at 3 MiB
  // and the last (padded).
  EXPECT_EQ((*writer)->bytes_skipped(), (9u << 20) - 2 * kBlock);
  std::string want(kVolsize, '\0');
  want.replace(0, head.size(), head);
  want.replace(3 << 20, block.size(), block);
  want.replace(9 << 20, 10, "tail567890");
  EXPECT_TRUE(Contents() == want) << "the file differs from the image";
  EXPECT_EQ(NextData(kBlock), off_t{3 << 20}) << "nothing written in the first hole";
  EXPECT_EQ(NextData((3 << 20) + kBlock), off_t{9 << 20}) << "nothing written in the second";
}

}  // namespace
}  // namespace mvirt::zfs
