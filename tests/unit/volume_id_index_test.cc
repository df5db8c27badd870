// VolumeIdIndex's reading of history events (InterpretHistory), and its
// answers where no history log can be read (the fake keeps none): a scan
// every time. How it follows a real pool's log: tests/zfs/id_index_test.cc.
#include "volume/volume_id_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"
#include "zfs/fake_zfs.h"
#include "zfs/faulty_zfs.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

IdIndexUpdate Interpret(const std::vector<PoolHistoryEvent>& events) {
  return InterpretHistory(events, "tank");
}

TEST(InterpretHistory, RereadsTheDirectChildrenOfThePoolThatEventsName) {
  IdIndexUpdate u = Interpret({{"create", "tank/a", " "},
                               {"set", "tank/b", "mvirt:id=x"},
                               {"inherit", "tank/c", "mvirt:id="},
                               {"destroy", "tank/d", "(bptree, mintxg=1)"},
                               {"set", "tank/a", "volmode=2"}});
  EXPECT_FALSE(u.rescan);
  EXPECT_THAT(u.reread, ElementsAre("tank/a", "tank/b", "tank/c", "tank/d"));
}

TEST(InterpretHistory, IgnoresSnapshotsDeeperDatasetsHiddenClonesAndOtherPools) {
  IdIndexUpdate u = Interpret({{"snapshot", "tank/a@s", " "},
                               {"set", "tank/a@s", "mvirt:id=x"},
                               {"rename", "tank/a@s", "-> @t"},
                               {"create", "tank/fs/deep", " "},
                               {"receive", "tank/a/%recv", " "},
                               {"clone swap", "tank/a/%rollback", "parent=a"},
                               {"create", "tank2/a", " "},
                               {"create", "tankx", " "},
                               {"set", "tank", "compression=15"}});
  EXPECT_FALSE(u.rescan);
  EXPECT_THAT(u.reread, IsEmpty());
}

TEST(InterpretHistory, ARenameRereadsBothNames) {
  EXPECT_THAT(Interpret({{"rename", "tank/.mvirt/creating/x", "-> tank/v"}}).reread,
              ElementsAre("tank/v"));
  EXPECT_THAT(Interpret({{"rename", "tank/v", "-> tank/fs/v"}}).reread, ElementsAre("tank/v"));
  EXPECT_THAT(Interpret({{"rename", "tank/a", "-> tank/b"}}).reread,
              ElementsAre("tank/a", "tank/b"));
}

TEST(InterpretHistory, WhatItCannotReadAsksForAScan) {
  EXPECT_TRUE(Interpret({{"rename", "tank/a", "tank/b"}}).rescan) << "a rename without its target";
  EXPECT_TRUE(Interpret({{"create", "tank/a", " "}, {"", "", ""}}).rescan)
      << "an event of the old numeric format";
}

class IdIndexWithoutLogTest : public ::testing::Test {
 protected:
  IdIndexWithoutLogTest() {
    fake_.AddPool("tank");
    EXPECT_OK(fake_.CreateVolume("tank/a", kVolsize, 8192, {{"mvirt:id", "A"}}));
  }
  static constexpr uint64_t kVolsize = 1 << 20;
  FakeZfs fake_;
  FaultyZfs zfs_{fake_};
  VolumeIdIndex index_{zfs_, "tank", "mvirt:id"};
};

TEST_F(IdIndexWithoutLogTest, ScansForEveryAnswerAndSeesEveryChange) {
  EXPECT_THAT(index_.Holders("A"), IsOkAndHolds(ElementsAre("tank/a")));
  EXPECT_OK(fake_.CreateVolume("tank/b", kVolsize, 8192, {{"mvirt:id", "A"}}));
  EXPECT_OK(fake_.CreateVolume("tank/c", kVolsize, 8192, {}));
  EXPECT_THAT(index_.Holders("A"), IsOkAndHolds(ElementsAre("tank/a", "tank/b")));
  EXPECT_THAT(index_.Holders("B"), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(index_.scans(), 3u);
}

TEST_F(IdIndexWithoutLogTest, AFailedReadIsTheAnswer) {
  zfs_.FailCall(ZfsCall::kScanVolumes, 1, absl::UnavailableError("injected"));
  EXPECT_THAT(index_.Holders("A"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(index_.Holders("A"), IsOkAndHolds(ElementsAre("tank/a")));
  zfs_.Reset();
  zfs_.FailCall(ZfsCall::kReadPoolHistory, 1, absl::NotFoundError("pool gone"));
  EXPECT_THAT(index_.Holders("A"), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace mvirt::zfs::testing
