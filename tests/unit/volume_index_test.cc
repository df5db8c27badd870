// VolumeIndex's reading of history records (InterpretHistory); its answers
// where no history log can be read (the fake keeps none): a scan every
// time; and, over a scripted log, what it reads again and what its total
// is without a scan. How it follows a real pool's log:
// tests/zfs/volume_index_test.cc.
#include "volume/volume_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <utility>

#include "status_matchers.h"
#include "zfs/fake_zfs.h"
#include "zfs/faulty_zfs.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

VolumeIndexUpdate Interpret(const std::vector<PoolHistoryEvent>& events) {
  return InterpretHistory(events, "tank");
}

PoolHistoryEvent Command(std::string line) { return {"", "", std::move(line), true}; }

TEST(InterpretHistory, RereadsTheDirectChildrenOfThePoolThatEventsName) {
  VolumeIndexUpdate u = Interpret({{"create", "tank/a", " "},
                                   {"set", "tank/b", "mvirt:id=x"},
                                   {"inherit", "tank/c", "mvirt:id="},
                                   {"destroy", "tank/d", "(bptree, mintxg=1)"},
                                   {"set", "tank/a", "volmode=2"}});
  EXPECT_FALSE(u.rescan);
  EXPECT_THAT(u.reread, ElementsAre("tank/a", "tank/b", "tank/c", "tank/d"));
}

TEST(InterpretHistory, IgnoresSnapshotsDeeperDatasetsAndOtherPools) {
  VolumeIndexUpdate u = Interpret({{"snapshot", "tank/a@s", " "},
                                   {"set", "tank/a@s", "mvirt:id=x"},
                                   {"rename", "tank/a@s", "-> @t"},
                                   {"create", "tank/fs/deep", " "},
                                   {"receive", "tank/fs/deep/%recv", " "},
                                   {"create", "tank2/a", " "},
                                   {"create", "tankx", " "},
                                   {"set", "tank", "compression=15"}});
  EXPECT_FALSE(u.rescan);
  EXPECT_THAT(u.reread, IsEmpty());
}

TEST(InterpretHistory, ARollbackOrReceiveIntoAVolumeRereadsIt) {
  // Both swap the volume's contents with a hidden clone's: its volsize may
  // be another one now.
  VolumeIndexUpdate u = Interpret({{"clone swap", "tank/a/%rollback", "parent=a"},
                                   {"receive", "tank/b/%recv", " "},
                                   {"finish receiving", "tank/b/%recv", "snap=s"}});
  EXPECT_FALSE(u.rescan);
  EXPECT_THAT(u.reread, ElementsAre("tank/a", "tank/b"));
}

TEST(InterpretHistory, ARenameRereadsBothNames) {
  EXPECT_THAT(Interpret({{"rename", "tank/.mvirt/creating/x", "-> tank/v"}}).reread,
              ElementsAre("tank/v"));
  EXPECT_THAT(Interpret({{"rename", "tank/v", "-> tank/fs/v"}}).reread, ElementsAre("tank/v"));
  EXPECT_THAT(Interpret({{"rename", "tank/a", "-> tank/b"}}).reread,
              ElementsAre("tank/a", "tank/b"));
}

TEST(InterpretHistory, AVolsizeCommandRereadsTheVolumesItNames) {
  // volsize changes write no internal event; the `zfs` command's record
  // names them.
  VolumeIndexUpdate u = Interpret(
      {Command("zfs set volsize=2G tank/a tank/b"), Command("zfs set volsize=1G tank/fs/deep"),
       Command("zfs snapshot tank/c@s"), Command("zfs set compression=lz4 tank/d")});
  EXPECT_FALSE(u.rescan);
  EXPECT_THAT(u.reread, ElementsAre("tank/a", "tank/b"));
}

TEST(InterpretHistory, WhatItCannotReadAsksForAScan) {
  EXPECT_TRUE(Interpret({{"rename", "tank/a", "tank/b"}}).rescan) << "a rename without its target";
  EXPECT_TRUE(Interpret({{"create", "tank/a", " "}, {"", "", ""}}).rescan)
      << "an event of the old numeric format";
  EXPECT_TRUE(Interpret({Command("mytool resize VOLSIZE of a")}).rescan)
      << "a volsize change that names no dataset of the pool";
}

class VolumeIndexWithoutLogTest : public ::testing::Test {
 protected:
  VolumeIndexWithoutLogTest() {
    fake_.AddPool("tank");
    EXPECT_OK(fake_.CreateVolume("tank/a", kVolsize, 8192, {{"mvirt:id", "A"}}));
  }
  static constexpr uint64_t kVolsize = 1 << 20;
  FakeZfs fake_;
  FaultyZfs zfs_{fake_};
  VolumeIndex index_{zfs_, "tank", "mvirt:id"};
};

TEST_F(VolumeIndexWithoutLogTest, ScansForEveryAnswerAndSeesEveryChange) {
  EXPECT_THAT(index_.Holders("A"), IsOkAndHolds(ElementsAre("tank/a")));
  EXPECT_OK(fake_.CreateVolume("tank/b", kVolsize, 8192, {{"mvirt:id", "A"}}));
  EXPECT_OK(fake_.CreateVolume("tank/c", kVolsize, 8192, {}));
  EXPECT_THAT(index_.Holders("A"), IsOkAndHolds(ElementsAre("tank/a", "tank/b")));
  EXPECT_THAT(index_.Holders("B"), IsOkAndHolds(IsEmpty()));
  EXPECT_OK(fake_.SetVolsize("tank/a", 4 * kVolsize));
  EXPECT_THAT(index_.Provisioned(),
              IsOkAndHolds(ProvisionedTotal{.bytes = 5 * kVolsize, .volumes = 2}));
  EXPECT_EQ(index_.scans(), 4u);
}

