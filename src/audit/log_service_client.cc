#include "audit/log_service_client.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/names.h"
#include "common/net_address.h"
#include "common/posix_error.h"
#include "common/status_util.h"

namespace mvirt::zfs {
namespace {

using mvirt::log::LogEntry;

// How often the certificate files are read again (renewed certificates).
constexpr int kTlsRefreshSeconds = 600;

// Codes after which the same entry may be taken later: the service is away,
// busy or slow. Any other refusal would refuse the entry again.
bool Retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
      return true;
    default:
      return false;
  }
}

absl::Status Readable(const std::string& what, const std::string& path) {
  if (path.empty() || ::access(path.c_str(), R_OK) == 0) return absl::OkStatus();
  return PosixError(absl::StrCat(what, " ", path), errno);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(const LogServiceOptions& o,
                                                                      bool tls) {
  if (!tls) return grpc::InsecureChannelCredentials();
  if (o.cert_file.empty() != o.key_file.empty()) {
    return absl::InvalidArgumentError(
        "the log service's client certificate needs both its certificate and its key");
  }
  for (const auto& [what, path] : {std::pair<std::string, std::string>{"CA file", o.ca_file},
                                   {"certificate", o.cert_file},
                                   {"key", o.key_file}}) {
    if (absl::Status s = Readable(what, path); !s.ok()) return s;
  }
  grpc::experimental::TlsChannelCredentialsOptions tls_options;
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (!o.cert_file.empty() && !o.ca_file.empty()) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        o.key_file, o.cert_file, o.ca_file, kTlsRefreshSeconds);
  } else if (!o.cert_file.empty()) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        o.key_file, o.cert_file, kTlsRefreshSeconds);
  } else if (!o.ca_file.empty()) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        o.ca_file, kTlsRefreshSeconds);
  }
  if (provider != nullptr) {
    tls_options.set_certificate_provider(provider);
    if (!o.ca_file.empty()) tls_options.watch_root_certs();
    if (!o.cert_file.empty()) tls_options.watch_identity_key_cert_pairs();
  }
  tls_options.set_verify_server_certs(true);
  return grpc::experimental::TlsCredentials(tls_options);
}

}  // namespace

LogEntry ToLogEntry(const AuditEvent& event) {
  LogEntry entry;
  entry.set_id(NewUuid());
  entry.set_timestamp_ns(absl::ToUnixNanos(event.start));
  entry.set_message(absl::StrCat("audit: ", DescribeAuditEvent(event)));
  entry.set_level(mvirt::log::AUDIT);
  entry.set_component("zfs");
  for (const std::string& id : event.object_ids) entry.add_related_object_ids(id);
  return entry;
}

absl::StatusOr<std::unique_ptr<LogServiceClient>> LogServiceClient::Create(
    LogServiceOptions options) {
  absl::string_view rest = options.endpoint;
  const bool tls = absl::ConsumePrefix(&rest, "https://");
  if (!tls && !absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "log endpoint '", options.endpoint, "': expected https://HOST:PORT or http://HOST:PORT"));
  }
  absl::ConsumeSuffix(&rest, "/");
  if (absl::StatusOr<HostPort> hp = ParseHostPort(rest); !hp.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("log endpoint '", options.endpoint, "': ", hp.status().message()));
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = Credentials(options, tls);
  if (!credentials.ok()) return credentials.status();
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(std::string(rest), *credentials);
  return std::unique_ptr<LogServiceClient>(
      new LogServiceClient(std::move(options), std::move(channel)));
}

LogServiceClient::LogServiceClient(LogServiceOptions options,
                                   std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(mvirt::log::LogService::NewStub(channel_)),
      queue_(options_.queue_capacity) {
  thread_ = std::thread([this] { Run(); });
}

LogServiceClient::~LogServiceClient() {
  queue_.Close();
  thread_.join();
}

void LogServiceClient::Send(const AuditEvent& event) {
  if (!queue_.TryPush(ToLogEntry(event))) Drop(1, "its queue is full");
}

LogServiceClient::Counts LogServiceClient::counts() const {
  return Counts{sent_.load(), dropped_.load(), queue_.size()};
}

void LogServiceClient::Drop(uint64_t n, const std::string& why) {
  if (n == 0) return;
  const uint64_t before = dropped_.fetch_add(n);
  // Warn at the first drop and whenever the total passes a power of ten.
  uint64_t mark = 1;
  while (mark <= before) mark *= 10;
  if (before + n >= mark) {
    LogWarning("mvirt-log at ", options_.endpoint, ": ", before + n,
               " audit events dropped so far (", why, ")");
  }
}

void LogServiceClient::Run() {
  absl::Duration backoff = options_.min_backoff;
  absl::Time flush_deadline = absl::InfiniteFuture();
  while (true) {
    if (queue_.closed() && flush_deadline == absl::InfiniteFuture()) {
      flush_deadline = absl::Now() + options_.flush_timeout;
    }
    if (queue_.closed() && (queue_.size() == 0 || absl::Now() >= flush_deadline)) break;
    std::vector<LogEntry> batch = queue_.PopUpTo(
        options_.batch_size, std::min(absl::Now() + absl::Seconds(1), flush_deadline));
    if (batch.empty()) continue;
    std::vector<LogEntry> retry =
        SendBatch(std::move(batch), std::min(absl::Now() + options_.call_timeout, flush_deadline));
    if (retry.empty()) {
      backoff = options_.min_backoff;
      continue;
    }
    Drop(queue_.PushFront(std::move(retry)), "its queue is full");
    // Back off, but not past the end of a flush.
    // A stop ends the pause at once (the flush then has its own deadline);
    // during the flush, the pause ends at its deadline.
    const absl::Time resume = std::min(absl::Now() + backoff, flush_deadline);
    if (flush_deadline == absl::InfiniteFuture()) {
      queue_.WaitClosed(resume);
    } else {
      absl::SleepFor(resume - absl::Now());
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  const std::vector<LogEntry> left = queue_.PopUpTo(options_.queue_capacity, absl::Now());
  Drop(left.size(), "mvirt-zfs stopped before they could be sent");
}

std::vector<LogEntry> LogServiceClient::SendBatch(std::vector<LogEntry> batch,
                                                  absl::Time deadline) {
  // One call after the other, so that mvirt-log receives the events in the
  // order they happened; the first the service does not take for now ends
  // the batch, and it and the rest are retried later, in order.
  std::string failure;
  uint64_t refused = 0;
  size_t next = 0;
  for (; next < batch.size(); ++next) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    mvirt::log::LogRequest request;
    *request.mutable_entry() = batch[next];
    mvirt::log::LogResponse response;
    const grpc::Status status = stub_->Log(&context, request, &response);
    if (status.ok()) {
      ++sent_;
      continue;
    }
    failure = absl::StrCat(StatusCodeName(status.error_code()), ": ", status.error_message());
    if (Retryable(status.error_code())) break;
    ++refused;
  }
  std::vector<LogEntry> retry(std::make_move_iterator(batch.begin() + next),
                              std::make_move_iterator(batch.end()));
  if (!failure.empty() && !failing_) {
    LogWarning("mvirt-log at ", options_.endpoint, " did not take audit events (", failure, "); ",
               retry.empty() ? "dropped" : "retrying");
    failing_ = true;
  } else if (failure.empty() && failing_) {
    LogInfo("mvirt-log at ", options_.endpoint, " takes audit events again");
    failing_ = false;
  }
  Drop(refused, "refused by the log service");
  return retry;
}

}  // namespace mvirt::zfs
