// LogServiceClient: forwards audit events to mvirt-log
// (mvirt.log.LogService/Log, one LogEntry each: level AUDIT, component
// "zfs", the objects' ids, the start time), the way the Rust mvirt-zfs did,
// but never in a call's way:
//  - Send only queues (bounded, `queue_capacity`); a full queue drops the
//    event and counts it;
//  - one thread takes what is queued in batches of up to `batch_size` and
//    sends them one call after the other on one channel (mvirt-log gets
//    them in the order they happened), each call within `call_timeout`;
//  - an event the service does not take for now (unreachable,
//    UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED...) goes back to
//    the front of the queue with the rest of its batch and is retried after
//    a backoff that doubles from `min_backoff` to `max_backoff`; an event
//    the service refuses for good (INVALID_ARGUMENT, PERMISSION_DENIED,
//    UNIMPLEMENTED, ...) is dropped and counted;
//  - a warning is logged when events are first dropped or the service
//    first fails, and when it answers again;
//  - at destruction what is queued gets `flush_timeout` to go, the rest is
//    dropped and counted.
// The endpoint is "https://HOST:PORT" (TLS: the CA in `ca_file`, else the
// system's roots; a client certificate when `cert_file` and `key_file` are
// given: mutual TLS with the node's certificates) or "http://HOST:PORT"
// (plaintext, for a log service on loopback or in tests).
#ifndef MVIRT_ZFS_AUDIT_LOG_SERVICE_CLIENT_H_
#define MVIRT_ZFS_AUDIT_LOG_SERVICE_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "audit/audit_event.h"
#include "audit/bounded_queue.h"
#include "mvirt_log.grpc.pb.h"

namespace mvirt::zfs {

struct LogServiceOptions {
  std::string endpoint;
  std::string ca_file, cert_file, key_file;
  size_t queue_capacity = 10000;
  size_t batch_size = 64;
  absl::Duration call_timeout = absl::Seconds(5);
  absl::Duration min_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(30);
  absl::Duration flush_timeout = absl::Seconds(2);
};

class LogServiceClient {
 public:
  struct Counts {
    uint64_t sent = 0;     // taken by the service
    uint64_t dropped = 0;  // never sent: queue full, refused for good, left at exit
    uint64_t queued = 0;   // waiting now
  };

  // INVALID_ARGUMENT for an endpoint that is not http(s)://HOST:PORT, a
  // certificate without its key; the error of a file that cannot be read.
  static absl::StatusOr<std::unique_ptr<LogServiceClient>> Create(LogServiceOptions options);
  ~LogServiceClient();
  LogServiceClient(const LogServiceClient&) = delete;
  LogServiceClient& operator=(const LogServiceClient&) = delete;

  // Queues `event`; never blocks.
  void Send(const AuditEvent& event);

  Counts counts() const;

 private:
  LogServiceClient(LogServiceOptions options, std::shared_ptr<grpc::Channel> channel);
  void Run();
  // Sends `batch` in order, each call ending by `deadline`; returns the
  // entries to retry.
  std::vector<mvirt::log::LogEntry> SendBatch(std::vector<mvirt::log::LogEntry> batch,
                                              absl::Time deadline);
  void Drop(uint64_t n, const std::string& why);

  const LogServiceOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<mvirt::log::LogService::Stub> stub_;
  BoundedQueue<mvirt::log::LogEntry> queue_;
  std::atomic<uint64_t> sent_{0}, dropped_{0};
  std::atomic<bool> warned_drop_{false};
  bool failing_ = false;  // only the sending thread uses it
  std::thread thread_;
};

// The LogEntry of `event`: a new id, its start time, "audit: <description>"
// as the message, level AUDIT, component "zfs", its objects' ids.
mvirt::log::LogEntry ToLogEntry(const AuditEvent& event);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_AUDIT_LOG_SERVICE_CLIENT_H_
