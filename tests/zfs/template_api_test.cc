// Real-ZFS tests of templates: promote, list, clone, delete while clones
// live, and the space freed after the last clone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "api_fixture.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

class TemplateApiTest : public ApiTest {
 protected:
  void TearDown() override {
    ApiTest::TearDown();
    DestroyDataset(kPool + "/.mvirt/templates/debian");
  }
  grpc::Status Promote(const std::string& volume, const std::string& snapshot,
                       const std::string& name, Template* out) {
    PromoteSnapshotRequest req;
    req.set_volume_name(volume);
    req.set_snapshot_name(snapshot);
    req.set_template_name(name);
    grpc::ClientContext ctx;
    return stub_->PromoteSnapshotToTemplate(&ctx, req, out);
  }
  grpc::Status CloneTemplate(const std::string& name, const std::string& volume, Volume* out,
                             std::optional<uint64_t> size = {}, const std::string& id = "") {
    cleanup_.insert(cleanup_.begin(), volume);
    CloneFromTemplateRequest req;
    req.set_template_name(name);
    req.set_new_volume_name(volume);
    req.set_id(id);
    if (size) req.set_size_bytes(*size);
    grpc::ClientContext ctx;
    return stub_->CloneFromTemplate(&ctx, req, out);
  }
  grpc::Status DeleteTemplate(const std::string& name) {
    DeleteTemplateRequest req;
    req.set_name(name);
    grpc::ClientContext ctx;
    DeleteTemplateResponse resp;
    return stub_->DeleteTemplate(&ctx, req, &resp);
  }
  std::vector<Template> Templates() {
    grpc::ClientContext ctx;
    ListTemplatesResponse resp;
    EXPECT_TRUE(stub_->ListTemplates(&ctx, ListTemplatesRequest(), &resp).ok());
    return {resp.templates().begin(), resp.templates().end()};
  }
};

