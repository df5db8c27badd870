// Fuzz target: where an import may read from (src/import/import_source.h,
// ResolveImportSource) and how a URL is shown (src/import/http_fetch.h,
// DisplayUrl) -- both see exactly what a caller sent.
//
// Input: byte 0 holds flags (bit 0: allow_http, bit 1: the kWalk resolver
// instead of openat2), the rest is the source; every "$D" in it becomes the
// fuzzer's temporary directory, which holds two import directories with
// files, hard links, symlinks (also leading out), a FIFO and a secret file
// outside them:
//   $D/images/{raw.img, hard1, hard2, link.img -> raw.img,
//              escape -> $D/secret.img, up -> .., sub/inner.img, dir.img/, fifo}
//   $D/linked -> $D/real   (an import directory that is itself a symlink)
//   $D/real/b.img, $D/secret.img
//
// Invariants:
//  - an opened local file is a regular file with one link that really lies
//    beneath one of the import directories (its /proc/self/fd link, against
//    the directories' real paths): no symlink, "..", or hard link leads out;
//  - a URL source is accepted only as https, or http when allowed; its
//    display is scheme://[***@]host[:port]path[?***] as libcurl parses the
//    URL, so it never shows the user, password or query;
//  - DisplayUrl's result contains no control characters and shows itself
//    unchanged (DisplayUrl(DisplayUrl(u)) == DisplayUrl(u));
//  - refusals use INVALID_ARGUMENT, PERMISSION_DENIED or NOT_FOUND: what
//    the caller sent is wrong, no retry helps (a path too long for the
//    kernel: finding "source-too-long" for MVIRT_FUZZ_IGNORE).
#include <curl/curl.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "fuzz_util.h"
#include "import/http_fetch.h"
#include "import/import_source.h"

namespace {

using namespace mvirt::zfs;

[[noreturn]] void Fail(const std::string& what) { fuzz::Fail("fuzz_import_source", what); }

std::string Quoted(absl::string_view s) { return absl::StrCat("'", absl::CHexEscape(s), "'"); }

struct Tree {
  std::string root;
  ImportOptions options;
  std::vector<std::string> real_dirs;  // realpath of every import directory
};

void Write(const std::string& path, const std::string& content) { std::ofstream(path) << content; }

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) Fail("realpath " + path);
  return buf;
}

const Tree& GetTree() {
  static Tree* tree = [] {
    auto* t = new Tree;
    t->root = fuzz::FreshDir("import-source");
    const std::string& d = t->root;
    ::mkdir((d + "/images").c_str(), 0755);
    ::mkdir((d + "/images/sub").c_str(), 0755);
    ::mkdir((d + "/images/dir.img").c_str(), 0755);
    ::mkdir((d + "/real").c_str(), 0755);
    Write(d + "/images/raw.img", std::string(4096, 'r'));
    Write(d + "/images/hard1", "hard");
    ::link((d + "/images/hard1").c_str(), (d + "/images/hard2").c_str());
    ::symlink("raw.img", (d + "/images/link.img").c_str());
    Write(d + "/secret.img", "secret");
    ::symlink((d + "/secret.img").c_str(), (d + "/images/escape").c_str());
    ::symlink("..", (d + "/images/up").c_str());
    Write(d + "/images/sub/inner.img", "inner");
    ::mkfifo((d + "/images/fifo").c_str(), 0600);
    Write(d + "/real/b.img", "b");
    ::symlink((d + "/real").c_str(), (d + "/linked").c_str());
    t->options.import_dirs = {d + "/images", d + "/linked"};
    for (const std::string& dir : t->options.import_dirs) t->real_dirs.push_back(RealPath(dir));
    return t;
  }();
  return *tree;
}

// The URL part `which` as libcurl parses it, or "".
std::string UrlPart(const std::string& url, CURLUPart which) {
  CURLU* u = curl_url();
  std::string out;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* value = nullptr;
    if (curl_url_get(u, which, &value, 0) == CURLUE_OK && value != nullptr) out = value;
    curl_free(value);
  }
  curl_url_cleanup(u);
  return out;
}

// What DisplayUrl promises to show of `url`: scheme://[***@]host[:port]path
// [?***], each part as libcurl parses it: so neither user, password nor
// query can show.
std::string ExpectedDisplay(const std::string& url) {
  std::string out = absl::StrCat(UrlPart(url, CURLUPART_SCHEME), "://");
  if (!UrlPart(url, CURLUPART_USER).empty() || !UrlPart(url, CURLUPART_PASSWORD).empty()) {
    out += "***@";
  }
  absl::StrAppend(&out, UrlPart(url, CURLUPART_HOST));
  if (std::string port = UrlPart(url, CURLUPART_PORT); !port.empty())
    absl::StrAppend(&out, ":", port);
  absl::StrAppend(&out, UrlPart(url, CURLUPART_PATH));
  if (!UrlPart(url, CURLUPART_QUERY).empty()) out += "?***";
  return out;
}

