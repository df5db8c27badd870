#include "import/job_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace mvirt::zfs {
namespace {

namespace fs = std::filesystem;

ImportJobInfo CompletedJob() {
  ImportJobInfo job;
  job.id = "11111111-2222-4333-8444-555555555555";
  job.template_name = "debian-12";
  job.template_id = "99999999-2222-4333-8444-555555555555";
  job.source = "https://***@example.org/debian.qcow2";
  job.state = ImportState::kCompleted;
  job.bytes_written = 2u << 30;
  job.total_bytes = 2u << 30;
  job.downloaded_bytes = 300u << 20;
  job.download_total_bytes = 300u << 20;
  job.format = "qcow2";
  job.size_bytes = 4u << 30;
  job.sha256 = std::string(64, 'a');
  TemplateInfo t;
  t.id = job.template_id;
  t.name = "debian-12";
  t.snapshot_path = "vmpool/.mvirt/templates/debian-12@template";
  t.import_source = job.source;
  t.size_bytes = 4u << 30;
  t.created_at = 1764000000;
  job.template_info = t;
  job.created_at = 1763999000;
  job.completed_at = 1764000000;
  return job;
}

TEST(JobRecord, RoundTripsEveryField) {
  ImportJobInfo job = CompletedJob();
  absl::StatusOr<ImportJobInfo> back = ImportJobFromJson(ImportJobToJson(job));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->id, job.id);
  EXPECT_EQ(back->template_name, job.template_name);
  EXPECT_EQ(back->template_id, job.template_id);
  EXPECT_EQ(back->source, job.source);
  EXPECT_EQ(back->state, ImportState::kCompleted);
  EXPECT_EQ(back->bytes_written, job.bytes_written);
  EXPECT_EQ(back->total_bytes, job.total_bytes);
  EXPECT_EQ(back->downloaded_bytes, job.downloaded_bytes);
  EXPECT_EQ(back->download_total_bytes, job.download_total_bytes);
  EXPECT_EQ(back->format, "qcow2");
  EXPECT_EQ(back->size_bytes, job.size_bytes);
  EXPECT_EQ(back->sha256, job.sha256);
  ASSERT_TRUE(back->template_info.has_value());
  EXPECT_EQ(back->template_info->snapshot_path, job.template_info->snapshot_path);
  EXPECT_EQ(back->template_info->import_source, job.source);
  EXPECT_EQ(back->template_info->size_bytes, 4u << 30);
  EXPECT_EQ(back->created_at, job.created_at);
  EXPECT_EQ(back->completed_at, job.completed_at);
  EXPECT_FALSE(back->error.has_value());
}

TEST(JobRecord, FailedJobKeepsItsError) {
  ImportJobInfo job = CompletedJob();
  job.state = ImportState::kFailed;
  job.template_info.reset();
  job.size_bytes.reset();
  job.error = "download https://example.org/x: HTTP 404 (not found)";
  absl::StatusOr<ImportJobInfo> back = ImportJobFromJson(ImportJobToJson(job));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->state, ImportState::kFailed);
  EXPECT_EQ(back->error, job.error);
  EXPECT_FALSE(back->template_info.has_value());
  EXPECT_FALSE(back->size_bytes.has_value());
}

TEST(JobRecord, MalformedRecordsAreRefused) {
  for (const std::string& text :
       {std::string(""), std::string("{"), std::string("[]"), std::string(R"({"id": "x"})"),
        std::string(R"({"id": "not-a-uuid", "template_name": "t", "template_id": "t",
                        "source": "s", "state": "PENDING", "bytes_written": 0,
                        "total_bytes": 0, "created_at": 0})")}) {
    EXPECT_EQ(ImportJobFromJson(text).status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  std::string bad_state = ImportJobToJson(CompletedJob());
  bad_state.replace(bad_state.find("COMPLETED"), 9, "EXPLODED");
  EXPECT_FALSE(ImportJobFromJson(bad_state).ok());
}

TEST(JobStore, SavesLoadsReplacesAndRemoves) {
  char dir[] = "/tmp/mvirt-zfs-jobs-XXXXXX";
  const fs::path root = mkdtemp(dir);
  JobStore store((root / "jobs").string());
  ASSERT_TRUE(store.Open().ok());
  ImportJobInfo job = CompletedJob();
  job.state = ImportState::kWriting;
  ASSERT_TRUE(store.Save(job).ok());
  job.state = ImportState::kCompleted;
  ASSERT_TRUE(store.Save(job).ok());  // replaces the record
  ImportJobInfo other = CompletedJob();
  other.id = "22222222-2222-4333-8444-555555555555";
  ASSERT_TRUE(store.Save(other).ok());
  std::ofstream(root / "jobs" / "garbage.json") << "{ not json";
  std::ofstream(root / "jobs" / "leftover.json.tmp") << "half";

  JobStore reopened((root / "jobs").string());
  ASSERT_TRUE(reopened.Open().ok());
  EXPECT_FALSE(fs::exists(root / "jobs" / "leftover.json.tmp"));
  std::vector<ImportJobInfo> loaded = reopened.LoadAll();
  ASSERT_EQ(loaded.size(), 2u);  // the garbage record is skipped
  for (const ImportJobInfo& j : loaded) EXPECT_EQ(j.state, ImportState::kCompleted);

  ASSERT_TRUE(reopened.Remove(job.id).ok());
  EXPECT_TRUE(reopened.Remove(job.id).ok());  // idempotent
  EXPECT_EQ(reopened.LoadAll().size(), 1u);
  fs::remove_all(root);
}

}  // namespace
}  // namespace mvirt::zfs
