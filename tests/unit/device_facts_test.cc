// The rule of `mvirt-zfs pool init` for which devices it may write a pool
// onto, and libblkid's view of files carrying a filesystem or swap.
#include "pool/device_facts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "pool/block_signatures.h"

namespace mvirt::zfs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

DeviceFacts Disk() {
  DeviceFacts d;
  d.path = "/dev/sdz";
  d.kind = DeviceFacts::Kind::kBlockDevice;
  d.size_bytes = uint64_t{100} << 30;
  return d;
}

TEST(ReasonsToRefuse, AnEmptyDeviceOfSomeSizeMayBeUsed) {
  EXPECT_THAT(ReasonsToRefuse(Disk(), false), IsEmpty());
}

TEST(ReasonsToRefuse, AMissingOrSpecialPathIsRefusedAlone) {
  DeviceFacts d = Disk();
  d.kind = DeviceFacts::Kind::kMissing;
  EXPECT_THAT(ReasonsToRefuse(d, true), ElementsAre(HasSubstr("does not exist")));
  d.kind = DeviceFacts::Kind::kOther;
  EXPECT_THAT(ReasonsToRefuse(d, true), ElementsAre(HasSubstr("neither a block device")));
}

TEST(ReasonsToRefuse, ADeviceInUseIsRefusedEvenWithForce) {
  DeviceFacts d = Disk();
  d.uses = {"mounted at /boot", "held by dm-0 (device mapper, md or LVM)"};
  EXPECT_THAT(ReasonsToRefuse(d, true),
              ElementsAre("is in use: mounted at /boot",
                          "is in use: held by dm-0 (device mapper, md or LVM)"));
}

TEST(ReasonsToRefuse, SignaturesAreRefusedUnlessForced) {
  DeviceFacts d = Disk();
  d.signatures = {"ext4 filesystem", "ZFS label of pool 'old' (exported)"};
  EXPECT_THAT(ReasonsToRefuse(d, false),
              ElementsAre("carries a ext4 filesystem (--force writes over it)",
                          "carries a ZFS label of pool 'old' (exported) (--force writes over it)"));
  EXPECT_THAT(ReasonsToRefuse(d, true), IsEmpty());
}

TEST(ReasonsToRefuse, TooSmallForZfs) {
  DeviceFacts d = Disk();
  d.size_bytes = kMinVdevBytes - 1;
  EXPECT_THAT(ReasonsToRefuse(d, true), ElementsAre(HasSubstr("at least 64 MiB")));
  d.size_bytes = kMinVdevBytes;
  EXPECT_THAT(ReasonsToRefuse(d, true), IsEmpty());
}

TEST(ReasonsToRefuse, AnUnreadableDeviceSaysWhy) {
  DeviceFacts d = Disk();
  d.unreadable = "open /dev/sdz: Permission denied";
  EXPECT_THAT(ReasonsToRefuse(d, true),
              ElementsAre("cannot be read: open /dev/sdz: Permission denied"));
}

class ProbeSignaturesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/mvirt-probe-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    file_ = dir_ + "/disk.img";
    ASSERT_EQ(std::system(("truncate -s 64M " + file_).c_str()), 0);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  // Runs a formatting program from /sbin or /usr/sbin on the file.
  void Format(const std::string& program, const std::string& args) {
    for (const char* dir : {"/usr/sbin/", "/sbin/"}) {
      const std::string path = dir + program;
      if (::access(path.c_str(), X_OK) == 0) {
        ASSERT_EQ(std::system((path + " " + args + " " + file_ + " >/dev/null 2>&1").c_str()), 0);
        return;
      }
    }
    GTEST_SKIP() << program << " is not installed";
  }
  std::string dir_, file_;
};

TEST_F(ProbeSignaturesTest, AZeroedFileCarriesNothing) {
  absl::StatusOr<std::vector<std::string>> found = ProbeSignatures(file_);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, IsEmpty());
}

TEST_F(ProbeSignaturesTest, AFilesystemIsNamed) {
  Format("mkfs.ext4", "-q -F");
  absl::StatusOr<std::vector<std::string>> found = ProbeSignatures(file_);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, ElementsAre("ext4 filesystem"));
}

TEST_F(ProbeSignaturesTest, SwapIsNamed) {
  Format("mkswap", "-f");
  absl::StatusOr<std::vector<std::string>> found = ProbeSignatures(file_);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, ElementsAre(HasSubstr("swap")));
}

TEST(ProbeSignatures, AMissingFileIsAnError) {
  EXPECT_FALSE(ProbeSignatures("/nonexistent/disk.img").ok());
}

}  // namespace
}  // namespace mvirt::zfs
