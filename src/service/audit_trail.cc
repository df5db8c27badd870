#include "service/audit_trail.h"

#include <grpcpp/support/interceptor.h>

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_util.h"

namespace mvirt::zfs {
namespace {

// A failure's message in the audit line is cut here (the full message went
// to the caller).
constexpr size_t kMaxMessageBytes = 300;

using grpc::experimental::InterceptionHookPoints;

// Lives as long as one call.
class AuditInterceptor : public grpc::experimental::Interceptor {
 public:
  AuditInterceptor(AuditTrail& trail, const void* call) : trail_(trail), call_(call) {}
  ~AuditInterceptor() override {
    if (!ended_) trail_.End(call_, grpc::StatusCode::CANCELLED, "the call ended without a status");
  }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      trail_.End(call_, status.error_code(), status.error_message());
      ended_ = true;
    }
    methods->Proceed();
  }

 private:
  AuditTrail& trail_;
  const void* const call_;
  bool ended_ = false;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(AuditTrail& trail) : trail_(trail) {}
  // Only ZfsService's unary calls: every mutation is one, and they run on
  // the synchronous server, where one thread creates, runs and deletes the
  // interceptor. (Streams and gRPC's own services run on the callback API,
  // whose hand-over between threads happens inside libgrpc.)
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (info->type() != grpc::experimental::ServerRpcInfo::Type::UNARY) return nullptr;
    const char* method = info->method();
    if (method == nullptr || !absl::StartsWith(method, "/mvirt.zfs.ZfsService/")) return nullptr;
    return new AuditInterceptor(trail_, info->server_context());
  }

 private:
  AuditTrail& trail_;
};

}  // namespace

void AuditTrail::Begin(const void* call, absl::string_view method, absl::string_view object,
                       absl::string_view caller, absl::string_view peer) {
  MutexLock lock(&mu_);
  open_[call] = Entry{std::string(method), std::string(object), std::string(caller),
                      std::string(peer), absl::Now()};
}

void AuditTrail::End(const void* call, int code, absl::string_view message) {
  std::optional<Entry> entry;
  {
    MutexLock lock(&mu_);
    auto it = open_.find(call);
    if (it == open_.end()) return;  // not a mutation, or refused before it began
    entry = std::move(it->second);
    open_.erase(it);
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - entry->start);
  std::string result = StatusCodeName(code);
  if (code != grpc::StatusCode::OK && !message.empty()) {
    absl::StrAppend(&result, " (", message.substr(0, kMaxMessageBytes),
                    message.size() > kMaxMessageBytes ? "..." : "", ")");
  }
  LogInfo("audit: ", entry->method, " ", entry->object, " by ", entry->caller, " from ",
          entry->peer, " -> ", result, absl::StrFormat(" in %.3fs", seconds));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewAuditInterceptorFactory(
    AuditTrail& trail) {
  return std::make_unique<Factory>(trail);
}

}  // namespace mvirt::zfs
