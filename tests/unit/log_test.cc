// LogSafeText: what a log line may carry, whatever a request put in it;
// FormatLogLine and IsJournalStream: lines for a terminal or for journald.
#include "common/log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>
#include <string>

namespace mvirt::zfs {
namespace {

TEST(LogSafeText, PlainTextAndUtf8AreKept) {
  EXPECT_EQ(LogSafeText("audit: CreateVolume volume 'vm-1' by uid 0"),
            "audit: CreateVolume volume 'vm-1' by uid 0");
  EXPECT_EQ(LogSafeText("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(LogSafeText, ControlBytesCannotStartALineOrDriveATerminal) {
  EXPECT_EQ(LogSafeText("a\n2026-12-06T00:00:00.000Z INFO audit: forged"),
            "a\\x0a2026-12-06T00:00:00.000Z INFO audit: forged");
  EXPECT_EQ(LogSafeText("\r\t\x1b[31m\x7f"), "\\x0d\\x09\\x1b[31m\\x7f");
  EXPECT_EQ(LogSafeText(std::string("a\0b", 3)), "a\\x00b");
}

TEST(LogSafeText, LongMessagesAreCutWithANote) {
  const std::string huge(kMaxLogMessageBytes + 100, 'n');
  EXPECT_EQ(LogSafeText(huge), std::string(kMaxLogMessageBytes, 'n') + "... (100 more bytes)");
  const std::string exact(kMaxLogMessageBytes, 'n');
  EXPECT_EQ(LogSafeText(exact), exact);
}

}  // namespace
}  // namespace mvirt::zfs

namespace mvirt::zfs {
namespace {

TEST(FormatLogLine, JournalLinesCarryTheirPriorityAndNoTime) {
  EXPECT_EQ(FormatLogLine(LogLevel::kError, "pool gone", true), "<3>ERROR pool gone");
  EXPECT_EQ(FormatLogLine(LogLevel::kWarning, "w", true), "<4>WARNING w");
  EXPECT_EQ(FormatLogLine(LogLevel::kInfo, "audit: x\ny", true), "<6>INFO audit: x\\x0ay");
  EXPECT_EQ(FormatLogLine(LogLevel::kDebug, "d", true), "<7>DEBUG d");
  const std::string line = FormatLogLine(LogLevel::kInfo, "hello", false);
  EXPECT_TRUE(
      std::regex_match(line, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO hello)")))
      << line;
}

TEST(IsJournalStream, MatchesOnlyTheFileJOURNAL_STREAMNames) {
  char path[] = "/tmp/mvirt-zfs-journal-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);
  const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  EXPECT_TRUE(IsJournalStream(fd, mine.c_str()));
  const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  EXPECT_FALSE(IsJournalStream(fd, other.c_str()));
  for (const char* bad : {"", "1", "a:b", "1:2:3", ":"}) EXPECT_FALSE(IsJournalStream(fd, bad));
  EXPECT_FALSE(IsJournalStream(fd, nullptr));
  EXPECT_FALSE(IsJournalStream(-1, mine.c_str()));
  ::close(fd);
  ::unlink(path);
}

}  // namespace
}  // namespace mvirt::zfs
