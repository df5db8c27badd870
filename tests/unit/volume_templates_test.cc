// VolumeManager's templates, imports and clean-up (volume_templates.cc,
// volume_imports.cc) on FakeZfs and fake devices.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"
#include "volume/volume_manager.h"
#include "volume_test_world.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kTemplates[] = "vmpool/.mvirt/templates";

class VolumeTemplatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(w_.vm().Create(VolumeParams("src", kMiB, kId1)));
    ASSERT_OK(w_.fake.WriteData("vmpool/src", "golden"));
    ASSERT_OK(w_.vm().CreateSnapshot("src", "s"));
  }
  // The zvols of `dir` below vmpool/.mvirt.
  std::vector<std::string> Zvols(const std::string& dir) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<VolumeProps>> all =
        w_.fake.ListVolumes(std::string("vmpool/.mvirt/") + dir);
    if (all.ok()) {
      for (const VolumeProps& v : *all) out.push_back(v.name.substr(v.name.rfind('/') + 1));
    }
    return out;
  }
  StagingVolumeParams Staging(const std::string& name) {
    StagingVolumeParams p;
    p.template_name = name;
    p.template_id = kId2;
    p.job_id = "job1";
    p.import_source = "https://example.com/image.qcow2";
    p.size_bytes = 3 * kMiB;
    return p;
  }
  World w_;
};