void CheckDisplayUrl(const std::string& url) {
  absl::StatusOr<std::string> display = DisplayUrl(url);
  if (!display.ok()) {
    if (display.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail(absl::StrCat("DisplayUrl(", Quoted(url), "): ", display.status().ToString()));
    }
    return;
  }
  for (unsigned char c : *display) {
    if (c < 0x20 || c == 0x7f)
      Fail(absl::StrCat("DisplayUrl(", Quoted(url), ") = ", Quoted(*display)));
  }
  if (*display != ExpectedDisplay(url)) {
    Fail(absl::StrCat("DisplayUrl(", Quoted(url), ") = ", Quoted(*display), ", not ",
                      Quoted(ExpectedDisplay(url))));
  }
  absl::StatusOr<std::string> again = DisplayUrl(*display);
  if (!again.ok() || *again != *display) {
    Fail(absl::StrCat(
        "DisplayUrl(", Quoted(url), ") = ", Quoted(*display),
        " but DisplayUrl of that = ", again.ok() ? Quoted(*again) : again.status().ToString()));
  }
}

void CheckLocalFile(const Tree& tree, const std::string& source, const ImportSource& s) {
  if (s.file == nullptr || !*s.file) Fail(absl::StrCat("no file for ", Quoted(source)));
  struct stat st;
  if (::fstat(s.file->get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
    Fail(
        absl::StrCat("opened something other than a regular file with one link: ", Quoted(source)));
  }
  char target[PATH_MAX] = {};
  const std::string fd_link = absl::StrCat("/proc/self/fd/", s.file->get());
  ssize_t n = ::readlink(fd_link.c_str(), target, sizeof(target) - 1);
  if (n <= 0) Fail("readlink " + fd_link);
  const std::string real(target, static_cast<size_t>(n));
  bool beneath = false;
  for (const std::string& dir : tree.real_dirs)
    beneath = beneath || absl::StartsWith(real, dir + "/");
  if (!beneath) {
    Fail(absl::StrCat("source ", Quoted(source), " opened ", Quoted(real),
                      ", outside the import directories"));
  }
  if (s.display != source)
    Fail(absl::StrCat("display ", Quoted(s.display), " of ", Quoted(source)));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  InitHttp();
  (void)GetTree();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 4096) return -1;
  const Tree& tree = GetTree();
  ImportOptions options = tree.options;
  options.allow_http = (data[0] & 1) != 0;
  const PathResolver resolver = (data[0] & 2) != 0 ? PathResolver::kWalk : PathResolver::kAuto;
  const std::string raw(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string source = absl::StrReplaceAll(raw, {{"$D", tree.root}});

  if (source.find('\0') == std::string::npos) CheckDisplayUrl(source);

  absl::StatusOr<ImportSource> resolved = ResolveImportSource(source, options, resolver);
  if (!resolved.ok()) {
    const absl::StatusCode code = resolved.status().code();
    const bool too_long = absl::StrContains(resolved.status().message(), "File name too long");
    if (code != absl::StatusCode::kInvalidArgument && code != absl::StatusCode::kPermissionDenied &&
        code != absl::StatusCode::kNotFound && !(too_long && fuzz::Ignored("source-too-long"))) {
      Fail(absl::StrCat("ResolveImportSource answered ", absl::StatusCodeToString(code), " (",
                        resolved.status().message(), ") for ", Quoted(source)));
    }
    return 0;
  }
  if (resolved->kind == ImportSource::Kind::kLocalFile) {
    CheckLocalFile(tree, source, *resolved);
    return 0;
  }
  // A URL.
  const std::string scheme = absl::AsciiStrToLower(UrlPart(source, CURLUPART_SCHEME));
  if (!(scheme == "https" || (scheme == "http" && options.allow_http))) {
    Fail(absl::StrCat("accepted URL ", Quoted(source), " with scheme ", Quoted(scheme)));
  }
  if (resolved->file != nullptr || resolved->location != source) Fail("URL source with a file");
  if (resolved->display != ExpectedDisplay(source)) {
    Fail(absl::StrCat("display ", Quoted(resolved->display), " of ", Quoted(source)));
  }
  return 0;
}
