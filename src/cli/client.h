// The connection to the mvirt-zfs daemon: channel, stub and per-call deadline.
#ifndef MVIRT_ZFS_CLI_CLIENT_H_
#define MVIRT_ZFS_CLI_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "mvirt_zfs.grpc.pb.h"

namespace mvirt::zfs::cli {

// Where the daemon listens and how long one call may take.
// The largest reply accepted: ListVolumes of 10,000 volumes with 10
// snapshots each is about 20 MB (unit-tested).
inline constexpr int kMaxReplyBytes = 256 << 20;

struct ConnectionOptions {
  // A gRPC target: "host:port" or "unix:/path/to/socket".
  std::string endpoint = "localhost:50053";
  // Deadline of each RPC, counted from when its context is made.
  double timeout_seconds = 60;
};

// A unary RPC of the generated stub, e.g. &ZfsService::Stub::GetVolume.
template <typename Request, typename Response>
using UnaryMethod = grpc::Status (ZfsService::Stub::*)(grpc::ClientContext*, const Request&,
                                                       Response*);

// A server-streaming RPC of the generated stub, e.g.
// &ZfsService::Stub::WatchVolumes.
template <typename Request, typename Response>
using StreamMethod = std::unique_ptr<grpc::ClientReader<Response>> (ZfsService::Stub::*)(
    grpc::ClientContext*, const Request&);

// A client of ZfsService. The channel is insecure: the daemon only listens
// on local addresses. Connecting is lazy; an unreachable endpoint shows up as
// UNAVAILABLE from the first call (calls fail fast, not wait-for-ready).
class ZfsClient {
 public:
  explicit ZfsClient(const ConnectionOptions& options);

  // Calls `method` with a fresh context (see NewContext).
  template <typename Request, typename Response>
  grpc::Status Call(UnaryMethod<Request, Response> method, const Request& request,
                    Response* response) {
    std::unique_ptr<grpc::ClientContext> context = NewContext();
    return (stub_.get()->*method)(context.get(), request, response);
  }

  // Calls the server-streaming `method` and passes each message to
  // on_message(const Response&) as it arrives; returns how the stream ended.
  // No deadline: the call lasts until the daemon ends the stream or the
  // process is interrupted.
  template <typename Request, typename Response, typename OnMessage>
  grpc::Status Stream(StreamMethod<Request, Response> method, const Request& request,
                      OnMessage on_message) {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<Response>> reader =
        (stub_.get()->*method)(&context, request);
    Response message;
    while (reader->Read(&message)) on_message(message);
    return reader->Finish();
  }

  // A context whose deadline is now + timeout_seconds (unary calls).
  std::unique_ptr<grpc::ClientContext> NewContext() const;

  ZfsService::Stub& stub() { return *stub_; }
  // The channel, for the daemon's other services (grpc.health.v1.Health).
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  ConnectionOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ZfsService::Stub> stub_;
};

// "NOT_FOUND", "UNAVAILABLE", ...: the canonical name of a gRPC status code.
std::string StatusCodeName(grpc::StatusCode code);

// "<CODE_NAME>: <message>" on one line (newlines in the message are folded).
// UNAVAILABLE names the endpoint that could not be reached, and
// DEADLINE_EXCEEDED the timeout that expired. `status` must not be OK.
std::string DescribeRpcError(const grpc::Status& status, const ConnectionOptions& options);

}  // namespace mvirt::zfs::cli

#endif  // MVIRT_ZFS_CLI_CLIENT_H_
