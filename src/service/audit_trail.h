// AuditTrail: one audit line per mutation, written when the call ends:
//   audit: CreateVolume volume 'vm-1' by uid 1000 from unix: -> OK in 0.412s
//   audit: DeleteVolume volume 'vm-2' by uid 0 from ipv6:[::1]:40812
//       -> FAILED_PRECONDITION (...message...) in 0.031s
// (who: the caller as the access check identified it and the peer address;
// what: the RPC and its object; the result: the gRPC code, the message of a
// failure, and the duration). CallGuard begins an entry for each allowed
// mutation; the server interceptor of NewAuditInterceptorFactory ends it
// when the call sends its status (or, for a call that ends without one, as
// CANCELLED). Thread-safe.
#ifndef MVIRT_ZFS_SERVICE_AUDIT_TRAIL_H_
#define MVIRT_ZFS_SERVICE_AUDIT_TRAIL_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace mvirt::zfs {

class AuditTrail {
 public:
  // A mutation starts on `call` (its server context).
  void Begin(const void* call, absl::string_view method, absl::string_view object,
             absl::string_view caller, absl::string_view peer);
  // The call ended with `code` and `message`: logs its line if it began.
  void End(const void* call, int code, absl::string_view message);

 private:
  struct Entry {
    std::string method, object, caller, peer;
    absl::Time start;
  };
  Mutex mu_;
  absl::flat_hash_map<const void*, Entry> open_ ABSL_GUARDED_BY(mu_);
};

// For grpc::ServerBuilder::experimental().SetInterceptorCreators; `trail`
// must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewAuditInterceptorFactory(
    AuditTrail& trail);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_SERVICE_AUDIT_TRAIL_H_
