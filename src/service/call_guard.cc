#include "service/call_guard.h"

#include "absl/time/time.h"
#include "common/log.h"
#include "service/convert.h"

namespace mvirt::zfs {

CallGuard::CallGuard(grpc::ServerContextBase* ctx, const Authorizer& authorizer, AuditTrail& audit,
                     absl::string_view method, absl::string_view object)
    : ctx_(ctx), audit_(audit) {
  absl::StatusOr<std::string> caller = authorizer.Authorize(*ctx);
  if (!caller.ok()) {
    LogWarning("refused ", method, " from ", ctx->peer(), ": ", caller.status().message());
    status_ = ToGrpcStatus(caller.status());
    return;
  }
  if (!object.empty()) {
    LogDebug(method, " ", object, " by ", *caller, " begins");
    audit.Begin(ctx, method, object, *caller, ctx->peer());
  }
  CallContext context;
  context.deadline = absl::FromChrono(ctx->deadline());
  context.cancelled = [ctx] { return ctx->IsCancelled(); };
  scope_.emplace(std::move(context));
}

}  // namespace mvirt::zfs
