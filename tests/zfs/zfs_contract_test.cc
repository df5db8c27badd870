// The Zfs contract (tests/unit/zfs_contract_tests.h) on LibZfs and real
// OpenZFS: what proves that FakeZfs behaves like ZFS. Runs without the
// daemon, on a scratch pool of its own ("mvcontract"), one filesystem per
// test. Devices are opened, written and read through /dev/zvol; holds and
// bookmarks are made with the zfs command.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "zfs/zfs.h"
#include "zfs_contract_tests.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

constexpr char kContractPool[] = "mvcontract";
constexpr size_t kBlockBytes = 4096;

ScratchPool* g_contract_pool = nullptr;  // made by the first test, destroyed at the end

class ContractPoolEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    delete g_contract_pool;
    g_contract_pool = nullptr;
  }
};
[[maybe_unused]] ::testing::Environment* const kContractEnvironment =
    ::testing::AddGlobalTestEnvironment(new ContractPoolEnvironment);

// Waits up to 10 s until the device link of `zvol` names it (BLKZNAME).
bool WaitForZvol(const std::string& zvol) {
  const std::string path = "/dev/zvol/" + zvol;
  for (int i = 0; i < 1000; ++i) {
    if (DeviceDatasetName(path) == zvol) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// The first kBlockBytes of `zvol`'s device, read or written with O_DIRECT
// (no page cache: a rollback changes the data under it).
class DirectBlock {
 public:
  DirectBlock() : buf_(static_cast<char*>(std::aligned_alloc(kBlockBytes, kBlockBytes))) {
    std::memset(buf_.get(), 0, kBlockBytes);
  }
  // Retried for up to 10 s: udev makes the link after a create or a
  // rename, and the kernel may replace the device after a rollback.
  bool Transfer(const std::string& zvol, bool write) {
    const std::string path = "/dev/zvol/" + zvol;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    do {
      if (DeviceDatasetName(path) == zvol && TransferOnce(path, write)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }
  char* data() { return buf_.get(); }

 private:
  bool TransferOnce(const std::string& path, bool write) {
    int fd = ::open(path.c_str(), (write ? O_WRONLY | O_SYNC : O_RDONLY) | O_DIRECT | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n =
        write ? ::pwrite(fd, buf_.get(), kBlockBytes, 0) : ::pread(fd, buf_.get(), kBlockBytes, 0);
    ::close(fd);
    return n == static_cast<ssize_t>(kBlockBytes);
  }
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> buf_;
};

class LibZfsEnv final : public ZfsContractEnv {
 public:
  LibZfsEnv(std::unique_ptr<Zfs> zfs, const std::string& test)
      : zfs_(std::move(zfs)), root_(std::string(kContractPool) + "/" + test) {
    Shell("zfs destroy -R -f " + root_ + " 2>/dev/null");
    MustRun("zfs create -o canmount=off -o mountpoint=none -o volmode=dev " + root_);
  }
  ~LibZfsEnv() override {
    for (const auto& [zvol, fd] : open_) ::close(fd);
    for (const auto& [snapshot, tag] : holds_) Shell("zfs release " + tag + " " + snapshot);
    CommandResult r;
    for (int attempt = 0; attempt < 20; ++attempt) {  // udev may still probe a device
      r = Shell("zfs destroy -R -f " + root_);
      if (r.exit_code == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    EXPECT_EQ(r.exit_code, 0) << "zfs destroy -R " << root_ << ": " << r.output;
  }

  Zfs& zfs() override { return *zfs_; }
  const std::string& root() const override { return root_; }

  void OpenDevice(const std::string& zvol) override {
    ASSERT_TRUE(WaitForZvol(zvol)) << "no device for " << zvol;
    int fd = ::open(("/dev/zvol/" + zvol).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << zvol << ": " << std::strerror(errno);
    open_[zvol] = fd;
  }
  void CloseDevice(const std::string& zvol) override {
    auto it = open_.find(zvol);
    ASSERT_NE(it, open_.end()) << zvol;
    ::close(it->second);
    open_.erase(it);
  }
  void Hold(const std::string& snapshot, const std::string& tag) override {
    MustRun("zfs hold " + tag + " " + snapshot);
    holds_.insert({snapshot, tag});
  }
  void Release(const std::string& snapshot, const std::string& tag) override {
    MustRun("zfs release " + tag + " " + snapshot);
    holds_.erase({snapshot, tag});
  }
  void Bookmark(const std::string& snapshot, const std::string& bookmark) override {
    MustRun("zfs bookmark " + snapshot + " " + bookmark);
  }
  void WriteData(const std::string& zvol, const std::string& data) override {
    ASSERT_LT(data.size(), kBlockBytes);
    DirectBlock block;
    std::memcpy(block.data(), data.data(), data.size());
    EXPECT_TRUE(block.Transfer(zvol, /*write=*/true)) << "write " << zvol;
  }
  std::string ReadData(const std::string& zvol) override {
    DirectBlock block;
    EXPECT_TRUE(block.Transfer(zvol, /*write=*/false)) << "read " << zvol;
    return std::string(block.data(), strnlen(block.data(), kBlockBytes));
  }
  std::string NativeProperty(const std::string& dataset, const std::string& key) override {
    return ZfsGet(dataset, key);
  }

 private:
  std::unique_ptr<Zfs> zfs_;
  const std::string root_;
  std::map<std::string, int> open_;                      // zvol -> fd
  std::set<std::pair<std::string, std::string>> holds_;  // snapshot, tag
};

std::unique_ptr<ZfsContractEnv> MakeLibZfsEnv(const std::string& test) {
  struct stat st;
  if (::stat("/dev/zfs", &st) != 0) {
    ADD_FAILURE() << "/dev/zfs is missing: run the real-ZFS tests with scripts/test.sh";
    return nullptr;
  }
  // As the daemon does: CopySnapshot's send may write into a pipe whose
  // reading end the failed receive has closed.
  ::signal(SIGPIPE, SIG_IGN);
  absl::StatusOr<std::unique_ptr<Zfs>> zfs = OpenLibZfs();
  if (!zfs.ok()) {
    ADD_FAILURE() << zfs.status();
    return nullptr;
  }
  if (g_contract_pool == nullptr) g_contract_pool = new ScratchPool(kContractPool);
  return std::make_unique<LibZfsEnv>(*std::move(zfs), test);
}

INSTANTIATE_TEST_SUITE_P(Real, ZfsContractTest,
                         ::testing::Values(ZfsContractTarget{"LibZfs", MakeLibZfsEnv}),
                         ContractTargetName);

}  // namespace
}  // namespace mvirt::zfs::testing
