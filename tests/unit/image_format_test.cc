#include "import/image_format.h"

#include <gtest/gtest.h>

#include <string>

namespace mvirt::zfs {
namespace {

std::string WithPrefix(absl::string_view prefix, size_t size = 512) {
  std::string head(size, '\0');
  head.replace(0, prefix.size(), prefix.data(), prefix.size());
  return head;
}

TEST(ImageFormat, Qcow2ByMagic) {
  absl::StatusOr<ImageFormat> f = DetectImageFormat(WithPrefix("QFI\xfb\0\0\0\3"));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(*f, ImageFormat::kQcow2);
  EXPECT_EQ(ImageFormatName(*f), "qcow2");
}

TEST(ImageFormat, AnythingElseIsRaw) {
  for (const std::string& head :
       {std::string(512, '\0'), WithPrefix("\xeb\x63\x90"), std::string("QFI"), std::string()}) {
    absl::StatusOr<ImageFormat> f = DetectImageFormat(head);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(*f, ImageFormat::kRaw);
    EXPECT_EQ(ImageFormatName(*f), "raw");
  }
}

TEST(ImageFormat, RefusesFormatsThatWouldBeWrittenAsGarbage) {
  struct Case {
    std::string head;
    std::string name;
  };
  std::string vdi(512, '\0');
  vdi.replace(0x40, 4, "\x7f\x10\xda\xbe");
  for (const Case& c : std::vector<Case>{{WithPrefix("KDMV"), "VMDK"},
                                         {WithPrefix("vhdxfile"), "VHDX"},
                                         {vdi, "VDI"},
                                         {WithPrefix("conectix"), "VHD"},
                                         {WithPrefix(absl::string_view("QED\0", 4)), "QED"},
                                         {WithPrefix("LUKS\xba\xbe"), "LUKS"},
                                         {WithPrefix("\x1f\x8b\x08"), "gzip"},
                                         {WithPrefix(absl::string_view("\xfd"
                                                                       "7zXZ\0",
                                                                       6)),
                                          "xz"},
                                         {WithPrefix("\x28\xb5\x2f\xfd"), "zstd"},
                                         {WithPrefix("BZh91AY&SY"), "bzip2"}}) {
    absl::StatusOr<ImageFormat> f = DetectImageFormat(c.head);
    ASSERT_FALSE(f.ok()) << c.name;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(f.status().message().find(c.name), absl::string_view::npos) << f.status();
    EXPECT_NE(f.status().message().find("only raw and qcow2"), absl::string_view::npos);
  }
}

}  // namespace
}  // namespace mvirt::zfs
