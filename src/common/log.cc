#include "common/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mvirt::zfs {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_journal{false};
}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text) {
  std::string t = absl::AsciiStrToLower(text);
  if (t == "debug") return LogLevel::kDebug;
  if (t == "info") return LogLevel::kInfo;
  if (t == "warning" || t == "warn") return LogLevel::kWarning;
  if (t == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid log level '", text, "': use debug, info, warning or error"));
}

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

void SetLogToJournal(bool journal) { g_journal = journal; }

bool IsJournalStream(int fd, const char* journal_stream) {
  if (journal_stream == nullptr) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(journal_stream, ':');
  uint64_t dev = 0, ino = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &dev) || !absl::SimpleAtoi(parts[1], &ino)) {
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<uint64_t>(st.st_dev) == dev && static_cast<uint64_t>(st.st_ino) == ino;
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

std::string LogSafeText(absl::string_view message) {
  const absl::string_view kept = message.substr(0, kMaxLogMessageBytes);
  std::string out;
  out.reserve(kept.size());
  for (unsigned char c : kept) {
    if (c < 0x20 || c == 0x7f) {
      absl::StrAppend(&out, absl::StrFormat("\\x%02x", c));
    } else {
      out += static_cast<char>(c);
    }
  }
  if (message.size() > kept.size()) {
    absl::StrAppend(&out, "... (", message.size() - kept.size(), " more bytes)");
  }
  return out;
}

std::string FormatLogLine(LogLevel level, absl::string_view message, bool journal) {
  static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
  static constexpr int kPriorities[] = {7, 6, 4, 3};  // syslog's, as journald reads them
  const int i = static_cast<int>(level);
  if (journal) return absl::StrCat("<", kPriorities[i], ">", kNames[i], " ", LogSafeText(message));
  return absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                      " ", kNames[i], " ", LogSafeText(message));
}

void LogLine(LogLevel level, absl::string_view message) {
  std::string line = FormatLogLine(level, message, g_journal.load());
  line += '\n';
  // One write per line keeps concurrent lines whole.
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace mvirt::zfs
