// Hostile input against the real daemon on real ZFS: bytes that are not
// UTF-8, names that try to forge audit lines, sizes and ids at their edges,
// unknown objects and oversized messages. Each call gets its own status
// code, and every refusal leaves the pool's properties exactly as they were
// (PoolState). Names in every RPC position are covered by
// VolumeApiTest.EveryRpcTakingANameRefusesBadNamesAndChangesNothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api_fixture.h"
#include "grpc_status_matchers.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class HostileInputTest : public ApiTest {
 protected:
  // Only the plain names this file creates go to the shell for clean-up;
  // the hostile ones were refused and must not be pasted into a command.
  void TearDown() override {
    std::erase_if(cleanup_, [](const std::string& name) {
      return name.empty() || name.size() > 64 ||
             name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos;
    });
    ApiTest::TearDown();
  }
  // True if the daemon still answers.
  bool Serving() {
    grpc::ClientContext ctx;
    VersionInfo version;
    return stub_->GetVersion(&ctx, GetVersionRequest(), &version).ok();
  }
};

TEST_F(HostileInputTest, NamesThatAreNotUtf8AreRefusedByTheWireLayerAndChangeNothing) {
  const std::string before = PoolState(kPool);
  Volume v;
  // proto3 strings must be UTF-8: gRPC's C++ server cannot parse such a
  // request and answers INTERNAL before any handler runs.
  EXPECT_THAT(Create("\xff\xfe", kMiB, &v), GrpcStatusIs(grpc::StatusCode::INTERNAL));
  EXPECT_THAT(Create("a\xc3", kMiB, &v), GrpcStatusIs(grpc::StatusCode::INTERNAL));
  EXPECT_THAT(Delete("\xc0\xaf"), GrpcStatusIs(grpc::StatusCode::INTERNAL));
  EXPECT_EQ(PoolState(kPool), before);
  EXPECT_TRUE(Serving());
}

TEST_F(HostileInputTest, ANameCannotForgeAnAuditLine) {
  const std::string forged = "2026-01-01T00:00:00.000Z INFO audit: DeleteVolume volume 'vm'";
  Volume v;
  EXPECT_THAT(Create("x\n" + forged, kMiB, &v),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("x\\x0a2026")));
  const std::string log = TestPool::daemon().WaitForLog("audit: CreateVolume volume 'x\\x0a");
  EXPECT_THAT(log, HasSubstr("audit: CreateVolume volume 'x\\x0a" + forged));
  EXPECT_THAT(log, Not(HasSubstr("\n" + forged))) << "a line of the log starts with the forgery";
}

TEST_F(HostileInputTest, AHugeNameIsRefusedAndLoggedCut) {
  const std::string before = PoolState(kPool);
  Volume v;
  EXPECT_THAT(Create(std::string(1 << 20, 'n'), kMiB, &v),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("too long")));
  EXPECT_THAT(TestPool::daemon().WaitForLog(" more bytes)"), HasSubstr(" more bytes)"));
  EXPECT_EQ(PoolState(kPool), before);
}

TEST_F(HostileInputTest, MessagesOverTheLimitAreResourceExhaustedAndChangeNothing) {
  const std::string before = PoolState(kPool);
  Volume v;
  // 64 MiB, far over the daemon's 4 MiB request limit: refused by gRPC
  // before it reaches a handler; the daemon serves on.
  EXPECT_THAT(Create(std::string(64 << 20, 'n'), kMiB, &v),
              GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  CreateSnapshotsRequest many;
  for (int i = 0; i < 600000; ++i) many.add_volume_names("volume-name-of-some-length");
  many.set_snapshot_name("s");
  grpc::ClientContext ctx;
  CreateSnapshotsResponse out;
  EXPECT_THAT(stub_->CreateSnapshots(&ctx, many, &out),
              GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(PoolState(kPool), before);
  EXPECT_TRUE(Serving());
}

TEST_F(HostileInputTest, SizesAtTheEdges) {
  constexpr uint64_t k16K = 16384;
  struct Rounded {
    std::string name;
    uint64_t size;
    std::optional<uint32_t> volblocksize;
    uint64_t volsize;  // what ZFS must hold
  };
  const Rounded rounded[] = {
      {"edge-one", 1, {}, k16K},
      {"edge-unaligned", 64 * k16K + 1, {}, 65 * k16K},
      {"edge-4k", 4097, 4096, 8192},
  };
  for (const Rounded& r : rounded) {
    Volume v;
    ASSERT_THAT(Create(r.name, r.size, &v, "", r.volblocksize), GrpcIsOk()) << r.name;
    EXPECT_EQ(v.volsize_bytes(), r.volsize) << r.name;
    EXPECT_EQ(ZfsGet(kPool + "/" + r.name, "volsize"), std::to_string(r.volsize)) << r.name;
  }

  const std::string before = PoolState(kPool);
  struct Refused {
    uint64_t size;
    std::string says;
  };
  const Refused refused[] = {
      {0, "greater than 0"},
      {1ULL << 63, "exceeds the capacity of pool"},
      {UINT64_MAX, "overflows"},
      {UINT64_MAX - k16K + 2, "overflows"},
  };
  for (const Refused& r : refused) {
    Volume v;
    EXPECT_THAT(Create("edge-refused", r.size, &v),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr(r.says)))
        << r.size;
    EXPECT_THAT(Resize("edge-one", r.size, &v),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr(r.says)))
        << r.size;
  }
  Volume v;
  EXPECT_THAT(Resize("edge-unaligned", 64 * k16K, &v),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("shrink")));
  EXPECT_EQ(PoolState(kPool), before);

  // Growing by one byte rounds up to the next block.
  ASSERT_THAT(Resize("edge-unaligned", 65 * k16K + 1, &v), GrpcIsOk());
  EXPECT_EQ(ZfsGet(kPool + "/edge-unaligned", "volsize"), std::to_string(66 * k16K));
}

