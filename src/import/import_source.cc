#include "import/import_source.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "import/http_fetch.h"

namespace mvirt::zfs {
namespace {

namespace fs = std::filesystem;

bool IsInside(const fs::path& path, const fs::path& dir) {
  std::string p = path.string();
  std::string d = dir.string();
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return absl::StartsWith(p, d == "/" ? d : d + "/") && p.size() > d.size() + 1;
}

// True if `path` lies inside one of `dirs`, compared with each dir both as
// written and with its symlinks resolved.
bool IsInsideAny(const fs::path& path, const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) {
    std::error_code ec;
    fs::path resolved = fs::weakly_canonical(dir, ec);
    if (IsInside(path, fs::path(dir).lexically_normal())) return true;
    if (!ec && IsInside(path, resolved)) return true;
  }
  return false;
}

absl::Status OutsideImportDirs(const std::string& source, const ImportOptions& options) {
  return absl::PermissionDeniedError(absl::StrCat(
      "source '", source, "' is outside the import directories (",
      absl::StrJoin(options.import_dirs, ", "),
      "); put the image there or start mvirt-zfs with --import-dir"));
}

absl::StatusOr<ImportSource> ResolveUrl(const std::string& source, const ImportOptions& options) {
  // Nothing of an unparsed URL is ever shown: it may hold credentials.
  absl::StatusOr<std::string> display = DisplayUrl(source);
  if (!display.ok()) return display.status();
  const size_t scheme_end = source.find("://");
  std::string scheme = absl::AsciiStrToLower(source.substr(0, scheme_end));
  absl::string_view rest = absl::string_view(source).substr(scheme_end + 3);
  if (rest.empty() || rest[0] == '/' || rest[0] == '?' || rest[0] == '#') {
    return absl::InvalidArgumentError(absl::StrCat("source '", *display, "': the URL names no host"));
  }
  if (scheme != "https" && scheme != "http") {
    return absl::InvalidArgumentError(absl::StrCat(
        "source '", *display, "': scheme '", scheme,
        "' is not supported; use an https:// URL or an absolute path"));
  }
  if (scheme == "http" && !options.allow_http) {
    return absl::PermissionDeniedError(absl::StrCat(
        "source '", *display,
        "': plain http is not allowed (the image could be altered in transit); use https, or "
        "start mvirt-zfs with --import-allow-http"));
  }
  return ImportSource{ImportSource::Kind::kUrl, source, *display};
}

absl::StatusOr<ImportSource> ResolveLocalPath(const std::string& source,
                                              const ImportOptions& options) {
  fs::path lexical = fs::path(source).lexically_normal();
  // Refuse paths outside the directories before looking at them, so that a
  // caller learns nothing about files elsewhere.
  if (!IsInsideAny(lexical, options.import_dirs)) return OutsideImportDirs(source, options);
  std::error_code ec;
  fs::path canonical = fs::canonical(lexical, ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("source '", source, "' does not exist (", ec.message(), ")"));
  }
  if (!IsInsideAny(canonical, options.import_dirs)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "source '", source, "' resolves to '", canonical.string(),
        "', outside the import directories (", absl::StrJoin(options.import_dirs, ", "), ")"));
  }
  struct stat st;
  if (::stat(canonical.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("source '", source, "' is not a regular file"));
  }
  return ImportSource{ImportSource::Kind::kLocalFile, canonical.string(), source};
}

}  // namespace

absl::StatusOr<ImportSource> ResolveImportSource(const std::string& source,
                                                 const ImportOptions& options) {
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
    return absl::InvalidArgumentError(absl::StrCat(
        "source '", source, "' is neither an absolute path nor an https:// URL"));
  }
  return ResolveLocalPath(source, options);
}

absl::StatusOr<int> OpenImportFile(const std::string& path, const ImportOptions& options) {
  // No symlink anywhere on the path (a directory swapped for a link to /dev
  // cannot redirect the open), and no blocking on a FIFO swapped in.
  struct open_how how = {};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof(how)));
  if (fd < 0 && errno == ENOSYS) fd = ::open(path.c_str(), static_cast<int>(how.flags));
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP || err == EXDEV) {
      return absl::PermissionDeniedError(
          absl::StrCat("open ", path, ": a symbolic link appeared on its path"));
    }
    return absl::Status(err == ENOENT ? absl::StatusCode::kNotFound : absl::StatusCode::kUnavailable,
                        absl::StrCat("open ", path, ": ", std::strerror(err)));
  }
  struct stat st;
  absl::Status status = absl::OkStatus();
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  } else if (::fcntl(fd, F_SETFL, 0) != 0) {
    status = absl::UnavailableError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  } else {
    status = CheckOpenedFileAllowed(fd, options);
  }
  if (!status.ok()) {
    ::close(fd);
    return status;
  }
  return fd;
}

absl::Status CheckOpenedFileAllowed(int fd, const ImportOptions& options) {
  std::error_code ec;
  fs::path actual = fs::read_symlink(absl::StrCat("/proc/self/fd/", fd), ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot tell which file was opened: ", ec.message()));
  }
  if (!IsInsideAny(actual, options.import_dirs)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the opened file '", actual.string(), "' is outside the import directories (",
        absl::StrJoin(options.import_dirs, ", "), ")"));
  }
  return absl::OkStatus();
}

}  // namespace mvirt::zfs