TEST_F(TemplateApiTest, LifecycleWithTemplateDeletedWhileClonesLive) {
  const std::string tdir = kPool + "/.mvirt/templates";
  Volume src;
  ASSERT_TRUE(Create("tmpl-src", 32 * kMiB, &src, kId1).ok());
  // 3 MiB of random bytes are exactly 4 MiB of base64: no `head` cutting the
  // pipe short, whose writer could then add "Broken pipe" to the output.
  const std::string data = MustRun("head -c 3145728 /dev/urandom | base64 -w0");
  ASSERT_EQ(data.size(), 4194304u);
  WriteDevice(src.path(), 0, data);
  ASSERT_TRUE(Snapshot("tmpl-src", "v1").ok());

  Template t;
  grpc::Status s = Promote("tmpl-src", "v1", "debian", &t);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(t.name(), "debian");
  EXPECT_EQ(t.snapshot_path(), tdir + "/debian@template");
  EXPECT_EQ(t.source_volume(), "tmpl-src");
  EXPECT_EQ(t.size_bytes(), 32 * kMiB);
  EXPECT_EQ(t.clone_count(), 0u);
  EXPECT_TRUE(DatasetExists(tdir + "/debian@template"));
  EXPECT_EQ(ZfsGet(tdir + "/debian", "origin"), "-") << "a template owns its data";
  EXPECT_EQ(ZfsGet(tdir + "/debian", "mvirt:id"), t.id());
  EXPECT_EQ(Promote("tmpl-src", "v1", "debian", &t).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Promote("tmpl-src", "nope", "other", &t).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Promote("tmpl-src", "v1", "bad/name", &t).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // The source volume and its snapshots stay independently deletable.
  ASSERT_TRUE(Delete("tmpl-src").ok());
  EXPECT_FALSE(DatasetExists(kPool + "/tmpl-src"));

  Volume vm1, vm2, nope;
  s = CloneTemplate("debian", "vm-1", &vm1, 64 * kMiB, kId2);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(vm1.id(), kId2);
  EXPECT_EQ(ZfsGet(kPool + "/vm-1", "mvirt:id"), kId2);
  EXPECT_EQ(ZfsGet(kPool + "/vm-1", "volsize"), std::to_string(64 * kMiB));
  EXPECT_EQ(ZfsGet(kPool + "/vm-1", "origin"), tdir + "/debian@template");
  EXPECT_EQ(ZfsGet(kPool + "/vm-1", "refreservation"), "0") << "clones are thin";
  EXPECT_LT(std::stoull(ZfsGet(kPool + "/vm-1", "used")), kMiB) << "a fresh clone costs ~0";
  EXPECT_EQ(DeviceDatasetName(vm1.path()), kPool + "/vm-1");
  EXPECT_TRUE(ReadDevice(vm1.path(), 0, data.size()) == data);
  ASSERT_TRUE(CloneTemplate("debian", "vm-2", &vm2).ok());
  EXPECT_EQ(vm2.volsize_bytes(), 32 * kMiB);
  EXPECT_EQ(vm2.id().size(), 36u) << "a generated UUID";
  // Ids identify volumes (in events too): another volume's id is refused.
  s = CloneTemplate("debian", "vm-dup", &nope, {}, kId2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("vm-1")) << s.error_message();
  EXPECT_FALSE(DatasetExists(kPool + "/vm-dup"));
  s = CloneTemplate("debian", "vm-small", &nope, 16 * kMiB);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(DatasetExists(kPool + "/vm-small"));
  EXPECT_EQ(CloneTemplate("nosuch", "vm-3", &nope).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CloneTemplate("debian", "vm-1", &nope).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  std::vector<Template> listed = Templates();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name(), "debian");
  EXPECT_EQ(listed[0].id(), t.id());
  EXPECT_EQ(listed[0].snapshot_path(), tdir + "/debian@template");
  EXPECT_EQ(listed[0].source_volume(), "tmpl-src");
  EXPECT_EQ(listed[0].size_bytes(), 32 * kMiB);
  EXPECT_EQ(listed[0].clone_count(), 2u);

  // Deleted while clones live: gone from listings at once, clones intact.
  s = DeleteTemplate("debian");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(Templates().empty());
  EXPECT_FALSE(DatasetExists(tdir + "/debian"));
  EXPECT_TRUE(ReadDevice(vm2.path(), 0, data.size()) == data);
  EXPECT_EQ(DeleteTemplate("debian").error_code(), grpc::StatusCode::NOT_FOUND);

  ASSERT_TRUE(Delete("vm-1").ok());
  EXPECT_NE(MustRun("zfs list -H -o name -r -t volume " + kPool + "/.mvirt/deleted"), "")
      << "data kept while vm-2 uses it";
  EXPECT_GE(std::stoull(ZfsGet(kPool + "/.mvirt", "used")), 3 * kMiB)
      << "the template's data is still there";
  ASSERT_TRUE(Delete("vm-2").ok());
  EXPECT_EQ(MustRun("zfs list -H -o name -r -t all " + kPool + "/.mvirt/deleted"),
            kPool + "/.mvirt/deleted\n");
  // And the space is freed (frees complete asynchronously after txg sync).
  uint64_t used = 0;
  for (int i = 0; i < 50; ++i) {
    MustRun("zpool sync " + kPool);
    used = std::stoull(ZfsGet(kPool + "/.mvirt", "used"));
    if (used < 1024 * 1024) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_LT(used, 1024u * 1024) << "the template's 4 MiB of data must be freed";
}

TEST_F(TemplateApiTest, DeletingATemplateWithoutClonesDestroysItAtOnce) {
  Volume src;
  ASSERT_TRUE(Create("tmpl-src2", 16 * kMiB, &src).ok());
  ASSERT_TRUE(Snapshot("tmpl-src2", "v1").ok());
  Template t;
  ASSERT_TRUE(Promote("tmpl-src2", "v1", "debian", &t).ok());
  grpc::Status s = DeleteTemplate("debian");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(DatasetExists(kPool + "/.mvirt/templates/debian"));
  EXPECT_EQ(MustRun("zfs list -H -o name -r -t all " + kPool + "/.mvirt/deleted"),
            kPool + "/.mvirt/deleted\n");
  // Template names and volume names never collide: a volume may be called
  // like a template, and the reserved tree is not a volume.
  Volume v;
  ASSERT_TRUE(Create("debian", 16 * kMiB, &v).ok());
  for (const Volume& l : List()) EXPECT_NE(l.name().rfind(".mvirt", 0), 0u) << l.name();
}

}  // namespace
}  // namespace mvirt::zfs::testing
