// FaultyZfs: failures that reach nothing, crashes after a chosen call, and
// the call log.
#include "zfs/faulty_zfs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"
#include "zfs/fake_zfs.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FaultyZfsTest : public ::testing::Test {
 protected:
  void SetUp() override { fake_.AddPool("p"); }
  absl::Status Create(const std::string& name) {
    return zfs_.CreateVolume(name, 1 << 20, 16384, {});
  }
  FakeZfs fake_;
  FaultyZfs zfs_{fake_};
};

TEST_F(FaultyZfsTest, PassesCallsThroughAndRecordsThem) {
  ASSERT_OK(Create("p/a"));
  EXPECT_THAT(zfs_.Snapshot({"p/a@s", "p/a@t"}, {}),  // failures of the wrapped Zfs pass too
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(zfs_.Exists("p/a"));
  std::vector<std::string> log;
  for (const ZfsCallRecord& r : zfs_.calls()) log.push_back(r.ToString());
  EXPECT_THAT(log, ElementsAre("CreateVolume p/a", "Snapshot p/a@s", "Exists p/a"));
}

TEST_F(FaultyZfsTest, FailsTheNthCallWithoutReachingTheWrappedZfs) {
  zfs_.FailCall(2, absl::PermissionDeniedError("injected"));
  ASSERT_OK(Create("p/a"));
  const std::string before = fake_.Dump();
  EXPECT_THAT(Create("p/b"), StatusIs(absl::StatusCode::kPermissionDenied, "injected"));
  EXPECT_EQ(fake_.Dump(), before);
  EXPECT_OK(Create("p/b"));  // one call only
}

TEST_F(FaultyZfsTest, FailsTheNthCallOfOneMethod) {
  zfs_.FailCall(ZfsCall::kGetVolume, 2, absl::UnavailableError("EIO"));
  ASSERT_OK(Create("p/a"));
  EXPECT_OK(zfs_.GetVolume("p/a").status());
  EXPECT_OK(zfs_.GetPool("p").status());
  EXPECT_THAT(zfs_.GetVolume("p/a"), StatusIs(absl::StatusCode::kUnavailable, "EIO"));
  EXPECT_OK(zfs_.GetVolume("p/a").status());
}

TEST_F(FaultyZfsTest, AfterACrashNothingReachesTheWrappedZfs) {
  zfs_.CrashAfterCall(2);
  ASSERT_OK(Create("p/a"));
  EXPECT_FALSE(zfs_.crashed());
  ASSERT_OK(Create("p/b"));  // the 2nd call completes
  EXPECT_TRUE(zfs_.crashed());
  const std::string after = fake_.Dump();
  EXPECT_THAT(Create("p/c"), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("crashed")));
  EXPECT_FALSE(zfs_.Exists("p/a"));  // Exists has no status: false
  EXPECT_THAT(zfs_.ListVolumes("p"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(fake_.Dump(), after);
  zfs_.Reset();
  EXPECT_FALSE(zfs_.crashed());
  EXPECT_TRUE(zfs_.Exists("p/b"));
  EXPECT_EQ(zfs_.calls().size(), 1u);
}

TEST_F(FaultyZfsTest, CrashesAfterTheNthCallOfOneMethod) {
  zfs_.CrashAfterCall(ZfsCall::kCreateVolume, 2);
  ASSERT_OK(Create("p/a"));
  EXPECT_TRUE(zfs_.Exists("p/a"));
  ASSERT_OK(Create("p/b"));
  EXPECT_TRUE(zfs_.crashed());
  EXPECT_TRUE(fake_.Exists("p/b"));
  EXPECT_THAT(zfs_.Rename("p/a", "p/c"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(fake_.Exists("p/a"));
}

TEST(ZfsCallTest, NamesAndMutations) {
  EXPECT_EQ(ZfsCallName(ZfsCall::kGetPool), "GetPool");
  EXPECT_EQ(ZfsCallName(ZfsCall::kDestroyWithSnapshots), "DestroyWithSnapshots");
  EXPECT_EQ(ZfsCallName(ZfsCall::kEnsureHiddenFilesystem), "EnsureHiddenFilesystem");
  EXPECT_FALSE(IsMutation(ZfsCall::kListSnapshots));
  EXPECT_TRUE(IsMutation(ZfsCall::kRename));
}

}  // namespace
}  // namespace mvirt::zfs::testing
