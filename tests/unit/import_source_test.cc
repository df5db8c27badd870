#include "import/import_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mvirt::zfs {
namespace {

namespace fs = std::filesystem;

// A scratch tree: <root>/images (the import directory) and <root>/secret.
class ImportSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/mvirt-zfs-source-XXXXXX";
    root_ = mkdtemp(dir);
    fs::create_directories(root_ / "images" / "sub");
    std::ofstream(root_ / "images" / "disk.raw") << "data";
    std::ofstream(root_ / "images" / "sub" / "nested.qcow2") << "data";
    std::ofstream(root_ / "secret") << "secret";
    fs::create_symlink(root_ / "secret", root_ / "images" / "escape");
    fs::create_symlink(root_ / "images" / "disk.raw", root_ / "images" / "alias");
    options_.import_dirs = {(root_ / "images").string()};
  }
  void TearDown() override { fs::remove_all(root_); }

  absl::StatusOr<ImportSource> Resolve(const std::string& source) {
    return ResolveImportSource(source, options_);
  }

  fs::path root_;
  ImportOptions options_;
};

TEST_F(ImportSourceTest, FilesInsideTheImportDirectories) {
  absl::StatusOr<ImportSource> s = Resolve((root_ / "images" / "disk.raw").string());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->kind, ImportSource::Kind::kLocalFile);
  EXPECT_EQ(s->location, (root_ / "images" / "disk.raw").string());

  s = Resolve((root_ / "images" / "sub" / ".." / "sub" / "nested.qcow2").string());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->location, (root_ / "images" / "sub" / "nested.qcow2").string());

  // A symlink that stays inside resolves to its target.
  s = Resolve((root_ / "images" / "alias").string());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->location, (root_ / "images" / "disk.raw").string());
}

TEST_F(ImportSourceTest, PathsOutsideArePermissionDenied) {
  for (const std::string& path : {std::string("/etc/shadow"), (root_ / "secret").string(),
                                  (root_ / "images" / ".." / "secret").string(),
                                  (root_ / "images-other" / "x").string(),
                                  (root_ / "images").string(), std::string("/nonexistent/x")}) {
    absl::StatusOr<ImportSource> s = Resolve(path);
    ASSERT_FALSE(s.ok()) << path;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kPermissionDenied) << path << ": " << s.status();
    EXPECT_NE(s.status().message().find("outside the import directories"), absl::string_view::npos);
  }
}

TEST_F(ImportSourceTest, SymlinkOutOfTheDirectoryIsPermissionDenied) {
  absl::StatusOr<ImportSource> s = Resolve((root_ / "images" / "escape").string());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.status().message().find("resolves to"), absl::string_view::npos) << s.status();
}

TEST_F(ImportSourceTest, MissingFileInsideIsNotFoundAndADirectoryIsInvalid) {
  absl::StatusOr<ImportSource> s = Resolve((root_ / "images" / "missing.raw").string());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound) << s.status();
  s = Resolve((root_ / "images" / "sub").string());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  EXPECT_NE(s.status().message().find("not a regular file"), absl::string_view::npos);
}

TEST_F(ImportSourceTest, OpenedFileIsCheckedItself) {
  int inside = ::open((root_ / "images" / "disk.raw").c_str(), O_RDONLY);
  int outside = ::open((root_ / "secret").c_str(), O_RDONLY);
  EXPECT_TRUE(CheckOpenedFileAllowed(inside, options_).ok());
  EXPECT_EQ(CheckOpenedFileAllowed(outside, options_).code(), absl::StatusCode::kPermissionDenied);
  ::close(inside);
  ::close(outside);
}

TEST_F(ImportSourceTest, Urls) {
  absl::StatusOr<ImportSource> s = Resolve("https://cloud.debian.org/images/debian-12.qcow2");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->kind, ImportSource::Kind::kUrl);
  EXPECT_EQ(s->location, "https://cloud.debian.org/images/debian-12.qcow2");
  EXPECT_EQ(s->display, s->location);

  s = Resolve("HTTPS://example.org/a.raw");
  EXPECT_TRUE(s.ok()) << s.status();
}

TEST_F(ImportSourceTest, PlainHttpOnlyWhenAllowed) {
  absl::StatusOr<ImportSource> s = Resolve("http://example.org/a.raw");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.status().message().find("--import-allow-http"), absl::string_view::npos);
  options_.allow_http = true;
  s = Resolve("http://example.org/a.raw");
  EXPECT_TRUE(s.ok()) << s.status();
}

TEST_F(ImportSourceTest, BadSourcesAreInvalid) {
  for (const std::string& source :
       {std::string(""), std::string("disk.raw"), std::string("images/disk.raw"),
        std::string("file:///etc/passwd"), std::string("ftp://example.org/a"),
        std::string("https://"), std::string("https:///path"), std::string("https://a/\n"),
        std::string("~/disk.raw")}) {
    absl::StatusOr<ImportSource> s = Resolve(source);
    ASSERT_FALSE(s.ok()) << source;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << source << ": " << s.status();
  }
}

TEST(RedactUrlCredentials, HidesUserAndPassword) {
  EXPECT_EQ(RedactUrlCredentials("https://user:pw@host/x@y"), "https://***@host/x@y");
  EXPECT_EQ(RedactUrlCredentials("https://host/a@b"), "https://host/a@b");
  EXPECT_EQ(RedactUrlCredentials("https://token@host"), "https://***@host");
  EXPECT_EQ(RedactUrlCredentials("/local/path@x"), "/local/path@x");
}

TEST_F(ImportSourceTest, DisplayOfAUrlHasNoCredentials) {
  absl::StatusOr<ImportSource> s = Resolve("https://user:secret@example.org/a.raw");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->location, "https://user:secret@example.org/a.raw");
  EXPECT_EQ(s->display, "https://***@example.org/a.raw");
}

}  // namespace
}  // namespace mvirt::zfs