TEST_F(VolumeIndexWithoutLogTest, AFailedReadIsTheAnswer) {
  zfs_.FailCall(ZfsCall::kScanVolumes, 1, absl::UnavailableError("injected"));
  EXPECT_THAT(index_.Holders("A"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(index_.Holders("A"), IsOkAndHolds(ElementsAre("tank/a")));
  zfs_.Reset();
  zfs_.FailCall(ZfsCall::kReadPoolHistory, 1, absl::NotFoundError("pool gone"));
  EXPECT_THAT(index_.Provisioned(), StatusIs(absl::StatusCode::kNotFound));
}

// The fake with a history log a test writes: each ReadPoolHistory returns
// the records added since the position asked for.
class ScriptedHistoryZfs : public FakeZfs {
 public:
  void Log(PoolHistoryEvent record) { log_.push_back(std::move(record)); }

  absl::StatusOr<PoolHistoryPage> ReadPoolHistory(const std::string& pool,
                                                  const PoolHistoryPosition& from,
                                                  size_t max_events) override {
    if (!Exists(pool)) return absl::NotFoundError(pool);
    PoolHistoryPage page;
    for (size_t i = from.offset; i < log_.size(); ++i) {
      if (page.events.size() < max_events) {
        page.events.push_back(log_[i]);
      } else {
        page.events_dropped = true;
      }
    }
    page.next = {.load_guid = 1, .offset = log_.size()};
    return page;
  }

 private:
  std::vector<PoolHistoryEvent> log_;
};

class VolumeIndexWithLogTest : public ::testing::Test {
 protected:
  VolumeIndexWithLogTest() {
    fake_.AddPool("tank");
    EXPECT_OK(fake_.CreateVolume("tank/a", kVolsize, 8192, {{"mvirt:id", "A"}}));
    EXPECT_OK(fake_.CreateVolume("tank/unmanaged", kVolsize, 8192, {}));
  }
  static constexpr uint64_t kVolsize = 1 << 20;
  int NamedReads() const {
    int n = 0;
    for (const ZfsCallRecord& r : zfs_.calls()) n += r.call == ZfsCall::kScanVolumesNamed;
    return n;
  }
  ScriptedHistoryZfs fake_;
  FaultyZfs zfs_{fake_};
  VolumeIndex index_{zfs_, "tank", "mvirt:id"};
};

TEST_F(VolumeIndexWithLogTest, TheTotalFollowsTheLogWithoutAScan) {
  EXPECT_THAT(index_.Provisioned(), IsOkAndHolds(ProvisionedTotal{kVolsize, 1}));
  EXPECT_OK(fake_.CreateVolume("tank/b", 2 * kVolsize, 8192, {{"mvirt:id", "B"}}));
  fake_.Log({"create", "tank/b", " "});
  EXPECT_THAT(index_.Provisioned(), IsOkAndHolds(ProvisionedTotal{3 * kVolsize, 2}));
  EXPECT_OK(fake_.SetVolsize("tank/b", 4 * kVolsize));
  fake_.Log(Command("zfs set volsize=4M tank/b"));
  EXPECT_THAT(index_.Provisioned(), IsOkAndHolds(ProvisionedTotal{5 * kVolsize, 2}));
  EXPECT_OK(fake_.DestroyWithSnapshots("tank/a"));
  fake_.Log({"destroy", "tank/a", " "});
  EXPECT_THAT(index_.Provisioned(), IsOkAndHolds(ProvisionedTotal{4 * kVolsize, 1}));
  EXPECT_THAT(index_.Holders("A"), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(index_.scans(), 1u);
}

TEST_F(VolumeIndexWithLogTest, AChangeReportedByThisProcessIsReadAgainOnce) {
  EXPECT_THAT(index_.Provisioned(), IsOkAndHolds(ProvisionedTotal{kVolsize, 1}));
  EXPECT_OK(fake_.SetVolsize("tank/a", 3 * kVolsize));
  // No record: unseen until reported.
  EXPECT_THAT(index_.Provisioned(), IsOkAndHolds(ProvisionedTotal{kVolsize, 1}));
  index_.Changed("tank/a");
  zfs_.FailCall(ZfsCall::kScanVolumesNamed, 1, absl::UnavailableError("injected"));
  EXPECT_THAT(index_.Provisioned(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(index_.Provisioned(), IsOkAndHolds(ProvisionedTotal{3 * kVolsize, 1}))
      << "a failed read leaves the change to read again";
  EXPECT_EQ(NamedReads(), 2);
  EXPECT_THAT(index_.Provisioned(), IsOkAndHolds(ProvisionedTotal{3 * kVolsize, 1}));
  EXPECT_EQ(NamedReads(), 2) << "read again once";
  EXPECT_EQ(index_.scans(), 1u);
}

}  // namespace
}  // namespace mvirt::zfs::testing
