// The CLI's import progress line and its transfer rate.
#include <gtest/gtest.h>

#include "cli/formatters.h"
#include "cli/import_follow.h"

namespace mvirt::zfs::cli {
namespace {

ImportJob Job(ImportJobState state, uint64_t written, uint64_t total) {
  ImportJob job;
  job.set_state(state);
  job.set_bytes_written(written);
  job.set_total_bytes(total);
  return job;
}

TEST(ImportProgress, WritingShowsBarPercentSizesRateAndEta) {
  std::string line =
      FormatImportProgress(Job(IMPORT_JOB_STATE_WRITING, 256 << 20, 1 << 30), 64 << 20);
  EXPECT_EQ(line, "writing     [#####...............]  25%  256 MiB/1 GiB  64 MiB/s  ETA 0:12");
}

TEST(ImportProgress, DownloadingCountsTheDownload) {
  ImportJob job = Job(IMPORT_JOB_STATE_DOWNLOADING, 0, 0);
  job.set_downloaded_bytes(3 << 20);
  job.set_download_total_bytes(12 << 20);
  EXPECT_EQ(FormatImportProgress(job, 0), "downloading [#####...............]  25%  3 MiB/12 MiB");
  job.set_download_total_bytes(0);  // the server announced no length
  EXPECT_EQ(FormatImportProgress(job, 1 << 20), "downloading 3 MiB  1 MiB/s");
}

TEST(ImportProgress, PendingFinishingAndWidth) {
  EXPECT_EQ(FormatImportProgress(Job(IMPORT_JOB_STATE_PENDING, 0, 0), 0),
            "pending     waiting for a free import slot");
  EXPECT_EQ(FormatImportProgress(Job(IMPORT_JOB_STATE_CONVERTING, 8 << 20, 8 << 20), 5e6),
            "converting  [####################] 100%  8 MiB/8 MiB  finishing");
  EXPECT_EQ(FormatImportProgress(Job(IMPORT_JOB_STATE_WRITING, 1, 2), 1, 10).size(), 10u);
}

TEST(TransferRate, MeasuresEachPhaseAfresh) {
  using std::chrono::seconds;
  auto t0 = std::chrono::steady_clock::now();
  TransferRate rate;
  rate.Add(IMPORT_JOB_STATE_DOWNLOADING, 0, t0);
  EXPECT_EQ(rate.bytes_per_second(), 0);
  rate.Add(IMPORT_JOB_STATE_DOWNLOADING, 100, t0 + seconds(1));
  EXPECT_DOUBLE_EQ(rate.bytes_per_second(), 100);
  rate.Add(IMPORT_JOB_STATE_DOWNLOADING, 300, t0 + seconds(2));
  EXPECT_DOUBLE_EQ(rate.bytes_per_second(), 0.7 * 100 + 0.3 * 200);
  rate.Add(IMPORT_JOB_STATE_CONVERTING, 0, t0 + seconds(3));  // a new phase
  EXPECT_EQ(rate.bytes_per_second(), 0);
}

}  // namespace
}  // namespace mvirt::zfs::cli