TEST_F(HostileInputTest, MalformedIdsAreInvalidArgumentAndReusedOnesAlreadyExist) {
  Volume owner;
  ASSERT_THAT(Create("id-owner", 16 * kMiB, &owner, kId1), GrpcIsOk());
  ASSERT_THAT(Snapshot("id-owner", "s"), GrpcIsOk());
  const std::string before = PoolState(kPool);

  const std::string malformed[] = {
      "x",
      "11111111-2222-4333-8444-55555555555",    // one digit short
      "11111111-2222-4333-8444-5555555555555",  // one digit more
      "11111111-2222-4333-8444-55555555555g",   // not hex
      "111111112222-4333-8444-5555555555555",   // dash misplaced
      "{11111111-2222-4333-8444-555555555555}",
      std::string("11111111-2222-4333-8444-55555555555") + '\0',
      "11111111-2222-4333-8444-55555555555\n",
  };
  for (const std::string& id : malformed) {
    Volume v;
    EXPECT_THAT(Create("id-new", 16 * kMiB, &v, id),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("must be a UUID")));
    EXPECT_THAT(Clone("id-owner", "s", "id-new", &v, {}, id),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("must be a UUID")));
    CloneFromTemplateRequest req;
    req.set_template_name("no-such-template");
    req.set_new_volume_name("id-new");
    req.set_id(id);
    grpc::ClientContext ctx;
    EXPECT_THAT(stub_->CloneFromTemplate(&ctx, req, &v),
                GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("must be a UUID")));
  }

  // An id belongs to one volume: reusing it for another name is refused,
  // naming the owner.
  Volume v;
  EXPECT_THAT(Create("id-new", 16 * kMiB, &v, kId1),
              GrpcStatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("id-owner")));
  EXPECT_THAT(Clone("id-owner", "s", "id-new", &v, {}, kId1),
              GrpcStatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("id-owner")));
  // The same name with another id is not the same volume.
  EXPECT_THAT(Create("id-owner", 16 * kMiB, &v, kId2),
              GrpcStatusIs(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_EQ(PoolState(kPool), before);
}

TEST_F(HostileInputTest, UnknownObjectsAreNotFoundAndChangeNothing) {
  Volume known;
  ASSERT_THAT(Create("known", 16 * kMiB, &known), GrpcIsOk());
  ASSERT_THAT(Snapshot("known", "s"), GrpcIsOk());
  const std::string before = PoolState(kPool);
  const auto not_found = [](const std::string& what) {
    return GrpcStatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr(what));
  };
  Volume v;
  EXPECT_THAT(Get("nosuch", &v), not_found("nosuch"));
  EXPECT_THAT(Resize("nosuch", 32 * kMiB, &v), not_found("nosuch"));
  EXPECT_THAT(Delete("nosuch"), not_found("nosuch"));
  EXPECT_THAT(Snapshot("nosuch", "s"), not_found("nosuch"));
  EXPECT_THAT(DeleteSnapshot("known", "nosnap"), not_found("nosnap"));
  EXPECT_THAT(DeleteSnapshot("nosuch", "s"), not_found("nosuch"));
  EXPECT_THAT(Rollback("known", "nosnap", &v), not_found("nosnap"));
  EXPECT_THAT(Clone("known", "nosnap", "clone-of-nothing", &v), not_found("nosnap"));
  {
    ListSnapshotsRequest req;
    req.set_volume_name("nosuch");
    ListSnapshotsResponse out;
    grpc::ClientContext ctx;
    EXPECT_THAT(stub_->ListSnapshots(&ctx, req, &out), not_found("nosuch"));
  }
  {
    CloneFromTemplateRequest req;
    req.set_template_name("nosuch-template");
    req.set_new_volume_name("clone-of-nothing");
    grpc::ClientContext ctx;
    EXPECT_THAT(stub_->CloneFromTemplate(&ctx, req, &v), not_found("nosuch-template"));
  }
  {
    PromoteSnapshotRequest req;
    req.set_volume_name("known");
    req.set_snapshot_name("nosnap");
    req.set_template_name("t");
    Template out;
    grpc::ClientContext ctx;
    EXPECT_THAT(stub_->PromoteSnapshotToTemplate(&ctx, req, &out), not_found("nosnap"));
  }
  {
    DeleteTemplateRequest req;
    req.set_name("nosuch-template");
    DeleteTemplateResponse out;
    grpc::ClientContext ctx;
    EXPECT_THAT(stub_->DeleteTemplate(&ctx, req, &out), not_found("nosuch-template"));
  }
  for (const std::string& id :
       {std::string(kId1), std::string("\x1b[2J"), std::string(5000, 'j')}) {
    GetImportJobRequest get;
    get.set_id(id);
    ImportJob job;
    grpc::ClientContext get_ctx;
    grpc::Status s = stub_->GetImportJob(&get_ctx, get, &job);
    EXPECT_THAT(s, not_found("no import job"));
    EXPECT_THAT(s.error_message(), Not(HasSubstr("\x1b"))) << "no raw escapes go back";
    EXPECT_LT(s.error_message().size(), 300u) << "the id is quoted cut";
    CancelImportJobRequest cancel;
    cancel.set_id(id);
    CancelImportJobResponse out;
    grpc::ClientContext cancel_ctx;
    EXPECT_THAT(stub_->CancelImportJob(&cancel_ctx, cancel, &out), not_found("no import job"));
  }
  EXPECT_EQ(PoolState(kPool), before);
  cleanup_.push_back("clone-of-nothing");
}

}  // namespace
}  // namespace mvirt::zfs::testing
