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

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
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

  // What `send` writes into a pipe that another thread reads.
  absl::StatusOr<std::string> Capture(const std::function<absl::Status(int fd)>& send) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
    std::string stream;
    std::thread reader([&] {
      char buf[65536];
      ssize_t n;
      while ((n = ::read(fds[0], buf, sizeof(buf))) != 0) {
        if (n > 0) stream.append(buf, n);
        if (n < 0 && errno != EINTR) break;
      }
    });
    absl::Status sent = send(fds[1]);
    ::close(fds[1]);
    reader.join();
    ::close(fds[0]);
    if (!sent.ok()) return sent;
    return stream;
  }
  // The send stream of `snapshot` (from `from`).
  absl::StatusOr<std::string> Capture(const std::string& snapshot, const std::string& from = "") {
    return Capture([&](int fd) { return zfs().SendSnapshot(fd, snapshot, from, /*raw=*/false); });
  }
  // The rest of the stream an interrupted receive's `token` describes.
  absl::StatusOr<std::string> CaptureResumed(const std::string& dataset, const std::string& token) {
    return Capture([&](int fd) { return zfs().ResumeSend(fd, dataset, token); });
  }

  // Receives `stream` as `target` the way the daemon does: its BEGIN record
  // read and parsed first, the rest read by ZFS from a pipe that another
  // thread fills (and closes: a stream cut short ends there).
  absl::Status Feed(const std::string& stream, const std::string& target,
                    const UserProps& props = {}) {
    absl::StatusOr<SendStreamBegin> begin =
        ParseSendStreamBegin(absl::string_view(stream).substr(0, kSendStreamBeginBytes));
    if (!begin.ok()) return begin.status();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
    std::thread writer([&] {
      sigset_t pipe_signal;  // a receive that stops early closes the pipe
      sigemptyset(&pipe_signal);
      sigaddset(&pipe_signal, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
      for (size_t at = kSendStreamBeginBytes; at < stream.size();) {
        ssize_t n = ::write(fds[1], stream.data() + at, stream.size() - at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        at += static_cast<size_t>(n);
      }
      ::close(fds[1]);
    });
    absl::Status received = zfs().ReceiveSnapshot(fds[0], *begin, target, props);
    ::close(fds[0]);
    writer.join();
    return received;
  }

  // Volume `v` with "first" in snapshot @a and "second" in @b (and now);
  // the full stream of @a and the incremental from @a to @b.
  void MakeStreams(const std::string& v, std::string* full, std::string* delta) {
    MakeVolume(v);
    env().WriteData(v, "first");
    Snap(v + "@a");
    env().WriteData(v, "second");
    Snap(v + "@b");
    absl::StatusOr<std::string> f = Capture(v + "@a");
    absl::StatusOr<std::string> d = Capture(v + "@b", v + "@a");
    ASSERT_OK(f);
    ASSERT_OK(d);
    *full = *std::move(f);
    *delta = *std::move(d);
  }

  uint64_t GuidOf(const std::string& snapshot) {
    absl::StatusOr<SnapshotProps> s = zfs().GetSnapshot(snapshot);
    EXPECT_OK(s.status()) << snapshot;
    return s.ok() ? s->guid : 0;
  }

  std::unique_ptr<ZfsContractEnv> env_;
};

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_UNIT_ZFS_CONTRACT_H_
