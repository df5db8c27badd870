#include "common/serial_executor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <vector>

namespace mvirt::zfs {
namespace {

// What the tasks did, in order; and a gate the first task can wait at.
class Journal {
 public:
  std::function<void()> Note(const std::string& what) {
    return [this, what] {
      std::lock_guard<std::mutex> lock(mu_);
      entries_.push_back(what);
    };
  }
  // A task that says it started, then waits until Open().
  std::function<void()> Blocking(const std::string& what) {
    return [this, what] {
      started_.set_value();
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return open_; });
      entries_.push_back(what);
    };
  }
  void AwaitStarted() { started_.get_future().wait(); }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  std::vector<std::string> entries() {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  std::promise<void> started_;
  std::vector<std::string> entries_;
};

TEST(SerialExecutor, RunsTasksInOrderAndTheQueuedOnesBeforeItStops) {
  Journal journal;
  {
    SerialExecutor executor;
    executor.Submit("block", journal.Blocking("first"));
    journal.AwaitStarted();
    executor.Submit("b", journal.Note("b"));
    executor.Submit("c", journal.Note("c"));
    journal.Open();
  }  // the destructor runs b and c
  EXPECT_EQ(journal.entries(), (std::vector<std::string>{"first", "b", "c"}));
}

TEST(SerialExecutor, ATaskOfAKeyThatWaitsAlreadyIsDropped) {
  Journal journal;
  {
    SerialExecutor executor;
    executor.Submit("block", journal.Blocking("first"));
    journal.AwaitStarted();
    executor.Submit("x", journal.Note("x1"));
    executor.Submit("y", journal.Note("y"));
    executor.Submit("x", journal.Note("x2"));  // x1 waits: it will do the work
    journal.Open();
  }
  EXPECT_EQ(journal.entries(), (std::vector<std::string>{"first", "x1", "y"}));
}

TEST(SerialExecutor, ATaskOfAKeyWhoseTaskHasStartedIsQueuedAnew) {
  Journal journal;
  {
    SerialExecutor executor;
    executor.Submit("x", journal.Blocking("x1"));
    journal.AwaitStarted();
    // x1 runs (it may have read the state already): a change now needs x2.
    executor.Submit("x", journal.Note("x2"));
    journal.Open();
  }
  EXPECT_EQ(journal.entries(), (std::vector<std::string>{"x1", "x2"}));
}

TEST(SerialExecutor, WithTwoThreadsTasksOfDifferentKeysRunAtOnce) {
  std::promise<void> b_ran;
  std::future<void> b_done = b_ran.get_future();
  std::future_status seen = std::future_status::deferred;
  {
    SerialExecutor executor(2);
    // a waits (at most 30 s) for b: only a second thread can run b.
    executor.Submit("a", [&] { seen = b_done.wait_for(std::chrono::seconds(30)); });
    executor.Submit("b", [&] { b_ran.set_value(); });
  }
  EXPECT_EQ(seen, std::future_status::ready);
}

TEST(SerialExecutor, WithTwoThreadsTheTasksOfOneKeyStillRunOneAtATime) {
  Journal journal;
  std::promise<void> y_ran;
  std::future<void> y_done = y_ran.get_future();
  {
    SerialExecutor executor(2);
    executor.Submit("x", journal.Blocking("x1"));
    journal.AwaitStarted();
    executor.Submit("x", journal.Note("x2"));  // queued anew: x1 has started
    std::function<void()> note_y = journal.Note("y");
    executor.Submit("y", [&, note_y] {
      note_y();
      y_ran.set_value();
    });
    // y runs on the free thread; x2 waits for x1, which waits for Open.
    EXPECT_EQ(y_done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    journal.Open();
  }
  EXPECT_EQ(journal.entries(), (std::vector<std::string>{"y", "x1", "x2"}));
}

}  // namespace
}  // namespace mvirt::zfs
