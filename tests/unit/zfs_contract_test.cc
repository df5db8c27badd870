// The Zfs contract (zfs_contract_tests.h) on FakeZfs. The same tests run on
// real ZFS in tests/zfs/zfs_contract_test.cc.
#include <memory>
#include <string>

#include "zfs/fake_zfs.h"
#include "zfs_contract_tests.h"

namespace mvirt::zfs::testing {
namespace {

// The world of a FakeZfs: its open set, holds, bookmarks and data.
class FakeZfsEnv final : public ZfsContractEnv {
 public:
  explicit FakeZfsEnv(const std::string& test) : root_("mvcontract/" + test) {
    fake_.AddPool("mvcontract");
    EXPECT_OK(fake_.EnsureHiddenFilesystem(root_, /*zvol_devices=*/true));
  }
  Zfs& zfs() override { return fake_; }
  const std::string& root() const override { return root_; }
  void OpenDevice(const std::string& zvol) override { fake_.SetOpen(zvol, true); }
  void CloseDevice(const std::string& zvol) override { fake_.SetOpen(zvol, false); }
  void Hold(const std::string& snapshot, const std::string& tag) override {
    EXPECT_OK(fake_.Hold(snapshot, tag));
  }
  void Release(const std::string& snapshot, const std::string& tag) override {
    EXPECT_OK(fake_.Release(snapshot, tag));
  }
  void Bookmark(const std::string& snapshot, const std::string& bookmark) override {
    EXPECT_OK(fake_.Bookmark(snapshot, bookmark));
  }
  void WriteData(const std::string& zvol, const std::string& data) override {
    EXPECT_OK(fake_.WriteData(zvol, data));
  }
  std::string ReadData(const std::string& zvol) override {
    absl::StatusOr<std::string> data = fake_.ReadData(zvol);
    EXPECT_OK(data);
    return data.value_or("");
  }
  std::string NativeProperty(const std::string& dataset, const std::string& key) override {
    absl::StatusOr<std::string> value = fake_.NativeProperty(dataset, key);
    EXPECT_OK(value);
    return value.value_or("");
  }

 private:
  FakeZfs fake_;
  const std::string root_;
};

INSTANTIATE_TEST_SUITE_P(
    Fake, ZfsContractTest,
    ::testing::Values(ZfsContractTarget{
        "FakeZfs", [](const std::string& test) { return std::make_unique<FakeZfsEnv>(test); }}),
    ContractTargetName);

}  // namespace
}  // namespace mvirt::zfs::testing
