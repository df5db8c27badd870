// The contract of the Zfs interface (src/zfs/zfs.h) as one parametrized
// suite: the same tests run on FakeZfs on any host (tests/unit/
// zfs_contract_test.cc) and on LibZfs against real OpenZFS in the QEMU guest
// (tests/zfs/zfs_contract_test.cc). The real run is what proves the fake.
//
// A test may use only what real ZFS can do without the daemon; what the
// interface cannot do (open a device, hold a snapshot, write data) goes
// through ZfsContractEnv. The tests are in zfs_contract_tests.h: include it
// in exactly one file per test binary, then
// INSTANTIATE_TEST_SUITE_P(Name, ZfsContractTest, ..., ContractTargetName).
#ifndef MVIRT_ZFS_TESTS_UNIT_ZFS_CONTRACT_H_
#define MVIRT_ZFS_TESTS_UNIT_ZFS_CONTRACT_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "status_matchers.h"
#include "zfs/zfs.h"

namespace mvirt::zfs::testing {

// The world around a Zfs under test: one fresh filesystem per test (zvols
// below it get devices), removed when the env is destroyed.
class ZfsContractEnv {
 public:
  virtual ~ZfsContractEnv() = default;
  virtual Zfs& zfs() = 0;
  // "pool/<test>": a filesystem with volmode=dev, canmount=off, mountpoint=none.
  virtual const std::string& root() const = 0;
  // Opens the zvol's device (the kernel's long hold) until CloseDevice.
  virtual void OpenDevice(const std::string& zvol) = 0;
  virtual void CloseDevice(const std::string& zvol) = 0;
  // `zfs hold` / `zfs release` / `zfs bookmark SNAPSHOT BOOKMARK`.
  virtual void Hold(const std::string& snapshot, const std::string& tag) = 0;
  virtual void Release(const std::string& snapshot, const std::string& tag) = 0;
  virtual void Bookmark(const std::string& snapshot, const std::string& bookmark) = 0;
  // Writes `data` (under 4 KiB, no NUL) at the start of the zvol, replacing
  // what was there; ReadData returns the zvol's first bytes up to a NUL.
  virtual void WriteData(const std::string& zvol, const std::string& data) = 0;
  virtual std::string ReadData(const std::string& zvol) = 0;
  // `zfs get -H -o value KEY DATASET`.
  virtual std::string NativeProperty(const std::string& dataset, const std::string& key) = 0;
};

struct ZfsContractTarget {
  std::string name;  // the test name suffix: "FakeZfs", "LibZfs"
  // A fresh env whose root is named after `test` (letters, digits, '_').
  std::function<std::unique_ptr<ZfsContractEnv>(const std::string& test)> make;
};

// For gtest's messages.
inline void PrintTo(const ZfsContractTarget& target, std::ostream* os) { *os << target.name; }

inline std::string ContractTargetName(const ::testing::TestParamInfo<ZfsContractTarget>& info) {
  return info.param.name;
}

class ZfsContractTest : public ::testing::TestWithParam<ZfsContractTarget> {
 protected:
  static constexpr uint64_t kBlock = 16 * 1024;
  static constexpr uint64_t kSize = 8 * 1024 * 1024;

  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : test) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    env_ = GetParam().make(test);
    ASSERT_NE(env_, nullptr);
  }
  void TearDown() override { env_.reset(); }

  Zfs& zfs() { return env_->zfs(); }
  ZfsContractEnv& env() { return *env_; }
  // The dataset `sub` below the test's root.
  std::string Ds(const std::string& sub) const { return absl::StrCat(env_->root(), "/", sub); }

  void MakeVolume(const std::string& name, uint64_t size = kSize, const UserProps& props = {}) {
    ASSERT_OK(zfs().CreateVolume(name, size, kBlock, props)) << name;
  }
  void Snap(const std::string& snapshot, const UserProps& props = {}) {
    ASSERT_OK(zfs().Snapshot({snapshot}, props)) << snapshot;
  }

  // What the interface shows of `datasets` and their snapshots, and the
  // zvols' data: equal before and after a call that changed nothing.
  std::string Describe(const std::vector<std::string>& datasets) {
    std::vector<std::string> lines;
    for (const std::string& name : datasets) {
      absl::StatusOr<VolumeProps> v = zfs().GetVolume(name);
      if (!v.ok()) {
        lines.push_back(absl::StrCat(name, ": ", v.status().code()));
        continue;
      }
      lines.push_back(absl::StrCat(
          name, " volsize=", v->volsize, " origin=", v->origin, " txg=", v->createtxg,
          " guid=", v->guid, " props=", absl::StrJoin(v->user_props, ",", absl::PairFormatter("=")),
          " data=", env_->ReadData(name)));
      absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs().ListSnapshots(name);
      if (!snaps.ok()) continue;
      for (const SnapshotProps& s : *snaps) {
        lines.push_back(absl::StrCat("  ", s.name, " txg=", s.createtxg, " holds=", s.userrefs,
                                     " clones=", absl::StrJoin(s.clones, ",")));
      }
    }
    return absl::StrJoin(lines, "\n");
  }

  std::vector<std::string> SnapshotNames(const std::string& dataset) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs().ListSnapshots(dataset);
    EXPECT_OK(snaps.status());
    if (!snaps.ok()) return out;
    for (const SnapshotProps& s : *snaps) out.push_back(s.name.substr(s.name.find('@') + 1));
    return out;
  }

  std::unique_ptr<ZfsContractEnv> env_;
};

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_UNIT_ZFS_CONTRACT_H_
