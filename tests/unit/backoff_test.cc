#include "common/backoff.h"

#include <gtest/gtest.h>

#include <chrono>

namespace mvirt {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

TEST(Backoff, MakesExactlyTheAttemptsItWasGiven) {
  Backoff backoff(4, milliseconds(1), milliseconds(1));
  int attempts = 0;
  while (backoff.Next()) ++attempts;
  EXPECT_EQ(attempts, 4);
  EXPECT_FALSE(backoff.Next()) << "stays spent";
}

TEST(Backoff, PausesDoubleUpToTheLongest) {
  // Pauses of 10, 20, 40, 40 ms before attempts 2 to 5: at least 110 ms in
  // all (a lower bound: a loaded machine only sleeps longer).
  Backoff backoff(5, milliseconds(10), milliseconds(40));
  const auto start = steady_clock::now();
  int attempts = 0;
  while (backoff.Next()) ++attempts;
  EXPECT_EQ(attempts, 5);
  EXPECT_GE(steady_clock::now() - start, milliseconds(110));
}

TEST(Backoff, NoAttemptsMeansNone) {
  Backoff backoff(0);
  EXPECT_FALSE(backoff.Next());
}

}  // namespace
}  // namespace mvirt
