#include "audit/audit_trail.h"

#include <grpcpp/support/interceptor.h>

#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/log.h"

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

AuditTrail::AuditTrail() : thread_([this] { Run(); }) {}

AuditTrail::~AuditTrail() {
  queue_.Close();
  thread_.join();
}

void AuditTrail::ForwardTo(std::unique_ptr<LogServiceClient> client) {
  MutexLock lock(&mu_);
  forward_ = std::move(client);
}

void AuditTrail::Begin(const void* call, absl::string_view method, absl::string_view object,
                       absl::string_view caller, absl::string_view peer) {
  AuditEvent event;
  event.start = absl::Now();
  event.method = std::string(method);
  event.object = std::string(object);
  event.caller = std::string(caller);
  event.peer = std::string(peer);
  MutexLock lock(&mu_);
  open_[call] = std::move(event);
}

void AuditTrail::NoteObjectId(const void* call, absl::string_view id) {
  if (id.empty()) return;
  MutexLock lock(&mu_);
  auto it = open_.find(call);
  if (it != open_.end()) it->second.object_ids.push_back(std::string(id));
}

void AuditTrail::End(const void* call, int code, absl::string_view message) {
  AuditEvent event;
  {
    MutexLock lock(&mu_);
    auto it = open_.find(call);
    if (it == open_.end()) return;  // not a mutation, or refused before it began
    event = std::move(it->second);
    open_.erase(it);
  }
  event.duration = absl::Now() - event.start;
  event.code = code;
  if (code != grpc::StatusCode::OK) {
    event.message = std::string(message.substr(0, kMaxMessageBytes));
    if (message.size() > kMaxMessageBytes) event.message += "...";
  }
  if (!queue_.TryPush(std::move(event))) {
    // The line cannot be written here (that is what may block); the count
    // is in the metrics and in the line of the next event that gets out.
    dropped_.fetch_add(1);
  }
}

std::optional<LogServiceClient::Counts> AuditTrail::forwarding() const {
  MutexLock lock(&mu_);
  if (forward_ == nullptr) return std::nullopt;
  return forward_->counts();
}

void AuditTrail::Run() {
  uint64_t dropped_reported = 0;
  while (true) {
    std::vector<AuditEvent> events = queue_.PopUpTo(256, absl::Now() + absl::Seconds(1));
    if (events.empty() && queue_.closed()) return;
    if (const uint64_t dropped = dropped_.load(); dropped > dropped_reported) {
      LogWarning("audit: ", dropped - dropped_reported,
                 " audit events were dropped: the log did not keep up");
      dropped_reported = dropped;
    }
    for (const AuditEvent& event : events) Write(event);
  }
}

void AuditTrail::Write(const AuditEvent& event) {
  LogInfo("audit: ", DescribeAuditEvent(event));
  MutexLock lock(&mu_);
  if (forward_ != nullptr) forward_->Send(event);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewAuditInterceptorFactory(
    AuditTrail& trail) {
  return std::make_unique<Factory>(trail);
}

}  // namespace mvirt::zfs
