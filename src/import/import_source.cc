#include "import/import_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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
  size_t scheme_end = source.find("://");
  std::string scheme = absl::AsciiStrToLower(source.substr(0, scheme_end));
  std::string rest = source.substr(scheme_end + 3);
  if (scheme != "https" && scheme != "http") {
    return absl::InvalidArgumentError(absl::StrCat(
        "source '", RedactUrlCredentials(source), "': scheme '", scheme,
        "' is not supported; use an https:// URL or an absolute path"));
  }
  if (rest.empty() || rest[0] == '/' || rest[0] == '?' || rest[0] == '#') {
    return absl::InvalidArgumentError(
        absl::StrCat("source '", RedactUrlCredentials(source), "': the URL names no host"));
  }
  if (scheme == "http" && !options.allow_http) {
    return absl::PermissionDeniedError(absl::StrCat(
        "source '", RedactUrlCredentials(source),
        "': plain http is not allowed (the image could be altered in transit); use https, or "
        "start mvirt-zfs with --import-allow-http"));
  }
  return ImportSource{ImportSource::Kind::kUrl, source, RedactUrlCredentials(source)};
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

std::string RedactUrlCredentials(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  size_t host_start = scheme_end + 3;
  size_t authority_end = url.find_first_of("/?#", host_start);
  if (authority_end == std::string::npos) authority_end = url.size();
  size_t at = url.rfind('@', authority_end - 1);
  if (at == std::string::npos || at < host_start) return url;
  return absl::StrCat(url.substr(0, host_start), "***", url.substr(at));
}

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
