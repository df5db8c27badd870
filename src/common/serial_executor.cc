#include "common/serial_executor.h"

namespace mvirt::zfs {

SerialExecutor::SerialExecutor() : thread_([this] { Run(); }) {}

SerialExecutor::~SerialExecutor() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.Signal();
  thread_.join();
}

void SerialExecutor::Submit(const std::string& key, std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (!queued_keys_.insert(key).second) return;  // one of this key waits already
    queue_.emplace_back(key, std::move(task));
  }
  wake_.Signal();
}

void SerialExecutor::Run() {
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && queue_.empty()) wake_.Wait(&mu_);
      if (queue_.empty()) return;                // stopping, and nothing left to run
      queued_keys_.erase(queue_.front().first);  // from now on a new one is queued anew
      task = std::move(queue_.front().second);
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace mvirt::zfs
