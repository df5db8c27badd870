// Fuzz target: the daemon's command line and config file
// (src/daemon/options.h, ParseDaemonCommandLine: CLI11 flags and TOML).
//
// Input: the config file's text up to the first NUL byte; after it, the
// arguments, separated by NUL bytes. The file is written to a temporary
// path and passed as --config=<file> first; arguments that would name
// another config file (--config...) are dropped, so that nothing but the
// fuzzer's file is read.
//
// Invariants: the parser never throws or exits; when it says "run", the
// options are what the daemon relies on without checking again: a valid
// pool name and listen address, flags within their ranges, absolute
// directories, a non-zero import limit, a socket mode within 0777, and every
// --import-allow-net parsed. Otherwise it gives a message (help, version or
// the error), and a non-zero exit code unless it printed help or version.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/names.h"
#include "daemon/options.h"
#include "fuzz_util.h"

namespace {

using namespace mvirt::zfs;

[[noreturn]] void Fail(const std::string& what) { fuzz::Fail("fuzz_options", what); }

const std::string& ConfigPath() {
  static const std::string* path = [] {
    return new std::string(fuzz::FreshDir("options") + "/mvirt-zfs.toml");
  }();
  return *path;
}

bool ValidPool(const std::string& pool) {
  if (pool.empty() || pool.size() > kMaxPoolNameLength ||
      !std::isalpha(static_cast<unsigned char>(pool[0]))) {
    return false;
  }
  for (char c : pool) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != ':') {
      return false;
    }
  }
  return true;
}

bool Absolute(const std::string& path) { return !path.empty() && path[0] == '/'; }

void CheckRun(const DaemonOptions& o, const std::string& args) {
  auto bad = [&](absl::string_view what) { Fail(absl::StrCat("accepted ", what, " from ", args)); };
  if (!ValidPool(o.pool)) bad(absl::StrCat("pool '", o.pool, "'"));
  if (!ValidateListenAddress(o.listen).ok()) bad(absl::StrCat("listen '", o.listen, "'"));
  if (o.shutdown_timeout_seconds < 0 || o.shutdown_timeout_seconds > 3600) bad("shutdown-timeout");
  if (o.device_timeout_seconds < 1 || o.device_timeout_seconds > 3600) bad("device-timeout");
  if (o.watch_buffer < 1 || o.watch_buffer > 1000000) bad("watch-buffer");
  if (o.max_watchers < 1 || o.max_watchers > 100000) bad("max-watchers");
  if (o.watch_stall_timeout_seconds < 1 || o.watch_stall_timeout_seconds > 86400)
    bad("watch-stall-timeout");
  if (o.socket_mode < 0 || o.socket_mode > 0777) bad("socket-mode");
  if (o.tls_cert.empty() != o.tls_key.empty()) bad("tls-cert without tls-key");
  if (!IsLocalListenAddress(o.listen) && o.tls_cert.empty() && !o.insecure_listen) {
    bad("a non-local listen address without TLS");
  }
  const ImportOptions& im = o.import;
  if (!Absolute(im.state_dir)) bad("state-dir");
  if (im.import_dirs.empty()) bad("no import dir");
  for (const std::string& dir : im.import_dirs) {
    if (!Absolute(dir)) bad(absl::StrCat("import-dir '", dir, "'"));
  }
  if (!im.ca_file.empty() && !Absolute(im.ca_file)) bad("import-ca-file");
  if (im.max_image_bytes == 0) bad("import-max-size 0");
  if (im.max_concurrent < 1 || im.max_concurrent > 64) bad("import-concurrency");
  for (const IpNetwork& net : im.allow_networks) {
    if (net.prefix_length < 0 || net.prefix_length > (net.base.v6 ? 128 : 32))
      bad("import-allow-net");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 8192) return -1;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string config = input.substr(0, nul);
  {
    std::ofstream out(ConfigPath(), std::ios::trunc | std::ios::binary);
    out << config;
  }
  std::vector<std::string> args = {"mvirt-zfs", "--config=" + ConfigPath()};
  if (nul != std::string::npos) {
    bool skip_next = false;
    for (absl::string_view arg : absl::StrSplit(absl::string_view(input).substr(nul + 1), '\0')) {
      if (skip_next) {
        skip_next = false;
        continue;
      }
      if (absl::StartsWith(arg, "--config")) {
        skip_next = arg == "--config";
        continue;
      }
      args.emplace_back(arg);
    }
  }

  ParsedCommandLine parsed = ParseDaemonCommandLine(args);
  std::string shown;
  for (const std::string& a : args) absl::StrAppend(&shown, " '", absl::CHexEscape(a), "'");
  if (parsed.run) {
    CheckRun(parsed.options, absl::StrCat(shown, " with config '", absl::CHexEscape(config), "'"));
  } else if (parsed.message.empty()) {
    Fail(absl::StrCat("no run and no message for", shown));
  }
  return 0;
}
