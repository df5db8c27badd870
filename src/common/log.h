// Minimal leveled logging to stderr. Thread-safe: each line is written with
// one call. Lines are "<UTC time> LEVEL message"; when stderr is connected to
// the journal (systemd's JOURNAL_STREAM names it), "<N>LEVEL message"
// instead: journald stores N as the line's priority (3 error, 4 warning,
// 6 info, 7 debug) and stamps the time itself. A message is always one
// line of bounded length, whatever a caller put in it (see LogSafeText), so
// names from requests cannot forge audit lines or flood the log.
#ifndef MVIRT_ZFS_COMMON_LOG_H_
#define MVIRT_ZFS_COMMON_LOG_H_

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug", "info", "warning"/"warn", "error" -> level; INVALID_ARGUMENT else.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text);

void SetLogLevel(LogLevel level);
// Writes journal lines ("<N>" prefixes, no time) from now on if `journal`.
void SetLogToJournal(bool journal);
// True if `journal_stream` ($JOURNAL_STREAM, "DEVICE:INODE" in decimal)
// names the file open as `fd`: systemd connected it to the journal.
bool IsJournalStream(int fd, const char* journal_stream);
// The line LogLine writes for `message` (without its newline).
std::string FormatLogLine(LogLevel level, absl::string_view message, bool journal);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, absl::string_view message);

// `message` as LogLine writes it: control bytes (newlines, escapes, NUL, DEL)
// shown as \xNN, and cut after kMaxLogMessageBytes with a note of how much
// was left out. Other bytes (UTF-8 text) are kept.
inline constexpr size_t kMaxLogMessageBytes = 8192;
std::string LogSafeText(absl::string_view message);

template <typename... Args>
void Log(LogLevel level, const Args&... args) {
  if (LogEnabled(level)) LogLine(level, absl::StrCat(args...));
}
template <typename... Args>
void LogDebug(const Args&... args) {
  Log(LogLevel::kDebug, args...);
}
template <typename... Args>
void LogInfo(const Args&... args) {
  Log(LogLevel::kInfo, args...);
}
template <typename... Args>
void LogWarning(const Args&... args) {
  Log(LogLevel::kWarning, args...);
}
template <typename... Args>
void LogError(const Args&... args) {
  Log(LogLevel::kError, args...);
}

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_LOG_H_
