#include "import/import_source.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>

#include "import/http_fetch.h"

namespace mvirt::zfs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

// A scratch tree: <root>/images (the import directory), <root>/secret
// outside it, and links from inside to outside and within.
class ImportSourceTest : public ::testing::TestWithParam<PathResolver> {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/mvirt-zfs-source-XXXXXX";
    root_ = mkdtemp(dir);
    images_ = root_ / "images";
    fs::create_directories(images_ / "sub");
    std::ofstream(images_ / "disk.raw") << "data";
    std::ofstream(images_ / "sub" / "nested.qcow2") << "nested";
    std::ofstream(root_ / "secret") << "secret";
    fs::create_symlink(root_ / "secret", images_ / "escape");
    fs::create_symlink(images_ / "disk.raw", images_ / "alias");
    fs::create_directory_symlink(images_ / "sub", images_ / "linked");
    fs::create_hard_link(root_ / "secret", images_ / "hard");
    options_.import_dirs = {images_.string()};
  }
  void TearDown() override { fs::remove_all(root_); }

  absl::StatusOr<ImportSource> Resolve(const std::string& source) {
    return ResolveImportSource(source, options_, GetParam());
  }
  // The path of `name` in the import directory.
  std::string Inside(const std::string& name) const { return (images_ / name).string(); }

  // Expects `source` to be refused with `code` and `says` in the message,
  // which names no path but `source` and the import directory: not the
  // secret file a link leads to.
  void ExpectRefused(const std::string& source, absl::StatusCode code, const std::string& says) {
    absl::StatusOr<ImportSource> s = Resolve(source);
    ASSERT_FALSE(s.ok()) << source;
    EXPECT_EQ(s.status().code(), code) << source << ": " << s.status();
    EXPECT_NE(s.status().message().find(says), absl::string_view::npos) << s.status();
    std::string message(s.status().message());
    for (const std::string& named : {source, images_.string()}) {
      for (size_t at; (at = message.find(named)) != std::string::npos;) {
        message.erase(at, named.size());
      }
    }
    EXPECT_THAT(message, Not(HasSubstr(root_.string()))) << s.status();
  }

  static std::string ReadAll(const ImportSource& source) {
    char buf[64];
    ssize_t n = ::pread(source.file->get(), buf, sizeof(buf), 0);
    return n < 0 ? "" : std::string(buf, n);
  }

  fs::path root_;
  fs::path images_;
  ImportOptions options_;
};

INSTANTIATE_TEST_SUITE_P(Resolvers, ImportSourceTest,
                         ::testing::Values(PathResolver::kAuto, PathResolver::kWalk),
                         [](const ::testing::TestParamInfo<PathResolver>& info) {
                           return info.param == PathResolver::kAuto ? "Openat2" : "Walk";
                         });

TEST_P(ImportSourceTest, FilesInsideAreOpenedOnce) {
  absl::StatusOr<ImportSource> s = Resolve(Inside("disk.raw"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->kind, ImportSource::Kind::kLocalFile);
  EXPECT_EQ(s->location, Inside("disk.raw"));
  EXPECT_EQ(s->display, Inside("disk.raw"));
  ASSERT_NE(s->file, nullptr);
  EXPECT_EQ(ReadAll(*s), "data");
  // Read-only, close-on-exec, and reads block (no O_NONBLOCK left).
  int flags = ::fcntl(s->file->get(), F_GETFL);
  EXPECT_EQ(flags & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(flags & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(s->file->get(), F_GETFD) & FD_CLOEXEC, 0);

  // What is read is the file that was checked, even if the path is swapped.
  std::ofstream(root_ / "other") << "other";
  fs::rename(root_ / "other", images_ / "disk.raw");
  EXPECT_EQ(ReadAll(*s), "data");

  s = Resolve((images_ / "sub" / ".." / "sub" / "nested.qcow2").string());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->location, Inside("sub/nested.qcow2"));
  EXPECT_EQ(ReadAll(*s), "nested");
}

TEST_P(ImportSourceTest, PathsOutsideArePermissionDenied) {
  for (const std::string& path :
       {std::string("/etc/shadow"), (root_ / "secret").string(),
        (images_ / ".." / "secret").string(), (root_ / "images-other" / "x").string(),
        images_.string(), images_.string() + "/", std::string("/nonexistent/x")}) {
    ExpectRefused(path, absl::StatusCode::kPermissionDenied, "outside the import directories");
  }
}

TEST_P(ImportSourceTest, SymlinksBelowTheDirectoryAreNotFollowed) {
  // Out of the directory, within it (links are not followed at all, so a
  // link cannot be swapped to lead out later), and a directory on the way.
  for (const std::string& path :
       {Inside("escape"), Inside("alias"), Inside("linked/nested.qcow2")}) {
    ExpectRefused(path, absl::StatusCode::kPermissionDenied, "symbolic links are not followed");
  }
}

TEST_P(ImportSourceTest, TheImportDirectoryItselfMayBeASymlink) {
  fs::create_directory_symlink(images_, root_ / "images-link");
  options_.import_dirs = {(root_ / "images-link").string()};
  absl::StatusOr<ImportSource> s = Resolve((root_ / "images-link" / "disk.raw").string());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(ReadAll(*s), "data");
  // Inside lexically only: the directory's target is not an import directory.
  ExpectRefused(Inside("disk.raw"), absl::StatusCode::kPermissionDenied,
                "outside the import directories");
}

TEST_P(ImportSourceTest, FilesWithOtherHardLinksAreRefused) {
  // A hard link can lead out of the directory (here: to <root>/secret).
  ExpectRefused(Inside("hard"), absl::StatusCode::kPermissionDenied, "has other hard links");
  // Even between two names inside: the other name could be anywhere.
  fs::create_hard_link(images_ / "disk.raw", images_ / "twin.raw");
  ExpectRefused(Inside("disk.raw"), absl::StatusCode::kPermissionDenied,
                "copy it into the import directory");
}

TEST_P(ImportSourceTest, AFifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo(Inside("fifo").c_str(), 0600), 0);
  auto resolved = std::async(std::launch::async, [&] { return Resolve(Inside("fifo")); });
  if (resolved.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    // Release the blocked open before failing.
    int writer = ::open(Inside("fifo").c_str(), O_WRONLY | O_NONBLOCK);
    if (writer >= 0) ::close(writer);
    FAIL() << "opening a FIFO blocked";
  }
  absl::StatusOr<ImportSource> s = resolved.get();
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  EXPECT_NE(s.status().message().find("not a regular file"), absl::string_view::npos);
}

