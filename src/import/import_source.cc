#include "import/import_source.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/posix_error.h"
#include "import/http_fetch.h"

namespace mvirt::zfs {
namespace {

namespace fs = std::filesystem;

constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;

// An import directory and the path below it.
struct Beneath {
  std::string dir;
  std::string relative;
};

// The import directory that `path` (lexically normal) lies inside, as
// written: no symlink is resolved, so nothing outside is looked at.
std::optional<Beneath> FindImportDir(const std::string& path,
                                     const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) {
    std::string d = fs::path(dir).lexically_normal().string();
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    const std::string prefix = d == "/" ? d : d + "/";
    if (absl::StartsWith(path, prefix) && path.size() > prefix.size()) {
      return Beneath{dir, path.substr(prefix.size())};
    }
  }
  return std::nullopt;
}

absl::Status OutsideImportDirs(const std::string& source, const ImportOptions& options) {
  return absl::PermissionDeniedError(
      absl::StrCat("source '", source, "' is outside the import directories (",
                   absl::StrJoin(options.import_dirs, ", "),
                   "); put the image there or start mvirt-zfs with --import-dir"));
}

// Opens `relative` below `dir_fd` one component at a time, following no
// symlink (ELOOP) and never leaving the directory (EXDEV for "." or "..").
// Returns the descriptor or -errno.
int OpenByWalk(int dir_fd, const std::string& relative) {
  std::vector<std::string> parts = absl::StrSplit(relative, '/', absl::SkipEmpty());
  if (parts.empty()) return -ENOENT;
  UniqueFd held;
  int at = dir_fd;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == "." || parts[i] == "..") return -EXDEV;
    const bool last = i + 1 == parts.size();
    int fd = ::openat(at, parts[i].c_str(),
                      last ? kOpenFlags : O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      // O_DIRECTORY | O_NOFOLLOW on a symlink says ENOTDIR: tell it apart.
      struct stat st;
      if (err == ENOTDIR && ::fstatat(at, parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        return -ELOOP;
      }
      return -err;
    }
    if (last) return fd;
    held.Reset(fd);
    at = fd;
  }
  return -ENOENT;  // not reached
}

// Opens `relative` below `dir_fd` with `resolver`. Returns the descriptor
// or -errno.
int OpenBeneath(int dir_fd, const std::string& relative, PathResolver resolver) {
  if (resolver == PathResolver::kAuto) {
    struct open_how how = {};
    how.flags = kOpenFlags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int fd = -1;
    for (int attempt = 0; attempt < 8; ++attempt) {  // EAGAIN: a concurrent rename, retry
      fd = static_cast<int>(::syscall(SYS_openat2, dir_fd, relative.c_str(), &how, sizeof(how)));
      if (fd >= 0 || errno != EAGAIN) break;
    }
    if (fd >= 0) return fd;
    if (errno != ENOSYS) return -errno;
  }
  return OpenByWalk(dir_fd, relative);
}

// Why opening `source` failed with `err`, naming nothing but `source`.
absl::Status OpenRefused(const std::string& source, int err) {
  switch (err) {
    case ELOOP:
    case EXDEV:
      return absl::PermissionDeniedError(absl::StrCat(
          "source '", source,
          "': symbolic links are not followed below the import directories; put the image "
          "itself there"));
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(absl::StrCat("source '", source, "' does not exist"));
    case ENXIO:  // a socket
      return absl::InvalidArgumentError(
          absl::StrCat("source '", source, "' is not a regular file"));
    case ENAMETOOLONG:
      return absl::InvalidArgumentError(
          absl::StrCat("source '", source, "': the path or one of its names is too long"));
    default:
      return PosixError(absl::StrCat("open source '", source, "'"), err);
  }
}

// Checks the opened `file` and makes its reads blocking.
absl::Status CheckOpenedFile(const std::string& source, const UniqueFd& file) {
  struct stat st;
  if (::fstat(file.get(), &st) != 0) return PosixError(absl::StrCat("stat '", source, "'"), errno);
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("source '", source, "' is not a regular file"));
  }
  if (st.st_nlink > 1) {
    return absl::PermissionDeniedError(absl::StrCat(
        "source '", source,
        "' has other hard links; copy it into the import directory (a hard link can lead out "
        "of it)"));
  }
  if (::fcntl(file.get(), F_SETFL, 0) != 0) {
    return PosixError(absl::StrCat("open source '", source, "'"), errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<ImportSource> ResolveUrl(const std::string& source, const ImportOptions& options) {
  // Nothing of an unparsed URL is ever shown: it may hold credentials.
  absl::StatusOr<std::string> display = DisplayUrl(source);
  if (!display.ok()) return display.status();
  const size_t scheme_end = source.find("://");
  std::string scheme = absl::AsciiStrToLower(source.substr(0, scheme_end));
  absl::string_view rest = absl::string_view(source).substr(scheme_end + 3);
  if (rest.empty() || rest[0] == '/' || rest[0] == '?' || rest[0] == '#') {
    return absl::InvalidArgumentError(
        absl::StrCat("source '", *display, "': the URL names no host"));
  }
  if (scheme != "https" && scheme != "http") {
    return absl::InvalidArgumentError(
        absl::StrCat("source '", *display, "': scheme '", scheme,
                     "' is not supported; use an https:// URL or an absolute path"));
  }
  if (scheme == "http" && !options.allow_http) {
    return absl::PermissionDeniedError(absl::StrCat(
        "source '", *display,
        "': plain http is not allowed (the image could be altered in transit); use https, or "
        "start mvirt-zfs with --import-allow-http"));
  }
  return ImportSource{ImportSource::Kind::kUrl, source, *display, nullptr};
}

absl::StatusOr<ImportSource> ResolveLocalPath(const std::string& source,
                                              const ImportOptions& options, PathResolver resolver) {
  const std::string lexical = fs::path(source).lexically_normal().string();
  // Refuse paths outside the directories before looking at them, so that a
  // caller learns nothing about files elsewhere.
  std::optional<Beneath> where = FindImportDir(lexical, options.import_dirs);
  if (!where.has_value()) return OutsideImportDirs(source, options);
  if (lexical.back() == '/') {
    return absl::InvalidArgumentError(absl::StrCat("source '", source, "' is not a regular file"));
  }
  // The directory itself may be a symlink (the administrator's choice).
  UniqueFd dir(::open(where->dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return PosixError(absl::StrCat("open import directory ", where->dir), errno);
  int fd = OpenBeneath(dir.get(), where->relative, resolver);
  if (fd < 0) return OpenRefused(source, -fd);
  auto file = std::make_shared<UniqueFd>(fd);
  if (absl::Status s = CheckOpenedFile(source, *file); !s.ok()) return s;
  return ImportSource{ImportSource::Kind::kLocalFile, lexical, source, std::move(file)};
}

}  // namespace

absl::StatusOr<ImportSource> ResolveImportSource(const std::string& source,
                                                 const ImportOptions& options,
                                                 PathResolver resolver) {
  if (source.empty()) {
    return absl::InvalidArgumentError(
        "source is empty: give an https:// URL or an absolute path inside the import "
        "directories");
  }
  for (char c : source) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("source contains control characters");
    }
  }
  if (source.find("://") != std::string::npos && source[0] != '/') {
    return ResolveUrl(source, options);
  }
  if (source[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("source '", source, "' is neither an absolute path nor an https:// URL"));
  }
  return ResolveLocalPath(source, options, resolver);
}

}  // namespace mvirt::zfs
