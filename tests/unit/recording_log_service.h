// A LogService (mvirt-log's API) that keeps every entry it is sent, for
// the tests of audit forwarding: in-process (unit) and against the real
// daemon (real-ZFS suite).
#ifndef MVIRT_ZFS_TESTS_UNIT_RECORDING_LOG_SERVICE_H_
#define MVIRT_ZFS_TESTS_UNIT_RECORDING_LOG_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "mvirt_log.grpc.pb.h"

namespace mvirt::zfs::testing {

class RecordingLogService final : public mvirt::log::LogService::Service {
 public:
  // Keeps the entry and answers with the status set_answer() set (OK).
  grpc::Status Log(grpc::ServerContext*, const mvirt::log::LogRequest* request,
                   mvirt::log::LogResponse* response) override {
    MutexLock lock(&mu_);
    entries_.push_back(request->entry());
    response->set_id(request->entry().id());
    return answer_;
  }
  std::vector<mvirt::log::LogEntry> entries() {
    MutexLock lock(&mu_);
    return entries_;
  }
  void set_answer(grpc::Status answer) {
    MutexLock lock(&mu_);
    answer_ = std::move(answer);
  }
  // True once `n` entries came, false if they did not within `limit`.
  bool WaitForCount(size_t n, std::chrono::seconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (entries().size() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }
  // The entries whose message holds `text`, once there are `n` of them or
  // `limit` passed.
  std::vector<mvirt::log::LogEntry> WaitFor(const std::string& text, size_t n = 1,
                                            std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::vector<mvirt::log::LogEntry> found;
    while (true) {
      found.clear();
      for (const mvirt::log::LogEntry& e : entries()) {
        if (e.message().find(text) != std::string::npos) found.push_back(e);
      }
      if (found.size() >= n || std::chrono::steady_clock::now() > deadline) return found;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  Mutex mu_;
  std::vector<mvirt::log::LogEntry> entries_ ABSL_GUARDED_BY(mu_);
  grpc::Status answer_ ABSL_GUARDED_BY(mu_) = grpc::Status::OK;
};

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_UNIT_RECORDING_LOG_SERVICE_H_
