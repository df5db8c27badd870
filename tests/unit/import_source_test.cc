#include "import/import_source.h"

#include "import/http_fetch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
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

TEST(DisplayUrl, ShowsNoCredentialsAndNoQuery) {
  struct Case {
    std::string url, shown;
  };
  for (const Case& c : std::vector<Case>{
           {"https://user:pw@host/x@y", "https://***@host/x@y"},
           {"https://token@host", "https://***@host/"},
           {"https://host:8443/a/b.qcow2", "https://host:8443/a/b.qcow2"},
           {"https://host/a.raw?X-Amz-Signature=secret", "https://host/a.raw?***"},
           {"HTTPS://Host/a#frag", "https://Host/a"}}) {
    absl::StatusOr<std::string> shown = DisplayUrl(c.url);
    ASSERT_TRUE(shown.ok()) << c.url << ": " << shown.status();
    EXPECT_EQ(*shown, c.shown) << c.url;
  }
  // A password with an unencoded '#' breaks the URL: refused, and its text
  // (which holds the password) is not repeated.
  absl::StatusOr<std::string> broken = DisplayUrl("https://u:pa#ss@host/x");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(broken.status().message().find("pa#ss"), absl::string_view::npos);
}

TEST_F(ImportSourceTest, DisplayOfAUrlHasNoCredentials) {
  absl::StatusOr<ImportSource> s = Resolve("https://user:secret@example.org/a.raw?sig=x");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->location, "https://user:secret@example.org/a.raw?sig=x");
  EXPECT_EQ(s->display, "https://***@example.org/a.raw?***");
}

TEST_F(ImportSourceTest, OpenImportFileRefusesSymlinksOnTheWayAndNonFiles) {
  absl::StatusOr<int> fd = OpenImportFile((root_ / "images" / "disk.raw").string(), options_);
  ASSERT_TRUE(fd.ok()) << fd.status();
  ::close(*fd);
  // A symlink, even one that stays inside, is not followed at open time:
  // ResolveImportSource hands over resolved paths only.
  fd = OpenImportFile((root_ / "images" / "alias").string(), options_);
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kPermissionDenied) << fd.status();
  // A directory on the path swapped for a symlink.
  fs::create_directory_symlink(root_ / "images" / "sub", root_ / "images" / "linked");
  fd = OpenImportFile((root_ / "images" / "linked" / "nested.qcow2").string(), options_);
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kPermissionDenied) << fd.status();
  // A FIFO does not block the open.
  ASSERT_EQ(::mkfifo((root_ / "images" / "fifo").c_str(), 0600), 0);
  fd = OpenImportFile((root_ / "images" / "fifo").string(), options_);
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kInvalidArgument) << fd.status();
  fd = OpenImportFile((root_ / "images" / "missing").string(), options_);
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kNotFound) << fd.status();
}

}  // namespace
}  // namespace mvirt::zfs
