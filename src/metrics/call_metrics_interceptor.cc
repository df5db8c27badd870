#include "metrics/call_metrics_interceptor.h"

#include <grpcpp/support/interceptor.h>

#include <string>

#include "absl/time/clock.h"

namespace mvirt::zfs {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Lives as long as one RPC (gRPC creates it when the call starts and
// deletes it when the call is done).
class CallMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  CallMetricsInterceptor(Metrics& metrics, const char* method)
      : metrics_(metrics), method_(method == nullptr ? "" : method), start_(absl::Now()) {}

  ~CallMetricsInterceptor() override {
    // A call that ended without sending a status (the client went away).
    if (!recorded_) metrics_.RecordCall(method_, grpc::StatusCode::CANCELLED, absl::Now() - start_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_.RecordCall(method_, methods->GetSendStatus().error_code(), absl::Now() - start_);
      recorded_ = true;
    }
    methods->Proceed();
  }

 private:
  Metrics& metrics_;
  const std::string method_;
  const absl::Time start_;
  bool recorded_ = false;  // the call's batches run one at a time
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(Metrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallMetricsInterceptor(metrics_, info->method());
  }

 private:
  Metrics& metrics_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewCallMetricsInterceptorFactory(Metrics& metrics) {
  return std::make_unique<Factory>(metrics);
}

}  // namespace mvirt::zfs
