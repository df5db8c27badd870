// SerialExecutor: runs tasks on threads of its own (one by default), the
// tasks of one key one at a time, in the order they were submitted.
//
// Contract:
//  - tasks start in the order they were submitted, except that a task
//    whose key has a task running waits until that one has finished: the
//    tasks of one key never run at once. With one thread, one task at a
//    time;
//  - a task submitted under a key while another task of that key waits to
//    start is dropped: the waiting one will do the same work, later. Tasks
//    of one key must therefore be interchangeable ("read the current state
//    of X and publish it");
//  - Submit never waits for a task;
//  - the destructor runs the tasks still queued, then stops.
// Thread-safe.
#ifndef MVIRT_ZFS_COMMON_SERIAL_EXECUTOR_H_
#define MVIRT_ZFS_COMMON_SERIAL_EXECUTOR_H_

#include <deque>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/mutex.h"

namespace mvirt::zfs {

class SerialExecutor {
 public:
  // `threads` >= 1: how many tasks (of different keys) may run at once.
  explicit SerialExecutor(int threads = 1);
  ~SerialExecutor();
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  void Submit(const std::string& key, std::function<void()> task);

 private:
  void Run();

  Mutex mu_;
  CondVar wake_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::pair<std::string, std::function<void()>>> queue_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> queued_keys_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> running_keys_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;  // last: start after everything above exists
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_SERIAL_EXECUTOR_H_
