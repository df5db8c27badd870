#include "cli/client.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace mvirt::zfs::cli {

namespace {

std::shared_ptr<grpc::Channel> NewChannel(const std::string& endpoint) {
  grpc::ChannelArguments args;
  // gRPC's default of 4 MiB would cut off ListVolumes of a large pool.
  args.SetMaxReceiveMessageSize(kMaxReplyBytes);
  return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

ZfsClient::ZfsClient(const ConnectionOptions& options)
    : options_(options),
      channel_(NewChannel(options.endpoint)),
      stub_(ZfsService::NewStub(channel_)) {}

std::unique_ptr<grpc::ClientContext> ZfsClient::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  auto timeout = std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::duration<double>(options_.timeout_seconds));
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return absl::StrCat("CODE_", static_cast<int>(code));
  }
}

std::string DescribeRpcError(const grpc::Status& status, const ConnectionOptions& options) {
  std::string message = absl::StrReplaceAll(absl::StripAsciiWhitespace(status.error_message()),
                                            {{"\r\n", "; "}, {"\n", "; "}});
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      message = absl::StrCat("cannot reach mvirt-zfs daemon at ", options.endpoint, ": ", message);
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      message = absl::StrCat(message, " (no answer from ", options.endpoint, " within --timeout ",
                             options.timeout_seconds, "s)");
      break;
    default:
      break;
  }
  return absl::StrCat(StatusCodeName(status.error_code()), ": ", message);
}

}  // namespace mvirt::zfs::cli
