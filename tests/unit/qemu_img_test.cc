#include "import/qemu_img.h"

#include <gtest/gtest.h>

namespace mvirt::zfs {
namespace {

// What qemu-img 7.2 prints for a self-contained qcow2 image.
constexpr char kPlain[] = R"({
    "virtual-size": 10737418240,
    "filename": "debian.qcow2",
    "cluster-size": 65536,
    "format": "qcow2",
    "actual-size": 200704,
    "format-specific": {
        "type": "qcow2",
        "data": {
            "compat": "1.1",
            "compression-type": "zlib",
            "lazy-refcounts": false,
            "refcount-bits": 16,
            "corrupt": false,
            "extended-l2": false
        }
    },
    "dirty-flag": false
})";

TEST(QemuImgInfo, ParsesAPlainImage) {
  absl::StatusOr<QemuImgInfo> info = ParseQemuImgInfo(kPlain);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->format, "qcow2");
  EXPECT_EQ(info->virtual_size, 10737418240u);
  EXPECT_EQ(info->backing_file, "");
  EXPECT_EQ(info->data_file, "");
  EXPECT_FALSE(info->encrypted);
  EXPECT_FALSE(info->corrupt);
  EXPECT_TRUE(CheckQcow2IsSafe(*info, 20ull << 30).ok());
}

TEST(QemuImgInfo, ParsesBackingFileDataFileEncryptionAndCorruption) {
  absl::StatusOr<QemuImgInfo> info = ParseQemuImgInfo(R"({
      "virtual-size": 1048576, "format": "qcow2", "encrypted": true,
      "backing-filename": "/etc/shadow", "backing-filename-format": "raw",
      "format-specific": {"type": "qcow2", "data": {"corrupt": true, "data-file": "/dev/sda"}}})");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->backing_file, "/etc/shadow");
  EXPECT_EQ(info->data_file, "/dev/sda");
  EXPECT_TRUE(info->encrypted);
  EXPECT_TRUE(info->corrupt);
}

TEST(QemuImgInfo, RefusesGarbage) {
  for (const char* text : {"", "not json", "[]", R"({"format": "qcow2"})",
                           R"({"virtual-size": -1, "format": "qcow2"})"}) {
    EXPECT_EQ(ParseQemuImgInfo(text).status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(QemuImgInfo, UnsafeImagesAreRefusedNamingWhy) {
  QemuImgInfo good;
  good.format = "qcow2";
  good.virtual_size = 1 << 20;
  struct Case {
    QemuImgInfo info;
    std::string why;
  };
  std::vector<Case> cases;
  cases.push_back({good, ""});
  cases.back().info.backing_file = "base.qcow2";
  cases.back().why = "backing file";
  cases.push_back({good, "external data file"});
  cases.back().info.data_file = "data.raw";
  cases.push_back({good, "encrypted"});
  cases.back().info.encrypted = true;
  cases.push_back({good, "corrupt"});
  cases.back().info.corrupt = true;
  cases.push_back({good, "empty"});
  cases.back().info.virtual_size = 0;
  cases.push_back({good, "exceeds the import limit"});
  cases.back().info.virtual_size = (1 << 20) + 1;
  cases.push_back({good, "not qcow2"});
  cases.back().info.format = "raw";
  for (const Case& c : cases) {
    absl::Status s = CheckQcow2IsSafe(c.info, 1 << 20);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.why;
    EXPECT_NE(s.message().find(c.why), absl::string_view::npos) << s;
  }
  EXPECT_TRUE(CheckQcow2IsSafe(good, 1 << 20).ok());
}

TEST(QemuImgCheck, ParsesCountsOfACleanAndATruncatedImage) {
  // What qemu-img 7.2 prints for a clean image: counts that are 0 are left out.
  absl::StatusOr<QemuImgCheck> clean = ParseQemuImgCheck(R"({
      "image-end-offset": 8716288, "total-clusters": 256, "check-errors": 0,
      "allocated-clusters": 128, "filename": "t.qcow2", "format": "qcow2"})");
  ASSERT_TRUE(clean.ok()) << clean.status();
  EXPECT_EQ(clean->corruptions, 0u);
  EXPECT_EQ(clean->check_errors, 0u);
  absl::StatusOr<QemuImgCheck> leaky = ParseQemuImgCheck(R"({"check-errors": 0, "leaks": 2})");
  ASSERT_TRUE(leaky.ok()) << leaky.status();
  EXPECT_EQ(leaky->leaks, 2u);
  EXPECT_FALSE(ParseQemuImgCheck(R"({"filename": "t.qcow2"})").ok()) << "not a check result";
  // What qemu-img 7.2 prints for a qcow2 cut short.
  absl::StatusOr<QemuImgCheck> truncated = ParseQemuImgCheck(R"({
      "image-end-offset": 2097152, "total-clusters": 256, "corruptions": 101,
      "check-errors": 0, "allocated-clusters": 128, "filename": "t.qcow2", "format": "qcow2"})");
  ASSERT_TRUE(truncated.ok()) << truncated.status();
  EXPECT_EQ(truncated->corruptions, 101u);
  EXPECT_EQ(ParseQemuImgCheck("garbage").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(QemuImgProgress, ReportsTheLatestPercentageAcrossChunks) {
  QemuImgProgressParser parser;
  std::optional<double> p = parser.Feed("    (0.00/100%)");
  ASSERT_TRUE(p.has_value());
  EXPECT_DOUBLE_EQ(*p, 0.0);
  p = parser.Feed("\r    (12.5");
  EXPECT_FALSE(p.has_value());
  p = parser.Feed("0/100%)\r    (20.00/100%)\r    (3");
  ASSERT_TRUE(p.has_value());
  EXPECT_DOUBLE_EQ(*p, 0.2);
  p = parser.Feed("0.00/100%)\r");
  ASSERT_TRUE(p.has_value());
  EXPECT_DOUBLE_EQ(*p, 0.3);
  p = parser.Feed("    (100.00/100%)\n");
  ASSERT_TRUE(p.has_value());
  EXPECT_DOUBLE_EQ(*p, 1.0);
  EXPECT_FALSE(parser.Feed("noise without a report").has_value());
}

}  // namespace
}  // namespace mvirt::zfs
