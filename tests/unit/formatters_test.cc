// The human tables of mvirt-zfsctl: ages by default, exact times and more
// columns with --output wide.
#include "cli/formatters.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace mvirt::zfs::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);  // 2027-01-15T08:00:00Z

TEST(FormatAge, SecondsMinutesHoursDays) {
  EXPECT_EQ(FormatAge("2027-01-15T08:00:00Z", kNow), "just now");
  EXPECT_EQ(FormatAge("2027-01-15T07:59:18Z", kNow), "42s ago");
  EXPECT_EQ(FormatAge("2027-01-15T07:55:00Z", kNow), "5m ago");
  EXPECT_EQ(FormatAge("2027-01-15T05:00:00Z", kNow), "3h ago");
  EXPECT_EQ(FormatAge("2027-01-03T08:00:00Z", kNow), "12d ago");
  EXPECT_EQ(FormatAge("2027-01-15T09:00:00Z", kNow), "just now") << "a clock ahead";
  EXPECT_EQ(FormatAge("yesterday", kNow), "yesterday") << "not a time: shown as it is";
}

ListVolumesResponse OneVolume() {
  ListVolumesResponse r;
  Volume* v = r.add_volumes();
  v->set_name("vm-1");
  v->set_id("11111111-1111-4111-8111-111111111111");
  v->set_path("/dev/zvol/vmpool/vm-1");
  v->set_volsize_bytes(20ull << 30);
  v->set_volblocksize(16384);
  v->set_compression_ratio(1.5);
  v->set_created_at("2027-01-15T07:55:00Z");
  return r;
}

TEST(PrintVolumeTable, AgesByDefaultExactTimesAndPathsWhenWide) {
  std::ostringstream plain, wide;
  PrintVolumeTable(OneVolume(), plain, TableStyle{false, kNow});
  PrintVolumeTable(OneVolume(), wide, TableStyle{true, kNow});
  EXPECT_THAT(plain.str(), HasSubstr("CREATED"));
  EXPECT_THAT(plain.str(), HasSubstr("5m ago"));
  EXPECT_THAT(plain.str(), Not(HasSubstr("/dev/zvol/vmpool/vm-1")));
  EXPECT_THAT(wide.str(), HasSubstr("CREATED_AT"));
  EXPECT_THAT(wide.str(), HasSubstr("2027-01-15T07:55:00Z"));
  EXPECT_THAT(wide.str(), HasSubstr("PATH"));
  EXPECT_THAT(wide.str(), HasSubstr("/dev/zvol/vmpool/vm-1"));
}

TEST(PrintTemplateAndJobTables, WideAddsWhereTheyCameFrom) {
  ListTemplatesResponse templates;
  Template* t = templates.add_templates();
  t->set_name("debian-12");
  t->set_snapshot_path("vmpool/.mvirt/templates/debian-12@img");
  t->set_import_source("https://example.com/debian.qcow2");
  t->set_created_at("2027-01-14T08:00:00Z");
  std::ostringstream plain, wide;
  PrintTemplateTable(templates, plain, TableStyle{false, kNow});
  PrintTemplateTable(templates, wide, TableStyle{true, kNow});
  EXPECT_THAT(plain.str(), HasSubstr("1d ago"));
  EXPECT_THAT(plain.str(), Not(HasSubstr("@img")));
  EXPECT_THAT(wide.str(), HasSubstr("vmpool/.mvirt/templates/debian-12@img"));
  EXPECT_THAT(wide.str(), HasSubstr("https://example.com/debian.qcow2"));

  ListImportJobsResponse jobs;
  ImportJob* j = jobs.add_jobs();
  j->set_id("job-1");
  j->set_state(IMPORT_JOB_STATE_FAILED);
  j->set_format("qcow2");
  j->set_error("checksum mismatch");
  j->set_created_at("2027-01-15T07:59:00Z");
  std::ostringstream jobs_wide;
  PrintImportJobTable(jobs, jobs_wide, TableStyle{true, kNow});
  EXPECT_THAT(jobs_wide.str(), HasSubstr("qcow2"));
  EXPECT_THAT(jobs_wide.str(), HasSubstr("checksum mismatch"));
}

}  // namespace
}  // namespace mvirt::zfs::cli
