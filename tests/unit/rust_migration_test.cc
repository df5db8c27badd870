// Moving the Rust mvirt-zfs's layout into this daemon's (migrate/): its
// SQLite file read back, the plan made from the rows and a FakeZfs pool laid
// out as that daemon lays it out, the disagreements reported and left alone,
// the steps applied (and, cut after any step, finished by a new plan), and
// the result what VolumeManager manages: the same ids, names and clones.
#include "migrate/rust_migration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "migrate/rust_metadata.h"
#include "rust_database.h"
#include "status_matchers.h"
#include "volume/volume_manager.h"
#include "volume_test_world.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kTemplate[] = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr char kWeb[] = "bbbbbbbb-0000-4000-8000-000000000001";
constexpr char kDb[] = "bbbbbbbb-0000-4000-8000-000000000002";
constexpr char kOrphan[] = "bbbbbbbb-0000-4000-8000-000000000003";
constexpr char kGhost[] = "bbbbbbbb-0000-4000-8000-000000000004";
constexpr char kDupA[] = "bbbbbbbb-0000-4000-8000-000000000005";
constexpr char kDupB[] = "bbbbbbbb-0000-4000-8000-000000000006";
constexpr char kBusy[] = "bbbbbbbb-0000-4000-8000-000000000007";
constexpr char kSnap[] = "cccccccc-0000-4000-8000-000000000001";
constexpr char kSnapZfs[] = "dddddddd-0000-4000-8000-000000000001";
constexpr char kStraySnapZfs[] = "dddddddd-0000-4000-8000-000000000002";

std::string Vol(const std::string& id) { return std::string("vmpool/volumes/") + id; }

// The Rust daemon's pool, and its rows (some disagreeing with it).
struct RustWorld {
  RustWorld() {
    World& w = world;
    Check(w.fake.EnsureHiddenFilesystem("vmpool/volumes", true));
    Check(w.fake.EnsureHiddenFilesystem("vmpool/templates", true));
    Check(w.fake.CreateVolume(std::string("vmpool/templates/") + kTemplate, 4 * kMiB, 16384, {}));
    Check(w.fake.WriteData(std::string("vmpool/templates/") + kTemplate, "debian image"));
    Check(w.fake.Snapshot({std::string("vmpool/templates/") + kTemplate + "@img"}, {}));
    Check(w.fake.Clone(Vol(kWeb), std::string("vmpool/templates/") + kTemplate + "@img", {}));
    Check(w.fake.CreateVolume(Vol(kDb), 8 * kMiB, 16384, {}));
    Check(w.fake.WriteData(Vol(kDb), "database"));
    Check(w.fake.Snapshot({Vol(kDb) + "@" + kSnapZfs}, {}));
    Check(w.fake.Snapshot({Vol(kDb) + "@" + kStraySnapZfs}, {}));
    for (const char* id : {kOrphan, kDupA, kDupB, kBusy}) {
      Check(w.fake.CreateVolume(Vol(id), kMiB, 16384, {}));
    }
    rows.templates = {{kTemplate, "debian-12", 4 * kMiB}};
    // In name order, as ReadRustMetadata returns them.
    rows.volumes = {{kBusy, "busy", Vol(kBusy), kMiB, std::nullopt},
                    {kDb, "db-1", Vol(kDb), 8 * kMiB, std::nullopt},
                    {kDupA, "dup", Vol(kDupA), kMiB, std::nullopt},
                    {kDupB, "dup", Vol(kDupB), kMiB, std::nullopt},
                    {kGhost, "ghost", Vol(kGhost), kMiB, std::nullopt},
                    {kWeb, "web-1", Vol(kWeb), 4 * kMiB, kTemplate}};
    rows.snapshots = {{kSnap, kDb, "before-upgrade", kSnapZfs}};
    rows.completed_imports = {{"debian-12", "https://example.org/debian-12.qcow2"}};
  }
  static void Check(const absl::Status& s) {
    if (!s.ok()) ADD_FAILURE() << s;
  }
  absl::StatusOr<MigrationPlan> Plan() {
    return PlanRustMigration(world.zfs, kPool, rows, [](const std::string& path) {
      return path == ZvolDevicePath(Vol(kBusy)) ? std::string("pid 42 (qemu-system-x86)")
                                                : std::string();
    });
  }
  // Plans and applies everything; the steps applied.
  size_t MigrateAll() {
    absl::StatusOr<MigrationPlan> plan = Plan();
    EXPECT_OK(plan);
    if (!plan.ok()) return 0;
    for (const MigrationStep& step : plan->steps) {
      EXPECT_OK(ApplyMigrationStep(world.zfs, kPool, step)) << step.Describe();
    }
    return plan->steps.size();
  }
  World world;
  RustMetadata rows;
};

