// VolumeIndex on real ZFS: it follows the pool's history log, so changes
// made with `zfs` by hand (ids and volsizes) are seen at the next answer
// without scanning the pool again, and it scans again when the log lost
// records (its ring wrapped) or the pool was imported again. A pool of its own: the log's
// size is fixed by the pool's.
#include "volume/volume_index.h"

#include <signal.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"
#include "zfs/zfs.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class VolumeIndexTest : public ::testing::Test {
 protected:
  VolumeIndexTest() : pool_("mvidindex") {
    absl::StatusOr<std::unique_ptr<Zfs>> zfs = OpenLibZfs();
    if (!zfs.ok()) {
      ADD_FAILURE() << zfs.status();
      return;
    }
    zfs_ = *std::move(zfs);
    index_ = std::make_unique<VolumeIndex>(*zfs_, pool_.name(), "mvirt:id");
  }

  // The holders of `id`, their pool prefix dropped.
  std::vector<std::string> Holders(const std::string& id) {
    absl::StatusOr<std::vector<std::string>> holders = index_->Holders(id);
    EXPECT_TRUE(holders.ok()) << holders.status();
    std::vector<std::string> names;
    if (!holders.ok()) return names;
    for (const std::string& h : *holders) names.push_back(h.substr(pool_.name().size() + 1));
    return names;
  }
  std::string Ds(const std::string& name) const { return pool_.name() + "/" + name; }

  ScratchPool pool_;
  std::unique_ptr<Zfs> zfs_;
  std::unique_ptr<VolumeIndex> index_;
};

TEST_F(VolumeIndexTest, FollowsChangesMadeByHandWithoutScanningAgain) {
  ASSERT_NE(index_, nullptr);
  MustRun("zfs create -s -V 16M -o mvirt:id=A " + Ds("a"));
  EXPECT_THAT(Holders("A"), ElementsAre("a"));
  EXPECT_EQ(index_->scans(), 1u) << "the first answer scans the pool";

  MustRun("zfs create -s -V 16M -o mvirt:id=B " + Ds("b"));
  EXPECT_THAT(Holders("B"), ElementsAre("b")) << "a create";
  MustRun("zfs rename " + Ds("b") + " " + Ds("c"));
  EXPECT_THAT(Holders("B"), ElementsAre("c")) << "a rename";
  MustRun("zfs set mvirt:id=C " + Ds("c"));
  EXPECT_THAT(Holders("B"), IsEmpty()) << "a set";
  EXPECT_THAT(Holders("C"), ElementsAre("c"));
  MustRun("zfs inherit mvirt:id " + Ds("a"));
  EXPECT_THAT(Holders("A"), IsEmpty()) << "an inherit";

  MustRun("zfs snapshot " + Ds("c@s"));
  MustRun("zfs clone -o mvirt:id=D " + Ds("c@s") + " " + Ds("d"));
  EXPECT_THAT(Holders("D"), ElementsAre("d")) << "a clone";
  DestroyDataset(Ds("d"));  // retried while udev still probes the new device
  EXPECT_THAT(Holders("D"), IsEmpty()) << "a destroy";

  // Only direct children of the pool are volumes; one moved up becomes one.
  MustRun("zfs create -o mountpoint=none " + Ds("fs"));
  MustRun("zfs create -s -V 16M -o mvirt:id=E " + Ds("fs/deep"));
  EXPECT_THAT(Holders("E"), IsEmpty()) << "below a filesystem: not a volume";
  MustRun("zfs rename " + Ds("fs/deep") + " " + Ds("e"));
  EXPECT_THAT(Holders("E"), ElementsAre("e")) << "renamed up into the pool";
  MustRun("zfs set mvirt:id=F " + Ds("fs"));
  EXPECT_THAT(Holders("F"), IsEmpty()) << "a filesystem";

  // A receive that sets an id; then two holders of one id.
  MustRun("zfs send " + Ds("c@s") + " | zfs receive -o mvirt:id=R " + Ds("r"));
  EXPECT_THAT(Holders("R"), ElementsAre("r")) << "a receive";
  MustRun("zfs set mvirt:id=C " + Ds("r"));
  EXPECT_THAT(Holders("C"), ElementsAre("c", "r"));

  EXPECT_EQ(index_->scans(), 1u) << "every change was followed through the history log";
  VolumeIndex fresh(*zfs_, pool_.name(), "mvirt:id");  // answers from a scan of its own
  const std::vector<std::string> error = {"error"};
  for (const std::string id : {"A", "B", "C", "D", "E", "F", "R"}) {
    EXPECT_EQ(index_->Holders(id).value_or(error), fresh.Holders(id).value_or(error))
        << "id " << id;
  }
}

