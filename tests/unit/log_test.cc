// LogSafeText: what a log line may carry, whatever a request put in it.
#include "common/log.h"

#include <gtest/gtest.h>

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