TEST(RustMigration, ThePlanNamesEveryStepAndEveryDisagreementAndChangesNothing) {
  RustWorld rust;
  const std::string before = rust.world.fake.Dump();
  absl::StatusOr<MigrationPlan> plan = rust.Plan();
  ASSERT_OK(plan);
  EXPECT_EQ(rust.world.fake.Dump(), before);
  std::vector<std::string> steps;
  for (const MigrationStep& s : plan->steps) steps.push_back(s.Describe());
  const std::string t = std::string("vmpool/templates/") + kTemplate;
  EXPECT_THAT(
      steps,
      ::testing::ElementsAre(
          "set mvirt:id=" + std::string(kTemplate) + " on " + t,
          "set mvirt:import-source=https://example.org/debian-12.qcow2 on " + t,
          "set mvirt:kind=template on " + t, "rename " + t + "@img -> " + t + "@template",
          "rename " + t + " -> vmpool/.mvirt/templates/debian-12",
          "set mvirt:id=" + std::string(kSnap) + " on " + Vol(kDb) + "@" + kSnapZfs,
          "rename " + Vol(kDb) + "@" + kSnapZfs + " -> " + Vol(kDb) + "@before-upgrade",
          "set mvirt:id=" + std::string(kDb) + " on " + Vol(kDb),
          "set mvirt:kind=volume on " + Vol(kDb), "rename " + Vol(kDb) + " -> vmpool/db-1",
          "set mvirt:id=" + std::string(kWeb) + " on " + Vol(kWeb),
          "set mvirt:kind=volume on " + Vol(kWeb), "rename " + Vol(kWeb) + " -> vmpool/web-1"));
  EXPECT_EQ(plan->already_migrated, 0u);
  EXPECT_THAT(plan->findings, Contains(HasSubstr("no zvol " + Vol(kGhost))));
  EXPECT_THAT(plan->findings, Contains(AllOf(HasSubstr(kDupA), HasSubstr("2 volume rows"))));
  EXPECT_THAT(plan->findings, Contains(AllOf(HasSubstr(kDupB), HasSubstr("2 volume rows"))));
  EXPECT_THAT(plan->findings,
              Contains(AllOf(HasSubstr(kBusy), HasSubstr("in use by pid 42 (qemu-system-x86)"))));
  EXPECT_THAT(plan->findings, Contains(HasSubstr(Vol(kOrphan) + " has no volume row")));
  EXPECT_THAT(plan->findings, Contains(HasSubstr(Vol(kDb) + "@" + kStraySnapZfs + " has no row")));
  EXPECT_EQ(plan->findings.size(), 6u);
}

