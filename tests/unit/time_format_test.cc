#include "common/time_format.h"

#include <gtest/gtest.h>

namespace mvirt::zfs {
namespace {

TEST(FormatRfc3339, UtcWithZ) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1795613121), "2026-11-25T13:25:21Z");
}

}  // namespace
}  // namespace mvirt::zfs
