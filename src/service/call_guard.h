// CallGuard: what every RPC handler does first. It asks the Authorizer
// whether the caller may call (the status to return if not), begins the
// audit entry of a mutation (method, object, caller; AuditTrail writes the
// line when the call ends, with its result), and makes the call's
// deadline and cancellation the thread's CallContext until the handler
// returns, so that waits below end with the call.
#ifndef MVIRT_ZFS_SERVICE_CALL_GUARD_H_
#define MVIRT_ZFS_SERVICE_CALL_GUARD_H_

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "access/authorizer.h"
#include "audit/audit_trail.h"
#include "common/call_context.h"

namespace mvirt::zfs {

class CallGuard {
 public:
  // `object` names what a mutation changes ("volume 'vm-1'"); empty for
  // reads, which are not audited.
  CallGuard(grpc::ServerContextBase* ctx, const Authorizer& authorizer, AuditTrail& audit,
            absl::string_view method, absl::string_view object = "");
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;

  bool allowed() const { return status_.ok(); }
  // The reply names the object `id`: the audit event carries it.
  void NoteObjectId(absl::string_view id) { audit_.NoteObjectId(ctx_, id); }
  // PERMISSION_DENIED if the caller may not call.
  const grpc::Status& status() const { return status_; }

 private:
  grpc::ServerContextBase* const ctx_;
  AuditTrail& audit_;
  grpc::Status status_;
  std::optional<ScopedCallContext> scope_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_SERVICE_CALL_GUARD_H_
