// AuditTrail: one audit event per mutation, made when the call ends:
//   audit: CreateVolume volume 'vm-1' by uid 1000 (pid 42) on unix socket
//       from fd:7 -> OK in 0.412s
//   audit: DeleteVolume volume 'vm-2' by TLS client 'CN=node-1' at ...
//       -> FAILED_PRECONDITION (...message...) in 0.031s
// (who: the caller as the access check identified it and the peer address;
// what: the RPC, its object and the ids its reply named; the result: the
// gRPC code, the message of a failure, and the duration). CallGuard begins
// an entry for each allowed mutation; the server interceptor of
// NewAuditInterceptorFactory ends it when the call sends its status (or,
// for a call that ends without one, as CANCELLED).
//
// Never in the call's way: ending an entry only queues the event (bounded;
// a full queue drops it and counts it); a thread of the trail's own writes
// each event's line to the log (stderr, journald under systemd: a blocked
// or full log holds up that thread, never a call) and hands it to
// mvirt-log's client if one is attached. Thread-safe.
#ifndef MVIRT_ZFS_AUDIT_AUDIT_TRAIL_H_
#define MVIRT_ZFS_AUDIT_AUDIT_TRAIL_H_

#include <grpcpp/support/server_interceptor.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "audit/audit_event.h"
#include "audit/bounded_queue.h"
#include "audit/log_service_client.h"
#include "common/mutex.h"

namespace mvirt::zfs {

class AuditTrail {
 public:
  // Events waiting for their line; more are dropped (and counted).
  static constexpr size_t kQueueCapacity = 10000;

  AuditTrail();
  // Writes (and forwards) what is queued, then stops.
  ~AuditTrail();
  AuditTrail(const AuditTrail&) = delete;
  AuditTrail& operator=(const AuditTrail&) = delete;

  // Every event from now on also goes to mvirt-log through `client`.
  void ForwardTo(std::unique_ptr<LogServiceClient> client);

  // A mutation starts on `call` (its server context).
  void Begin(const void* call, absl::string_view method, absl::string_view object,
             absl::string_view caller, absl::string_view peer);
  // The reply of `call` names the object `id` (a volume's, a snapshot's...).
  void NoteObjectId(const void* call, absl::string_view id);
  // The call ended with `code` and `message`: queues its event if it began.
  void End(const void* call, int code, absl::string_view message);

  // Events dropped because the queue was full.
  uint64_t dropped() const { return dropped_.load(); }
  // mvirt-log's figures, if a client is attached.
  std::optional<LogServiceClient::Counts> forwarding() const;

 private:
  void Run();
  void Write(const AuditEvent& event);

  mutable Mutex mu_;
  absl::flat_hash_map<const void*, AuditEvent> open_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<LogServiceClient> forward_ ABSL_GUARDED_BY(mu_);
  BoundedQueue<AuditEvent> queue_{kQueueCapacity};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

// For grpc::ServerBuilder::experimental().SetInterceptorCreators; `trail`
// must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewAuditInterceptorFactory(
    AuditTrail& trail);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_AUDIT_AUDIT_TRAIL_H_
