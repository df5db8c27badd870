// `mvirt-zfs migrate-from-rust` on a real pool laid out as the Rust
// mvirt-zfs lays it out (volumes/<id>, templates/<id>@img, snapshots named
// by UUIDs, names only in its SQLite file, built here from its schema): the
// dry run changes nothing, an apply cut short is finished by the next, and
// afterwards this daemon serves the same ids, names, data and clones.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "api_fixture.h"
#include "grpc_status_matchers.h"
#include "rust_database.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kDeadline = std::chrono::seconds(60);
constexpr char kTemplate[] = "aaaaaaaa-1111-4000-8000-000000000001";
constexpr char kWeb[] = "bbbbbbbb-1111-4000-8000-000000000001";
constexpr char kDb[] = "bbbbbbbb-1111-4000-8000-000000000002";
constexpr char kOrphan[] = "bbbbbbbb-1111-4000-8000-000000000003";
constexpr char kGhost[] = "bbbbbbbb-1111-4000-8000-000000000004";
constexpr char kSnap[] = "cccccccc-1111-4000-8000-000000000001";
constexpr char kSnapZfs[] = "dddddddd-1111-4000-8000-000000000001";

CommandResult Migrate(const std::string& db, const std::string& pool, const std::string& more) {
  return Shell(DaemonPath() + " migrate-from-rust --db " + db + " --pool " + pool + " " + more);
}

TEST(MigrateFromRust, ARustPoolBecomesThisDaemonsWithItsIdsNamesDataAndClones) {
  ScratchPool pool("mvrust");
  const std::string p = pool.name();
  // The Rust daemon's layout.
  MustRun("zfs create " + p + "/volumes && zfs create " + p + "/templates");
  const std::string tmpl = p + "/templates/" + kTemplate;
  MustRun("zfs create -s -V 64M " + tmpl);
  ASSERT_TRUE(WaitForPath("/dev/zvol/" + tmpl));
  const std::string image = Pattern('i', 256 * 1024);
  WriteDevice("/dev/zvol/" + tmpl, 0, image);
  MustRun("zfs snapshot " + tmpl + "@img");
  const std::string web = p + "/volumes/" + kWeb, db = p + "/volumes/" + kDb;
  MustRun("zfs clone " + tmpl + "@img " + web);
  MustRun("zfs create -s -V 32M " + db);
  ASSERT_TRUE(WaitForPath("/dev/zvol/" + db));
  const std::string rows = Pattern('d', 128 * 1024);
  WriteDevice("/dev/zvol/" + db, 0, rows);
  MustRun("zfs snapshot " + db + "@" + kSnapZfs);
  MustRun("zfs create -s -V 16M " + p + "/volumes/" + kOrphan);
  const std::string db_guid = ZfsGet(db, "guid");
  const std::string path = "/var/tmp/mvirt-zfs-test-rust-metadata.db";
  {
    RustDatabase rust(path);
    rust.Template(p, kTemplate, "debian-12", 64 * kMiB);
    rust.Volume(p, kWeb, "web-1", 64 * kMiB, kTemplate);
    rust.Volume(p, kDb, "db-1", 32 * kMiB);
    rust.Volume(p, kGhost, "ghost", 16 * kMiB);
    rust.Snapshot(kSnap, kDb, "before-upgrade", kSnapZfs);
    rust.Import("job-1", "debian-12", "https://example.org/debian-12.qcow2", "completed");
  }

  // The dry run: the plan and the disagreements, nothing changed.
  const std::string before = PoolState(p);
  CommandResult r = Migrate(path, p, "");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("3 volume, 1 snapshot and 1 template rows"),
                              HasSubstr("dry run: nothing changed"),
                              HasSubstr("rename " + web + " -> " + p + "/web-1"),
                              HasSubstr("no zvol " + p + "/volumes/" + kGhost),
                              HasSubstr(p + "/volumes/" + kOrphan + " has no volume row")));
  EXPECT_EQ(PoolState(p), before);

  // Cut short, then finished by the next run.
  r = Migrate(path, p, "--apply --max-steps 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("stopped after 4 steps"));
  r = Migrate(path, p, "--apply");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("migrated: "));

  // What a storage engineer checks: ids, names, data, guids, origins.
  EXPECT_EQ(ZfsGet(p + "/web-1", "mvirt:id"), kWeb);
  EXPECT_EQ(ZfsGet(p + "/db-1", "mvirt:id"), kDb);
  EXPECT_EQ(ZfsGet(p + "/db-1", "guid"), db_guid) << "the same zvol, renamed";
  EXPECT_EQ(ZfsGet(p + "/db-1@before-upgrade", "mvirt:id"), kSnap);
  EXPECT_EQ(ZfsGet(p + "/.mvirt/templates/debian-12", "mvirt:id"), kTemplate);
  EXPECT_EQ(ZfsGet(p + "/web-1", "origin"), p + "/.mvirt/templates/debian-12@template");
  ASSERT_TRUE(WaitForPath("/dev/zvol/" + p + "/web-1"));
  EXPECT_EQ(ReadDevice("/dev/zvol/" + p + "/web-1", 0, image.size()), image);
  ASSERT_TRUE(WaitForPath("/dev/zvol/" + p + "/db-1"));
  EXPECT_EQ(ReadDevice("/dev/zvol/" + p + "/db-1", 0, rows.size()), rows);
  EXPECT_TRUE(DatasetExists(p + "/volumes/" + kOrphan)) << "left where it was";

  {
    DaemonProcess daemon(p, "/run/mvirt-zfs-rust.sock");
    ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
    // This daemon holds the pool: the migration refuses to run beside it.
    r = Migrate(path, p, "--apply");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("already serves pool '" + p + "'"));
    EXPECT_THAT(r.output, HasSubstr("stop it first"));
    EXPECT_THAT(r.output, Not(HasSubstr("(stop mvirt-zfs first)"))) << "said once is enough";
    auto stub = ZfsService::NewStub(
        grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
    GetVolumeRequest get;
    get.set_name("db-1");
    Volume v;
    ASSERT_THAT(CallWithin(kDeadline, &ZfsService::Stub::GetVolume, *stub, get, &v), GrpcIsOk());
    EXPECT_EQ(v.id(), kDb);
    ASSERT_EQ(v.snapshots_size(), 1);
    EXPECT_EQ(v.snapshots(0).name(), "before-upgrade");
    EXPECT_EQ(v.snapshots(0).id(), kSnap);
    ListTemplatesResponse templates;
    ASSERT_THAT(CallWithin(kDeadline, &ZfsService::Stub::ListTemplates, *stub,
                           ListTemplatesRequest(), &templates),
                GrpcIsOk());
    ASSERT_EQ(templates.templates_size(), 1);
    EXPECT_EQ(templates.templates(0).id(), kTemplate);
    EXPECT_EQ(templates.templates(0).clone_count(), 1u);
    EXPECT_EQ(templates.templates(0).import_source(), "https://example.org/debian-12.qcow2");
    CloneFromTemplateRequest clone;
    clone.set_template_name("debian-12");
    clone.set_new_volume_name("web-2");
    Volume web2;
    ASSERT_THAT(CallWithin(kDeadline, &ZfsService::Stub::CloneFromTemplate, *stub, clone, &web2),
                GrpcIsOk());
    EXPECT_EQ(ReadDevice(web2.path(), 0, image.size()), image);
  }
  // Run again: nothing left to do.
  r = Migrate(path, p, "");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("0 steps"), HasSubstr("4 volumes, snapshots and templates "
                                                              "are in place already")));
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace mvirt::zfs::testing
