#include "common/serial_executor.h"

#include <algorithm>

namespace mvirt::zfs {

SerialExecutor::SerialExecutor(int threads) {
  for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { Run(); });
}

SerialExecutor::~SerialExecutor() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.SignalAll();
  for (std::thread& t : threads_) t.join();
}

void SerialExecutor::Submit(const std::string& key, std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (!queued_keys_.insert(key).second) return;  // one of this key waits already
    queue_.emplace_back(key, std::move(task));
  }
  wake_.SignalAll();
}

void SerialExecutor::Run() {
  for (;;) {
    std::string key;
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      for (;;) {
        // The oldest task whose key has none running.
        auto next = queue_.begin();
        while (next != queue_.end() && running_keys_.contains(next->first)) ++next;
        if (next != queue_.end()) {
          key = next->first;
          task = std::move(next->second);
          queue_.erase(next);
          break;
        }
        if (stopping_ && queue_.empty()) return;  // nothing left to run
        wake_.Wait(&mu_);                         // for a task, or for a running one to finish
      }
      queued_keys_.erase(key);  // from now on a new one is queued anew
      running_keys_.insert(key);
    }
    task();
    {
      MutexLock lock(&mu_);
      running_keys_.erase(key);
    }
    wake_.SignalAll();
  }
}

}  // namespace mvirt::zfs