TEST_F(VolumeIndexTest, TheProvisionedTotalFollowsVolsizesChangedByHandWithoutScanningAgain) {
  ASSERT_NE(index_, nullptr);
  constexpr uint64_t kMiB = 1 << 20;
  MustRun("zfs create -s -V 16M -o mvirt:id=A " + Ds("a"));
  MustRun("zfs create -s -V 64M " + Ds("unmanaged"));
  EXPECT_THAT(index_->Provisioned(), IsOkAndHolds(ProvisionedTotal{16 * kMiB, 1}));
  ASSERT_EQ(index_->scans(), 1u);

  // `zfs set volsize` writes no internal event; the command's own record,
  // written in the next transaction group (zpool sync: now), names it.
  MustRun("zfs snapshot " + Ds("a@small"));
  MustRun("zfs set volsize=48M " + Ds("a") + " && zpool sync " + pool_.name());
  EXPECT_THAT(index_->Provisioned(), IsOkAndHolds(ProvisionedTotal{48 * kMiB, 1}));
  // A rollback brings back the snapshot's volsize (a clone swap of the
  // hidden a/%rollback).
  MustRun("zfs rollback " + Ds("a@small"));
  ASSERT_EQ(ZfsGet(Ds("a"), "volsize"), std::to_string(16 * kMiB)) << "rollback restores volsize";
  EXPECT_THAT(index_->Provisioned(), IsOkAndHolds(ProvisionedTotal{16 * kMiB, 1}));
  // Managed by hand: counted; destroyed: not.
  MustRun("zfs set mvirt:id=U " + Ds("unmanaged"));
  EXPECT_THAT(index_->Provisioned(), IsOkAndHolds(ProvisionedTotal{80 * kMiB, 2}));
  DestroyDataset(Ds("unmanaged"));
  EXPECT_THAT(index_->Provisioned(), IsOkAndHolds(ProvisionedTotal{16 * kMiB, 1}));
  // This process's own change, reported.
  ASSERT_OK(zfs_->SetVolsize(Ds("a"), 32 * kMiB));
  index_->Changed(Ds("a"));
  EXPECT_THAT(index_->Provisioned(), IsOkAndHolds(ProvisionedTotal{32 * kMiB, 1}));

  EXPECT_EQ(index_->scans(), 1u) << "every change was followed through the history log";
  VolumeIndex fresh(*zfs_, pool_.name(), "mvirt:id");
  EXPECT_THAT(fresh.Provisioned(), IsOkAndHolds(ProvisionedTotal{32 * kMiB, 1}));
}

TEST_F(VolumeIndexTest, ScansAgainWhenTheLogLostRecords) {
  ASSERT_NE(index_, nullptr);
  MustRun("zfs create -s -V 16M -o mvirt:id=A " + Ds("a"));
  EXPECT_THAT(Holders("A"), ElementsAre("a"));
  ASSERT_EQ(index_->scans(), 1u);

  // A change whose record is then overwritten: the pool's log (about 2 MiB
  // for this 2 GiB pool) is a ring, and one channel program writes over
  // 3 MiB of property sets into it.
  MustRun("zfs create -s -V 16M -o mvirt:id=B " + Ds("b"));
  MustRun("zfs create -o mountpoint=none " + Ds("filler"));
  const std::string script = "/var/tmp/mvirt-zfs-test-fill-history.lua";
  std::ofstream(script) << "local v = string.rep('x', 1000)\n"
                           "for i = 1, 3000 do\n"
                           "  local err = zfs.sync.set_prop('"
                        << Ds("filler")
                        << "', 'mvirt:filler', v .. i)\n"
                           "  if err ~= 0 then error('set_prop: ' .. err) end\n"
                           "end\n";
  MustRun("zfs program -t 100000000 -m 100000000 " + pool_.name() + " " + script);
  MustRun("rm -f " + script);
  const CommandResult history = Shell("zpool history -i " + pool_.name());
  ASSERT_EQ(history.exit_code, 0) << history.output;
  ASSERT_EQ(history.output.find("create " + Ds("b")), std::string::npos)
      << "the log still holds the create of b: it did not wrap";

  EXPECT_THAT(Holders("B"), ElementsAre("b"));
  EXPECT_EQ(index_->scans(), 2u) << "records lost: the pool scanned again";
  MustRun("zfs set mvirt:id=G " + Ds("b"));
  EXPECT_THAT(Holders("G"), ElementsAre("b"));
  EXPECT_EQ(index_->scans(), 2u) << "followed through the log again after the scan";
}

TEST_F(VolumeIndexTest, ScansAgainAfterThePoolWasImportedAgain) {
  ASSERT_NE(index_, nullptr);
  MustRun("zfs create -s -V 16M -o mvirt:id=A " + Ds("a"));
  EXPECT_THAT(Holders("A"), ElementsAre("a"));
  ASSERT_EQ(index_->scans(), 1u);

  // udev may still probe the new zvol's device: retried while busy.
  MustRun("for i in $(seq 20); do zpool export " + pool_.name() +
          " 2>/dev/null && exit 0; sleep 0.5; done; zpool export " + pool_.name());
  EXPECT_EQ(index_->Holders("A").status().code(), absl::StatusCode::kNotFound)
      << "the pool is gone";
  MustRun("zpool import -o cachefile=none -d /var/tmp/mvirt-zfs-test-" + pool_.name() + ".img " +
          pool_.name());
  // A position in the log of the earlier import is not used: the pool
  // could have been rewound, or be another pool of the same name.
  MustRun("zfs set mvirt:id=B " + Ds("a"));
  EXPECT_THAT(Holders("B"), ElementsAre("a"));
  EXPECT_EQ(index_->scans(), 2u);
}

}  // namespace
}  // namespace mvirt::zfs::testing
