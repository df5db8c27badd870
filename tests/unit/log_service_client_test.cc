// LogServiceClient against a LogService server the test runs in-process on
// loopback: what each entry carries, retries while the service is away,
// drops (full queue, refused for good), and the endpoint checks.
#include "audit/log_service_client.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "common/mutex.h"
#include "recording_log_service.h"

namespace mvirt::zfs {
namespace {

using ::mvirt::log::LogEntry;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using testing::RecordingLogService;

class LogServer {
 public:
  explicit LogServer(int port = 0) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~LogServer() { server_->Shutdown(std::chrono::system_clock::now()); }
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  RecordingLogService& service() { return service_; }

 private:
  RecordingLogService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

AuditEvent Event(const std::string& object, std::vector<std::string> ids = {}) {
  AuditEvent e;
  e.start = absl::FromUnixSeconds(1800000000);
  e.duration = absl::Milliseconds(412);
  e.method = "CreateVolume";
  e.object = object;
  e.object_ids = std::move(ids);
  e.caller = "uid 0 (pid 42) on unix socket";
  e.peer = "fd:7";
  return e;
}

// The client counts an entry after its call returned, which is after the
// service has it: a test that saw the service get it waits for the count.
bool Eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 1000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

LogServiceOptions Fast(const std::string& endpoint) {
  LogServiceOptions o;
  o.endpoint = endpoint;
  o.call_timeout = absl::Seconds(2);
  o.min_backoff = absl::Milliseconds(50);
  o.max_backoff = absl::Milliseconds(200);
  return o;
}

TEST(LogServiceClient, EachEventIsOneAuditEntryOfComponentZfs) {
  LogServer server;
  auto client = LogServiceClient::Create(Fast(server.endpoint()));
  ASSERT_TRUE(client.ok()) << client.status();
  (*client)->Send(Event("volume 'vm-1'", {"11111111-1111-4111-8111-111111111111"}));
  AuditEvent failed = Event("volume 'vm-2'");
  failed.code = 6;
  failed.message = "create volume 'vm-2': exists";
  (*client)->Send(failed);
  ASSERT_TRUE(server.service().WaitForCount(2));
  std::vector<LogEntry> got = server.service().entries();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].level(), mvirt::log::AUDIT);
  EXPECT_EQ(got[0].component(), "zfs");
  EXPECT_EQ(got[0].timestamp_ns(), int64_t{1800000000} * 1000000000);
  EXPECT_EQ(got[0].message(),
            "audit: CreateVolume volume 'vm-1' by uid 0 (pid 42) on unix socket from fd:7 -> OK "
            "in 0.412s");
  EXPECT_THAT(got[0].related_object_ids(), ElementsAre("11111111-1111-4111-8111-111111111111"));
  EXPECT_EQ(got[0].id().size(), 36u) << "a UUID";
  EXPECT_NE(got[0].id(), got[1].id());
  EXPECT_THAT(got[1].message(),
              HasSubstr("-> ALREADY_EXISTS (create volume 'vm-2': exists) in 0.412s"));
  EXPECT_TRUE(got[1].related_object_ids().empty());
  EXPECT_TRUE(Eventually([&] { return (*client)->counts().sent == 2; }))
      << (*client)->counts().sent;
  EXPECT_EQ((*client)->counts().dropped, 0u);
}

TEST(LogServiceClient, EventsWaitWhileTheServiceIsAwayAndArriveInOrderWhenItIsBack) {
  int port = 0;
  { port = LogServer().port(); }  // a free port, nobody listening now
  auto client = LogServiceClient::Create(Fast("http://127.0.0.1:" + std::to_string(port)));
  ASSERT_TRUE(client.ok()) << client.status();
  for (int i = 0; i < 5; ++i) (*client)->Send(Event("volume 'v" + std::to_string(i) + "'"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // some attempts fail
  EXPECT_EQ((*client)->counts().sent, 0u);
  EXPECT_EQ((*client)->counts().dropped, 0u);
  LogServer server(port);
  ASSERT_EQ(server.port(), port);
  ASSERT_TRUE(server.service().WaitForCount(5));
  std::vector<LogEntry> got = server.service().entries();
  ASSERT_EQ(got.size(), 5u) << "each event once";
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(got[i].message(), HasSubstr("volume 'v" + std::to_string(i) + "'"));
  }
  EXPECT_TRUE(Eventually([&] { return (*client)->counts().sent == 5; }))
      << (*client)->counts().sent;
}

TEST(LogServiceClient, AFullQueueDropsAndCounts) {
  int port = 0;
  { port = LogServer().port(); }
  LogServiceOptions o = Fast("http://127.0.0.1:" + std::to_string(port));
  o.queue_capacity = 2;
  o.batch_size = 1;
  o.flush_timeout = absl::Milliseconds(100);
  auto client = LogServiceClient::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  for (int i = 0; i < 10; ++i) (*client)->Send(Event("volume 'v'"));
  // At most one in flight and two queued: the others were dropped at once.
  LogServiceClient::Counts c = (*client)->counts();
  EXPECT_GE(c.dropped, 7u);
  EXPECT_LE(c.queued, 2u);
  EXPECT_EQ(c.sent, 0u);
  client->reset();  // what is left is dropped at the end, and counted
}

TEST(LogServiceClient, AStopEndsAPauseBetweenRetriesAtOnce) {
  int port = 0;
  { port = LogServer().port(); }  // nobody listening: every attempt fails
  LogServiceOptions o = Fast("http://127.0.0.1:" + std::to_string(port));
  o.min_backoff = absl::Seconds(60);
  o.max_backoff = absl::Seconds(60);
  o.flush_timeout = absl::Milliseconds(200);
  auto client = LogServiceClient::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  (*client)->Send(Event("volume 'v'"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // failed once, pausing now
  const absl::Time start = absl::Now();
  client->reset();
  // The stop does not sit out the 60 s pause: it flushes (one more attempt,
  // at most the flush timeout) and drops what is left.
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

TEST(LogServiceClient, AnEntryRefusedForGoodIsDroppedNotRetried) {
  LogServer server;
  server.service().set_answer(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no"));
  auto client = LogServiceClient::Create(Fast(server.endpoint()));
  ASSERT_TRUE(client.ok()) << client.status();
  (*client)->Send(Event("volume 'v'"));
  ASSERT_TRUE(server.service().WaitForCount(1));
  EXPECT_TRUE(Eventually([&] { return (*client)->counts().dropped == 1; }))
      << (*client)->counts().dropped;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a retry would be back by now
  EXPECT_EQ(server.service().entries().size(), 1u) << "not sent again";
  EXPECT_EQ((*client)->counts().dropped, 1u);
  // A service that is only busy gets the entry again.
  server.service().set_answer(grpc::Status(grpc::StatusCode::UNAVAILABLE, "busy"));
  (*client)->Send(Event("volume 'w'"));
  ASSERT_TRUE(server.service().WaitForCount(3));
  server.service().set_answer(grpc::Status::OK);
  EXPECT_TRUE(Eventually([&] { return (*client)->counts().sent == 1; }))
      << (*client)->counts().sent;
}

TEST(LogServiceClient, BadEndpointsAndHalfACertificateAreRefused) {
  for (const char* endpoint : {"127.0.0.1:50052", "ftp://127.0.0.1:1", "https://", "http://host"}) {
    auto client = LogServiceClient::Create(Fast(endpoint));
    EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument) << endpoint;
  }
  LogServiceOptions o = Fast("https://[::1]:50052");
  o.cert_file = "/etc/hostname";
  EXPECT_EQ(LogServiceClient::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.key_file = "/nonexistent/key.pem";
  EXPECT_EQ(LogServiceClient::Create(o).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace mvirt::zfs