TEST_F(VolumeTemplatesTest, PromoteCopiesTheSnapshotIntoACompleteTemplate) {
  absl::StatusOr<TemplateInfo> t = w_.vm().PromoteToTemplate("src", "s", "golden");
  ASSERT_OK(t);
  EXPECT_EQ(t->snapshot_path, std::string(kTemplates) + "/golden@template");
  EXPECT_EQ(t->source_volume, "src");
  EXPECT_EQ(t->size_bytes, kMiB);
  absl::StatusOr<VolumeProps> props = w_.fake.GetVolume(std::string(kTemplates) + "/golden");
  ASSERT_OK(props);
  EXPECT_EQ(props->user_props.at(kKindProperty), kKindTemplate);
  EXPECT_EQ(props->origin, "");  // a copy: the source stays deletable
  EXPECT_EQ(*w_.fake.ReadData(props->name), "golden");
  EXPECT_THAT(Zvols("incoming"), IsEmpty());
  EXPECT_OK(w_.vm().Delete("src"));
  EXPECT_THAT(w_.vm().PromoteToTemplate("missing", "s", "other"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(VolumeTemplatesTest, PromoteRefusesATakenOrReservedName) {
  ASSERT_OK(w_.vm().PromoteToTemplate("src", "s", "golden"));
  const std::string before = w_.fake.Dump();
  EXPECT_THAT(w_.vm().PromoteToTemplate("src", "s", "golden"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("a template of that name")));
  ASSERT_OK(w_.vm().ReserveTemplateName("next"));
  EXPECT_THAT(w_.vm().PromoteToTemplate("src", "s", "next"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("import")));
  EXPECT_THAT(w_.vm().ReserveTemplateName("golden"), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(w_.fake.Dump(), before);
  w_.vm().ReleaseTemplateName("next");
  EXPECT_OK(w_.vm().PromoteToTemplate("src", "s", "next"));
}

TEST_F(VolumeTemplatesTest, CloneFromTemplateIsAtLeastAsLargeAsTheTemplate) {
  ASSERT_OK(w_.vm().PromoteToTemplate("src", "s", "golden"));
  EXPECT_THAT(w_.vm().CloneFromTemplate("golden", CloneParams("vm", kId3, kMiB / 2)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("smaller")));
  EXPECT_THAT(w_.vm().CloneFromTemplate("missing", CloneParams("vm", kId3)),
              StatusIs(absl::StatusCode::kNotFound));
  absl::StatusOr<VolumeInfo> vm = w_.vm().CloneFromTemplate("golden", CloneParams("vm", kId3));
  ASSERT_OK(vm);
  EXPECT_EQ(*w_.fake.ReadData("vmpool/vm"), "golden");
  absl::StatusOr<TemplateInfo> t = w_.vm().GetTemplate("golden");
  ASSERT_OK(t);
  EXPECT_EQ(t->clone_count, 1u);
}

TEST_F(VolumeTemplatesTest, TemplatesAreNotProvisionedTheirClonesAre) {
  // A template takes no more writes: only volumes count in the provisioned
  // total (GetPoolStats, --max-overcommit).
  ASSERT_OK(w_.vm().PromoteToTemplate("src", "s", "golden"));
  absl::StatusOr<PoolStatsInfo> stats = w_.vm().GetPoolStats();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->provisioned_bytes, kMiB);
  EXPECT_EQ(stats->volume_count, 1u);
  ASSERT_OK(w_.vm().CloneFromTemplate("golden", CloneParams("vm", kId3, 2 * kMiB)));
  stats = w_.vm().GetPoolStats();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->provisioned_bytes, 3 * kMiB);
  EXPECT_EQ(stats->volume_count, 2u);
}

TEST_F(VolumeTemplatesTest, ADeletedTemplateWithClonesIsParkedUntilItsLastCloneGoes) {
  ASSERT_OK(w_.vm().PromoteToTemplate("src", "s", "golden"));
  ASSERT_OK(w_.vm().CloneFromTemplate("golden", CloneParams("vm1", kId2)));
  ASSERT_OK(w_.vm().CloneFromTemplate("golden", CloneParams("vm2", kId3)));
  ASSERT_OK(w_.vm().DeleteTemplate("golden"));
  EXPECT_THAT(w_.vm().GetTemplate("golden"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(*w_.vm().ListTemplates(), IsEmpty());
  EXPECT_THAT(Zvols("deleted"), ElementsAre(StartsWith("golden-")));
  EXPECT_OK(w_.vm().PromoteToTemplate("src", "s", "golden"));  // the name is free again
  ASSERT_OK(w_.vm().Delete("vm1"));
  EXPECT_THAT(Zvols("deleted"), ElementsAre(StartsWith("golden-")));
  ASSERT_OK(w_.vm().Delete("vm2"));
  EXPECT_THAT(Zvols("deleted"), IsEmpty());
}

TEST_F(VolumeTemplatesTest, ATemplateWithoutClonesIsDestroyedAtOnce) {
  ASSERT_OK(w_.vm().PromoteToTemplate("src", "s", "golden"));
  ASSERT_OK(w_.vm().DeleteTemplate("golden"));
  EXPECT_THAT(Zvols("templates"), IsEmpty());
  EXPECT_THAT(Zvols("deleted"), IsEmpty());
  EXPECT_THAT(w_.vm().DeleteTemplate("golden"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(VolumeTemplatesTest, AnImportBuildsTheTemplateInStagingAndMovesItComplete) {
  ASSERT_OK(w_.vm().ReserveTemplateName("img"));
  absl::StatusOr<StagingVolume> staging = w_.vm().CreateStagingVolume(Staging("img"));
  ASSERT_OK(staging);
  EXPECT_EQ(staging->dataset, "vmpool/.mvirt/imports/img-job1");
  EXPECT_TRUE(w_.devices.IsPresent(staging->device));
  EXPECT_THAT(*w_.vm().ListTemplates(), IsEmpty());
  ASSERT_OK(w_.vm().TrimStagingVolume(*staging, kMiB + 1));
  EXPECT_EQ(staging->volsize, kMiB + kDefaultVolblocksize);
  absl::StatusOr<TemplateInfo> t = w_.vm().CompleteStagingVolume(*staging);
  ASSERT_OK(t);
  EXPECT_EQ(t->id, kId2);
  EXPECT_EQ(t->import_source, "https://example.com/image.qcow2");
  EXPECT_EQ(t->size_bytes, kMiB + kDefaultVolblocksize);
  EXPECT_EQ(*w_.fake.NativeProperty(std::string(kTemplates) + "/img", "volmode"), "none");
  EXPECT_FALSE(w_.devices.IsPresent(staging->device));
  EXPECT_THAT(Zvols("imports"), IsEmpty());
  EXPECT_THAT(InvariantViolations(w_.fake), IsEmpty());
}

TEST_F(VolumeTemplatesTest, AStagingVolumeWhoseDeviceNeverAppearsIsRemoved) {
  const std::string before = w_.fake.Dump();
  w_.devices.SetNeverReady(true);
  EXPECT_THAT(w_.vm().CreateStagingVolume(Staging("img")),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(w_.fake.Dump(), before);
}

TEST_F(VolumeTemplatesTest, DiscardRemovesTheStagingVolume) {
  absl::StatusOr<StagingVolume> staging = w_.vm().CreateStagingVolume(Staging("img"));
  ASSERT_OK(staging);
  ASSERT_OK(w_.fake.Snapshot({staging->dataset + "@template"}, {}));
  EXPECT_OK(w_.vm().DiscardStagingVolume(*staging));
  EXPECT_OK(w_.vm().DiscardStagingVolume(*staging));  // gone already: OK
  EXPECT_THAT(Zvols("imports"), IsEmpty());
}

TEST_F(VolumeTemplatesTest, StartUpSweepsHalfBuiltThingsAndKeepsWhatClonesUse) {
  ASSERT_OK(w_.vm().PromoteToTemplate("src", "s", "golden"));
  ASSERT_OK(w_.vm().CloneFromTemplate("golden", CloneParams("vm", kId3)));
  ASSERT_OK(w_.vm().DeleteTemplate("golden"));
  const uint64_t block = kDefaultVolblocksize;
  ASSERT_OK(w_.fake.CreateVolume("vmpool/.mvirt/creating/x-1", kMiB, block, {}));
  ASSERT_OK(w_.fake.CreateVolume("vmpool/.mvirt/imports/y-job", kMiB, block, {}));
  ASSERT_OK(w_.fake.CopySnapshot("vmpool/src@s", "vmpool/.mvirt/incoming/z-1@template"));
  w_.vm().CollectGarbage(/*at_startup=*/false);
  EXPECT_THAT(Zvols("creating"), ElementsAre("x-1"));  // only at start-up
  w_.Restart();
  EXPECT_THAT(InvariantViolations(w_.fake), IsEmpty());
  EXPECT_THAT(Zvols("deleted"), ElementsAre(StartsWith("golden-")));
  ASSERT_OK(w_.vm().Delete("vm"));
  EXPECT_THAT(Zvols("deleted"), IsEmpty());
}

}  // namespace
}  // namespace mvirt::zfs::testing