TEST(RustMigration, AfterItTheDaemonManagesTheSameIdsNamesAndClones) {
  RustWorld rust;
  EXPECT_EQ(rust.MigrateAll(), 13u);
  VolumeManager& vm = rust.world.vm();
  absl::StatusOr<VolumeInfo> web = vm.Get("web-1");
  ASSERT_OK(web);
  EXPECT_EQ(web->id, kWeb);
  absl::StatusOr<VolumeInfo> db = vm.Get("db-1");
  ASSERT_OK(db);
  EXPECT_EQ(db->id, kDb);
  ASSERT_EQ(db->snapshots.size(), 2u);
  EXPECT_EQ(db->snapshots[0].name, "before-upgrade");
  EXPECT_EQ(db->snapshots[0].id, kSnap);
  EXPECT_EQ(db->snapshots[1].name, kStraySnapZfs) << "no row: kept as it was";
  EXPECT_EQ(rust.world.fake.ReadData("vmpool/db-1").value_or(""), "database");
  absl::StatusOr<TemplateInfo> tmpl = vm.GetTemplate("debian-12");
  ASSERT_OK(tmpl);
  EXPECT_EQ(tmpl->id, kTemplate);
  EXPECT_EQ(tmpl->clone_count, 1u);
  EXPECT_EQ(tmpl->import_source, "https://example.org/debian-12.qcow2");
  absl::StatusOr<VolumeProps> web_props = rust.world.fake.GetVolume("vmpool/web-1");
  ASSERT_OK(web_props);
  EXPECT_EQ(web_props->origin, "vmpool/.mvirt/templates/debian-12@template");
  // A clone of the migrated template, as from any other.
  EXPECT_OK(vm.CloneFromTemplate("debian-12", CloneParams("web-2", "")));
  // Run again: nothing left to do, the disagreements still reported.
  absl::StatusOr<MigrationPlan> again = rust.Plan();
  ASSERT_OK(again);
  EXPECT_THAT(again->steps, IsEmpty());
  EXPECT_EQ(again->already_migrated, 4u);  // the template, 2 volumes, 1 snapshot
  EXPECT_EQ(again->findings.size(), 6u);
  EXPECT_TRUE(rust.world.fake.Exists(Vol(kOrphan))) << "never destroyed, never moved";
}

TEST(RustMigration, CutAfterAnyStepANewPlanFinishesIt) {
  size_t total = 0;
  std::string want;
  {
    RustWorld rust;
    total = rust.MigrateAll();
    want = NormalizedDump(rust.world.fake);
  }
  for (size_t cut = 1; cut < total; ++cut) {
    SCOPED_TRACE(cut);
    RustWorld rust;
    absl::StatusOr<MigrationPlan> plan = rust.Plan();
    ASSERT_OK(plan);
    for (size_t i = 0; i < cut; ++i) {
      ASSERT_OK(ApplyMigrationStep(rust.world.zfs, kPool, plan->steps[i]));
    }
    EXPECT_EQ(rust.MigrateAll(), total - cut) << "what was done is not done again";
    EXPECT_EQ(NormalizedDump(rust.world.fake), want);
  }
}

TEST(RustMetadata, TheRustDaemonsFileIsReadAndAnythingElseRefused) {
  const std::string path = ::testing::TempDir() + "rust-metadata.db";
  {
    RustDatabase db(path);
    db.Template("vmpool", kTemplate, "debian-12", 4 * kMiB);
    db.Volume("vmpool", kWeb, "web-1", 4 * kMiB, kTemplate);
    db.Volume("vmpool", kDb, "db-1", 8 * kMiB);
    db.Snapshot(kSnap, kDb, "before-upgrade", kSnapZfs);
    db.Import("job-1", "debian-12", "https://example.org/old.qcow2", "failed");
    db.Import("job-2", "debian-12", "https://example.org/debian-12.qcow2", "completed");
  }
  absl::StatusOr<RustMetadata> md = ReadRustMetadata(path);
  ASSERT_OK(md);
  ASSERT_EQ(md->volumes.size(), 2u);
  EXPECT_EQ(md->volumes[0].name, "db-1");  // by name
  EXPECT_EQ(md->volumes[0].origin_template_id, std::nullopt);
  EXPECT_EQ(md->volumes[1].origin_template_id, std::optional<std::string>(kTemplate));
  EXPECT_EQ(md->volumes[1].zfs_path, Vol(kWeb));
  ASSERT_EQ(md->snapshots.size(), 1u);
  EXPECT_EQ(md->snapshots[0].zfs_name, kSnapZfs);
  ASSERT_EQ(md->templates.size(), 1u);
  EXPECT_EQ(md->templates[0].size_bytes, 4 * kMiB);
  ASSERT_EQ(md->completed_imports.size(), 1u);
  EXPECT_EQ(md->completed_imports[0].source, "https://example.org/debian-12.qcow2");

  EXPECT_THAT(ReadRustMetadata(path + ".missing"), StatusIs(absl::StatusCode::kNotFound));
  const std::string other = ::testing::TempDir() + "other.db";
  {
    RustDatabase db(other);
    db.Exec("DROP TABLE snapshots;");
  }
  EXPECT_THAT(
      ReadRustMetadata(other),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("not the Rust mvirt-zfs's metadata"), HasSubstr("snapshots"))));
}

}  // namespace
}  // namespace mvirt::zfs::testing
