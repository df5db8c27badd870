#include "import/sha256.h"

#include <gtest/gtest.h>

namespace mvirt::zfs {
namespace {

TEST(Sha256, KnownDigests) {
  Sha256 empty;
  EXPECT_EQ(empty.FinishHex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc;
  abc.Update("a");
  abc.Update("bc");  // in pieces, as a download arrives
  EXPECT_EQ(abc.FinishHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, ValidatesExpectedDigests) {
  EXPECT_TRUE(ValidateSha256Hex(std::string(64, 'a')).ok());
  EXPECT_TRUE(
      ValidateSha256Hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD").ok());
  for (const std::string& bad :
       {std::string(), std::string(63, 'a'), std::string(65, 'a'), std::string(63, 'a') + "g",
        std::string("sha256:") + std::string(57, 'a')}) {
    absl::Status s = ValidateSha256Hex(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("64 hexadecimal digits"), absl::string_view::npos);
  }
}

}  // namespace
}  // namespace mvirt::zfs
