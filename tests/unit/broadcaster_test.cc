#include "common/broadcaster.h"

#include <gtest/gtest.h>

#include <thread>

namespace mvirt::zfs {
namespace {

using namespace std::chrono_literals;

TEST(Broadcaster, EverySubscriberGetsEveryEventInOrder) {
  Broadcaster<int> b;
  auto first = b.Subscribe(10);
  auto second = b.Subscribe(10);
  for (int i = 0; i < 5; ++i) b.Publish(i);
  for (auto* sub : {&first, &second}) {
    for (int i = 0; i < 5; ++i) EXPECT_EQ((*sub)->Next(0ms), i);
    EXPECT_EQ((*sub)->Next(0ms), std::nullopt);
  }
}

TEST(Broadcaster, OnlyEventsAfterSubscribing) {
  Broadcaster<int> b;
  b.Publish(1);
  auto sub = b.Subscribe(10);
  b.Publish(2);
  EXPECT_EQ(sub->Next(0ms), 2);
}

TEST(Broadcaster, ASlowSubscriberOverflowsInsteadOfMissingEventsOrBlocking) {
  Broadcaster<int> b;
  auto slow = b.Subscribe(3);
  auto fast = b.Subscribe(100);
  for (int i = 0; i < 10; ++i) b.Publish(i);  // never blocks
  EXPECT_TRUE(slow->overflowed());
  EXPECT_EQ(slow->Next(0ms), std::nullopt) << "an overflowed subscriber gets nothing more";
  EXPECT_FALSE(fast->overflowed());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(fast->Next(0ms), i);
  EXPECT_EQ(b.subscriber_count(), 1u) << "the overflowed one is dropped";
}

TEST(Broadcaster, DroppedSubscriptionsAreForgotten) {
  Broadcaster<int> b;
  { auto sub = b.Subscribe(1); }
  b.Publish(1);
  EXPECT_EQ(b.subscriber_count(), 0u);
}

TEST(Broadcaster, NextWakesOnPublishAndOnClose) {
  Broadcaster<int> b;
  auto sub = b.Subscribe(10);
  std::thread publisher([&] {
    std::this_thread::sleep_for(20ms);
    b.Publish(7);
  });
  EXPECT_EQ(sub->Next(10s), 7);
  publisher.join();
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    b.Close();
  });
  EXPECT_EQ(sub->Next(10s), std::nullopt);
  EXPECT_TRUE(sub->closed());
  closer.join();
  EXPECT_TRUE(b.Subscribe(1)->closed()) << "subscribing after Close is closed at once";
}

}  // namespace
}  // namespace mvirt::zfs
