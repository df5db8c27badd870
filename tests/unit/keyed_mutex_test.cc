#include "common/keyed_mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/call_context.h"

namespace mvirt::zfs {
namespace {

TEST(KeyedMutex, OneHolderPerKeyOthersInParallel) {
  KeyedMutex m;
  absl::StatusOr<KeyedMutex::Lock> a = m.Acquire("a");
  ASSERT_TRUE(a.ok());
  absl::StatusOr<KeyedMutex::Lock> b = m.Acquire("b");
  EXPECT_TRUE(b.ok()) << "another key is free";
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    absl::StatusOr<KeyedMutex::Lock> again = m.Acquire("a");
    EXPECT_TRUE(again.ok());
    got = true;
  });
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(got) << "'a' is held";
  { KeyedMutex::Lock release = std::move(*a); }
  waiter.join();
  EXPECT_TRUE(got);
}

TEST(KeyedMutex, AWaitEndsWithTheCallsDeadlineAndTakesNothing) {
  KeyedMutex m;
  absl::StatusOr<KeyedMutex::Lock> held = m.Acquire("vm-1");
  ASSERT_TRUE(held.ok());
  std::thread caller([&] {
    CallContext call;
    call.deadline = absl::Now() + absl::Milliseconds(200);
    ScopedCallContext scope(call);
    absl::Time start = absl::Now();
    absl::StatusOr<KeyedMutex::Lock> lock = m.Acquire("vm-1");
    EXPECT_EQ(lock.status().code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_NE(lock.status().message().find("'vm-1'"), absl::string_view::npos);
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  });
  caller.join();
  { KeyedMutex::Lock release = std::move(*held); }
  EXPECT_TRUE(m.Acquire("vm-1").ok()) << "the timed-out waiter holds nothing";
}

TEST(KeyedMutex, AWaitEndsWhenTheCallIsCancelled) {
  KeyedMutex m;
  absl::StatusOr<KeyedMutex::Lock> held = m.Acquire("k");
  std::atomic<bool> cancelled{false};
  std::thread caller([&] {
    CallContext call;
    call.cancelled = [&] { return cancelled.load(); };
    ScopedCallContext scope(call);
    EXPECT_EQ(m.Acquire("k").status().code(), absl::StatusCode::kCancelled);
  });
  absl::SleepFor(absl::Milliseconds(100));
  cancelled = true;
  caller.join();
}

TEST(KeyedMutex, ALateCallDoesNothingEvenIfTheKeyIsFree) {
  KeyedMutex m;
  CallContext call;
  call.deadline = absl::Now() - absl::Seconds(1);
  ScopedCallContext scope(call);
  EXPECT_EQ(m.Acquire("free").status().code(), absl::StatusCode::kDeadlineExceeded);
  KeyedMutex::Lock lock = m.AcquireUninterruptible("free");  // ignores the call
}

}  // namespace
}  // namespace mvirt::zfs
