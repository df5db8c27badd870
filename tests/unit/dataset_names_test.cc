// DatasetNames: the layout of a pool that dataset_names.h documents.
#include "volume/dataset_names.h"

#include <gtest/gtest.h>

namespace mvirt::zfs {
namespace {

TEST(DatasetNames, VolumesAndSnapshotsSitDirectlyUnderThePool) {
  DatasetNames names("tank");
  EXPECT_EQ(names.Volume("vm-1"), "tank/vm-1");
  EXPECT_EQ(names.VolumeNameOf("tank/vm-1"), "vm-1");
  EXPECT_EQ(DatasetNames::Snapshot("tank/vm-1", "s1"), "tank/vm-1@s1");
}

TEST(DatasetNames, TheDaemonsOwnAreasSitUnderDotMvirt) {
  DatasetNames names("tank");
  EXPECT_EQ(names.ReservedRoot(), "tank/.mvirt");
  EXPECT_EQ(names.Area(ReservedArea::kTemplates), "tank/.mvirt/templates");
  EXPECT_EQ(names.Area(ReservedArea::kIncoming), "tank/.mvirt/incoming");
  EXPECT_EQ(names.Area(ReservedArea::kDeleted), "tank/.mvirt/deleted");
  EXPECT_EQ(names.Area(ReservedArea::kImports), "tank/.mvirt/imports");
  EXPECT_EQ(names.Area(ReservedArea::kCreating), "tank/.mvirt/creating");
  EXPECT_EQ(names.Template("debian"), "tank/.mvirt/templates/debian");
  EXPECT_EQ(DatasetNames::TemplateSnapshotOf(names.Template("debian")),
            "tank/.mvirt/templates/debian@template");
  EXPECT_EQ(DatasetNames::TemplateSnapshotOf(names.IncomingTemplate("debian", "ID")),
            "tank/.mvirt/incoming/debian-ID@template");
  EXPECT_EQ(names.IncomingTemplate("debian", "ID"), "tank/.mvirt/incoming/debian-ID");
  EXPECT_EQ(names.DeletedTemplate("debian", "ID"), "tank/.mvirt/deleted/debian-ID");
  EXPECT_EQ(names.ImportStaging("debian", "JOB"), "tank/.mvirt/imports/debian-JOB");
  EXPECT_EQ(names.Creating("vm-1", "ID"), "tank/.mvirt/creating/vm-1-ID");
  EXPECT_EQ(names.Area(ReservedArea::kReceiving), "tank/.mvirt/receiving");
  EXPECT_EQ(names.Receiving("vm-1"), "tank/.mvirt/receiving/vm-1");
}

TEST(DatasetNames, OnlyImportsCreatingAndReceivingGetZvolDevices) {
  EXPECT_FALSE(DatasetNames::AreaHasZvolDevices(ReservedArea::kTemplates));
  EXPECT_FALSE(DatasetNames::AreaHasZvolDevices(ReservedArea::kIncoming));
  EXPECT_FALSE(DatasetNames::AreaHasZvolDevices(ReservedArea::kDeleted));
  EXPECT_TRUE(DatasetNames::AreaHasZvolDevices(ReservedArea::kImports));
  EXPECT_TRUE(DatasetNames::AreaHasZvolDevices(ReservedArea::kCreating));
  EXPECT_TRUE(DatasetNames::AreaHasZvolDevices(ReservedArea::kReceiving));
}

TEST(DatasetNames, TemplateNameOfRecognisesOnlyTemplatesAndTheirSnapshots) {
  DatasetNames names("tank");
  EXPECT_EQ(names.TemplateNameOf("tank/.mvirt/templates/debian"), "debian");
  EXPECT_EQ(names.TemplateNameOf("tank/.mvirt/templates/debian@template"), "debian");
  EXPECT_EQ(names.TemplateNameOf("tank/vm-1@s1"), std::nullopt);
  EXPECT_EQ(names.TemplateNameOf("tank/.mvirt/deleted/debian-ID@template"), std::nullopt);
  EXPECT_EQ(names.TemplateNameOf("other/.mvirt/templates/debian@template"), std::nullopt);
  EXPECT_EQ(names.TemplateNameOf("tank/.mvirt/templates/"), std::nullopt);
  EXPECT_EQ(names.TemplateNameOf("tank/.mvirt/templates/a/b"), std::nullopt);
}

TEST(DatasetNames, AFullSnapshotNameSplitsAtItsAt) {
  EXPECT_EQ(DatasetNames::SnapshotNameOf("tank/vm-1@s1"), "s1");
  EXPECT_EQ(DatasetNames::DatasetOf("tank/vm-1@s1"), "tank/vm-1");
  EXPECT_EQ(DatasetNames::SnapshotNameOf("tank/.mvirt/templates/debian@template"), "template");
  EXPECT_EQ(DatasetNames::SnapshotNameOf("tank/vm-1"), "");
  EXPECT_EQ(DatasetNames::DatasetOf("tank/vm-1"), "tank/vm-1");
}

}  // namespace
}  // namespace mvirt::zfs
