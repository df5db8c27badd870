#include "common/coalesced_read.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mvirt::zfs {
namespace {

// A read the test lets through one at a time: each read returns its own
// number (1, 2, ...), and it waits until the test opens the gate.
class GatedRead {
 public:
  absl::StatusOr<int> operator()() {
    const int number = ++started_;
    std::unique_lock<std::mutex> lock(mu_);
    started_cv_.notify_all();
    opened_cv_.wait(lock, [&] { return opened_ >= number; });
    if (fail_) return absl::InternalError("read failed");
    return number;
  }
  // Waits until read number `n` has started.
  void AwaitStarted(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    started_cv_.wait(lock, [&] { return started_ >= n; });
  }
  // Lets read number `n` (and those before) return.
  void Open(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    opened_ = n;
    opened_cv_.notify_all();
  }
  void FailFromNowOn() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = true;
  }
  int started() const { return started_; }

 private:
  std::atomic<int> started_{0};
  std::mutex mu_;
  std::condition_variable started_cv_, opened_cv_;
  int opened_ = 0;
  bool fail_ = false;
};

// Collects the answers of several requests.
class Answers {
 public:
  CoalescedRead<int>::Answer Slot() {
    auto promise = std::make_shared<std::promise<absl::StatusOr<int>>>();
    futures_.push_back(promise->get_future());
    return [promise](const absl::StatusOr<int>& value) { promise->set_value(value); };
  }
  std::vector<absl::StatusOr<int>> Wait() {
    std::vector<absl::StatusOr<int>> out;
    for (auto& f : futures_) out.push_back(f.get());
    return out;
  }

 private:
  std::vector<std::future<absl::StatusOr<int>>> futures_;
};

TEST(CoalescedRead, RequestsMadeDuringAReadShareTheNextOne) {
  GatedRead gate;
  CoalescedRead<int> reader([&] { return gate(); });
  Answers first, later;
  reader.Request(first.Slot());
  gate.AwaitStarted(1);
  // Read 1 is running (and blocked): it started before these requests, so
  // it must not answer them; one more read answers them all.
  for (int i = 0; i < 50; ++i) reader.Request(later.Slot());
  gate.Open(1);
  gate.AwaitStarted(2);
  gate.Open(2);
  for (const absl::StatusOr<int>& answer : first.Wait()) EXPECT_EQ(answer.value(), 1);
  for (const absl::StatusOr<int>& answer : later.Wait()) EXPECT_EQ(answer.value(), 2);
  EXPECT_EQ(gate.started(), 2);
}

TEST(CoalescedRead, RequestNeverWaitsForARead) {
  GatedRead gate;
  CoalescedRead<int> reader([&] { return gate(); });
  Answers answers;
  reader.Request(answers.Slot());
  gate.AwaitStarted(1);
  // The read is blocked; a request still returns at once (the test would
  // hang here otherwise).
  reader.Request(answers.Slot());
  gate.Open(2);
  std::vector<absl::StatusOr<int>> got = answers.Wait();
  EXPECT_EQ(got[0].value(), 1);
  EXPECT_EQ(got[1].value(), 2);
}

TEST(CoalescedRead, AFailedReadIsEveryWaitingRequestsAnswer) {
  GatedRead gate;
  gate.FailFromNowOn();
  gate.Open(100);
  CoalescedRead<int> reader([&] { return gate(); });
  Answers answers;
  reader.Request(answers.Slot());
  for (const absl::StatusOr<int>& answer : answers.Wait()) {
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kInternal);
    EXPECT_EQ(answer.status().message(), "read failed");
  }
}

TEST(CoalescedRead, DestroyingItAnswersWhatIsStillWaitingWithUnavailable) {
  GatedRead gate;
  Answers running, waiting;
  {
    auto reader = std::make_unique<CoalescedRead<int>>([&] { return gate(); });
    reader->Request(running.Slot());
    gate.AwaitStarted(1);
    reader->Request(waiting.Slot());
    // The destructor waits for the running read: let it finish meanwhile,
    // most likely after the destructor has begun (if not, a second read
    // answers the waiting request, and is let through too).
    std::thread opener([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      gate.Open(2);
    });
    reader.reset();
    opener.join();
  }
  EXPECT_EQ(running.Wait()[0].value(), 1);
  absl::StatusOr<int> last = waiting.Wait()[0];
  if (gate.started() == 1) {
    EXPECT_EQ(last.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(last.status().message(), "the daemon is shutting down");
  } else {
    EXPECT_EQ(last.value(), 2);  // a read that started after the request
  }
}

}  // namespace
}  // namespace mvirt::zfs
