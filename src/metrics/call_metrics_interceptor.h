// CallMetricsInterceptor: a gRPC server interceptor that reports every
// finished RPC (method, status code, time from its start to its status) to
// Metrics. One place for every service of the server (ours, health,
// reflection), no code in the handlers.
#ifndef MVIRT_ZFS_METRICS_CALL_METRICS_INTERCEPTOR_H_
#define MVIRT_ZFS_METRICS_CALL_METRICS_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "metrics/metrics.h"

namespace mvirt::zfs {

// For grpc::ServerBuilder::experimental().SetInterceptorCreators. `metrics`
// must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewCallMetricsInterceptorFactory(Metrics& metrics);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_METRICS_CALL_METRICS_INTERCEPTOR_H_