TEST_P(ImportSourceTest, MissingFilesAreNotFoundAndDirectoriesInvalid) {
  ExpectRefused(Inside("missing.raw"), absl::StatusCode::kNotFound, "does not exist");
  ExpectRefused(Inside("nodir/x.raw"), absl::StatusCode::kNotFound, "does not exist");
  ExpectRefused(Inside("disk.raw/x"), absl::StatusCode::kNotFound, "does not exist");
  ExpectRefused(Inside("sub"), absl::StatusCode::kInvalidArgument, "not a regular file");
  ExpectRefused(Inside("sub/"), absl::StatusCode::kInvalidArgument, "not a regular file");
}

TEST_P(ImportSourceTest, Urls) {
  absl::StatusOr<ImportSource> s = Resolve("https://cloud.debian.org/images/debian-12.qcow2");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->kind, ImportSource::Kind::kUrl);
  EXPECT_EQ(s->location, "https://cloud.debian.org/images/debian-12.qcow2");
  EXPECT_EQ(s->display, s->location);
  EXPECT_EQ(s->file, nullptr);

  s = Resolve("HTTPS://example.org/a.raw");
  EXPECT_TRUE(s.ok()) << s.status();
}

TEST_P(ImportSourceTest, PlainHttpOnlyWhenAllowed) {
  absl::StatusOr<ImportSource> s = Resolve("http://example.org/a.raw");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.status().message().find("--import-allow-http"), absl::string_view::npos);
  options_.allow_http = true;
  s = Resolve("http://example.org/a.raw");
  EXPECT_TRUE(s.ok()) << s.status();
}

TEST_P(ImportSourceTest, BadSourcesAreInvalid) {
  for (const std::string& source :
       {std::string(""), std::string("disk.raw"), std::string("images/disk.raw"),
        std::string("file:///etc/passwd"), std::string("ftp://example.org/a"),
        std::string("https://"), std::string("https:///path"), std::string("https://a/\n"),
        std::string("~/disk.raw"), Inside("disk.raw") + "\n"}) {
    absl::StatusOr<ImportSource> s = Resolve(source);
    ASSERT_FALSE(s.ok()) << source;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument)
        << source << ": " << s.status();
  }
}

TEST(DisplayUrl, ShowsNoCredentialsAndNoQuery) {
  struct Case {
    std::string url, shown;
  };
  for (const Case& c :
       std::vector<Case>{{"https://user:pw@host/x@y", "https://***@host/x@y"},
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

TEST_P(ImportSourceTest, DisplayOfAUrlHasNoCredentials) {
  absl::StatusOr<ImportSource> s = Resolve("https://user:secret@example.org/a.raw?sig=x");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->location, "https://user:secret@example.org/a.raw?sig=x");
  EXPECT_EQ(s->display, "https://***@example.org/a.raw?***");
}

}  // namespace
}  // namespace mvirt::zfs
