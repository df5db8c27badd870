#include "common/broadcaster.h"

#include <gtest/gtest.h>

#include <thread>

namespace mvirt::zfs {
namespace {

TEST(Broadcaster, EverySubscriberGetsEveryEventInOrder) {
  Broadcaster<int> b;
  auto first = b.Subscribe(10);
  auto second = b.Subscribe(10);
  for (int i = 0; i < 5; ++i) b.Publish(i);
  for (auto* sub : {&first, &second}) {
    for (int i = 0; i < 5; ++i) EXPECT_EQ((*sub)->Next(), i);
    EXPECT_EQ((*sub)->Next(), std::nullopt);
  }
}

TEST(Broadcaster, OnlyEventsAfterSubscribing) {
  Broadcaster<int> b;
  b.Publish(1);
  auto sub = b.Subscribe(10);
  b.Publish(2);
  EXPECT_EQ(sub->Next(), 2);
}

TEST(Broadcaster, ASlowSubscriberOverflowsInsteadOfMissingEventsOrBlocking) {
  Broadcaster<int> b;
  auto slow = b.Subscribe(3);
  auto fast = b.Subscribe(100);
  for (int i = 0; i < 10; ++i) b.Publish(i);  // never blocks
  EXPECT_TRUE(slow->overflowed());
  EXPECT_EQ(slow->Next(), std::nullopt) << "an overflowed subscriber gets nothing more";
  EXPECT_FALSE(fast->overflowed());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(fast->Next(), i);
  EXPECT_EQ(b.subscriber_count(), 1u) << "the overflowed one is dropped";
}

TEST(Broadcaster, DroppedSubscriptionsAreForgotten) {
  Broadcaster<int> b;
  { auto sub = b.Subscribe(1); }
  b.Publish(1);
  EXPECT_EQ(b.subscriber_count(), 0u);
}

TEST(Broadcaster, TheListenerIsCalledForEachEventTheOverflowAndTheClose) {
  Broadcaster<int> b;
  int calls = 0;
  std::shared_ptr<Broadcaster<int>::Subscription> sub;
  sub = b.Subscribe(2, [&] {
    ++calls;
    // Called with no lock held: reading from the listener works.
    if (calls == 1) {
      EXPECT_EQ(sub->Next(), 7);
    }
  });
  b.Publish(7);
  EXPECT_EQ(calls, 1);
  b.Publish(8);
  b.Publish(9);
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(sub->overflowed());
  b.Publish(10);  // the queue holds 8 and 9: full
  EXPECT_EQ(calls, 4) << "the overflow is announced too";
  EXPECT_TRUE(sub->overflowed());
  b.Publish(11);
  EXPECT_EQ(calls, 4) << "an overflowed subscriber is dropped";

  Broadcaster<int> c;
  int closes = 0;
  auto open = c.Subscribe(2, [&] { ++closes; });
  c.Close();
  EXPECT_EQ(closes, 1);
  EXPECT_TRUE(open->closed());
  EXPECT_EQ(open->Next(), std::nullopt);
  EXPECT_TRUE(c.Subscribe(1)->closed()) << "subscribing after Close is closed at once";
}

TEST(Broadcaster, ConcurrentPublishersNeverLoseOrReorderTheirOwnEvents) {
  Broadcaster<int> b;
  auto sub = b.Subscribe(100000);
  std::vector<std::thread> publishers;
  for (int p = 0; p < 4; ++p) {
    publishers.emplace_back([&b, p] {
      for (int i = 0; i < 1000; ++i) b.Publish(p * 1000 + i);
    });
  }
  for (auto& t : publishers) t.join();
  std::vector<int> last(4, -1);
  int count = 0;
  while (std::optional<int> e = sub->Next()) {
    int p = *e / 1000;
    EXPECT_GT(*e % 1000, last[p]);
    last[p] = *e % 1000;
    ++count;
  }
  EXPECT_EQ(count, 4000);
}

}  // namespace
}  // namespace mvirt::zfs
