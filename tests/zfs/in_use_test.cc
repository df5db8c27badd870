// Real-ZFS tests of "in use": delete and rollback (to the latest and to an
// older snapshot) of a volume whose device something holds: a process, a
// loop device, a device-mapper table, a mounted filesystem, a mount in
// another mount and PID namespace. The kernel refuses, the refusal names the
// holder, and nothing changed: the pool listing, the snapshots, and the bytes
// the holder reads. Once the holder is gone, the same calls succeed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <string>
#include <thread>

#include "api_fixture.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

enum class HolderKind { kOpen, kLoop, kDeviceMapper, kMount, kOtherNamespaces };

std::string KindName(HolderKind kind) {
  switch (kind) {
    case HolderKind::kOpen:
      return "open";
    case HolderKind::kLoop:
      return "loop";
    case HolderKind::kDeviceMapper:
      return "dm";
    case HolderKind::kMount:
      return "mount";
    case HolderKind::kOtherNamespaces:
      return "ns";
  }
  return "";
}

bool HasFilesystem(HolderKind kind) {
  return kind == HolderKind::kMount || kind == HolderKind::kOtherNamespaces;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool WaitUntil(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Something that keeps the zvol at `device` open, set up by the tools an
// operator would use; released on destruction.
class Holder {
 public:
  Holder(HolderKind kind, const std::string& device, const std::string& tag)
      : kind_(kind), device_(device), tag_(tag) {
    const std::string real = Trimmed(MustRun("readlink -f " + device));
    switch (kind) {
      case HolderKind::kOpen: {
        pid_ = std::stoi(
            MustRun("sh -c 'exec 3<" + device + "; exec sleep 600' >/dev/null 2>&1 & echo $!"));
        EXPECT_TRUE(WaitUntil([&] {
          return Trimmed(Shell("readlink /proc/" + std::to_string(pid_) + "/fd/3").output) ==
                     real &&
                 Trimmed(Shell("cat /proc/" + std::to_string(pid_) + "/comm").output) == "sleep";
        })) << "the holder process did not open the device";
        expected_ = "pid " + std::to_string(pid_) + " (sleep)";
        read_path_ = device;
        break;
      }
      case HolderKind::kLoop:
        Shell("modprobe loop");
        path_ = Trimmed(MustRun("losetup -f --show " + device));
        expected_ = "loop device " + path_;
        read_path_ = path_;
        break;
      case HolderKind::kDeviceMapper: {
        Shell("modprobe dm-mod");
        const std::string sectors = Trimmed(MustRun("blockdev --getsz " + device));
        path_ = "mvtest-" + tag;
        MustRun("dmsetup create --noudevsync " + path_ + " --table '0 " + sectors + " linear " +
                real + " 0'");
        expected_ = "device-mapper device '" + path_ + "'";
        read_path_ = "/dev/mapper/" + path_;
        if (!WaitForPath(read_path_))
          read_path_ = Trimmed(MustRun("dmsetup info -c --noheadings -o blkdevname " + path_));
        break;
      }
      case HolderKind::kMount:
        path_ = "/tmp/mvtest-mnt-" + tag;
        MustRun("mkdir -p " + path_ + " && mount " + device + " " + path_);
        expected_ = "mounted on " + path_;
        break;
      case HolderKind::kOtherNamespaces: {
        path_ = "/tmp/mvtest-ns-" + tag;
        MustRun("mkdir -p " + path_);
        pid_ = std::stoi(
            MustRun("unshare --mount --pid --fork --propagation private sh -c 'mount " + device +
                    " " + path_ + " && exec sleep 600' >/dev/null 2>&1 & echo $!"));
        // The namespace's init (sh, then sleep) is the child of unshare.
        EXPECT_TRUE(WaitUntil([&] {
          std::string child = Trimmed(Shell("pgrep -P " + std::to_string(pid_)).output);
          return !child.empty() &&
                 Shell("grep -q ' " + path_ + " ' /proc/" + child + "/mountinfo").exit_code == 0;
        })) << "the mount in the other namespace did not appear";
        EXPECT_NE(Shell("grep -q ' " + path_ + " ' /proc/self/mountinfo").exit_code, 0)
            << "the mount must be invisible in the test's own namespace";
        expected_ = "mounted on " + path_ + " (in the mount namespace of pid";
        break;
      }
    }
  }
  ~Holder() { Release(); }

  void Release() {
    if (released_) return;
    released_ = true;
    switch (kind_) {
      case HolderKind::kOpen:
      case HolderKind::kOtherNamespaces:
        Shell("kill -9 " + std::to_string(pid_) + " $(pgrep -P " + std::to_string(pid_) + ")");
        WaitUntil([&] { return ::access(("/proc/" + std::to_string(pid_)).c_str(), F_OK) != 0; });
        break;
      case HolderKind::kLoop:
        MustRun("losetup -d " + path_);
        break;
      case HolderKind::kDeviceMapper:
        MustRun("dmsetup remove --noudevsync " + path_);
        break;
      case HolderKind::kMount:
        MustRun("umount " + path_);
        break;
    }
  }

  // What the refusal must name.
  const std::string& expected() const { return expected_; }
  // Where the holder reads the volume's bytes ("" for filesystems).
  const std::string& read_path() const { return read_path_; }

 private:
  const HolderKind kind_;
  const std::string device_, tag_;
  int pid_ = 0;
  std::string path_, expected_, read_path_;
  bool released_ = false;
};

class InUseTest : public ApiTest, public ::testing::WithParamInterface<HolderKind> {};

constexpr size_t kBlock = 4096;

TEST_P(InUseTest, DeleteAndRollbackAreRefusedAndChangeNothing) {
  const HolderKind kind = GetParam();
  const std::string name = "held-" + KindName(kind);
  const std::string device = "/dev/zvol/" + kPool + "/" + name;
  Volume v;
  ASSERT_TRUE(Create(name, 64 * kMiB, &v).ok());
  // Data A in s1, B in s2, C now (or a filesystem: its bytes are its own).
  if (HasFilesystem(kind)) {
    MustRun("mkfs.ext4 -q -F " + device);
  } else {
    WriteDevice(device, 0, Pattern('A', kBlock));
  }
  ASSERT_TRUE(Snapshot(name, "s1").ok());
  if (!HasFilesystem(kind)) WriteDevice(device, 0, Pattern('B', kBlock));
  ASSERT_TRUE(Snapshot(name, "s2").ok());
  if (!HasFilesystem(kind)) WriteDevice(device, 0, Pattern('C', kBlock));

  {
    Holder holder(kind, device, KindName(kind));
    const std::string before = PoolState(kPool);
    auto expect_refused = [&](const grpc::Status& s, const std::string& what) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
          << what << ": " << s.error_message();
      EXPECT_THAT(s.error_message(), HasSubstr("is in use by"))
          << what << ": " << s.error_message();
      EXPECT_THAT(s.error_message(), HasSubstr(holder.expected()))
          << what << ": the refusal names the holder (" << holder.expected()
          << "): " << s.error_message();
      EXPECT_THAT(s.error_message(), HasSubstr("Nothing was changed")) << s.error_message();
      EXPECT_EQ(PoolState(kPool), before) << what << " changed the pool";
      if (!holder.read_path().empty()) {
        EXPECT_EQ(ReadDevice(holder.read_path(), 0, kBlock), Pattern('C', kBlock))
            << what << " changed the bytes under the holder";
      }
    };
    expect_refused(Delete(name), "delete");
    Volume out;
    expect_refused(Rollback(name, "s2", &out), "rollback to the latest snapshot");
    expect_refused(Rollback(name, "s1", &out), "rollback to an older snapshot");
    EXPECT_TRUE(DatasetExists(kPool + "/" + name + "@s2")) << "the newer snapshot survives";
  }

  // The holder is gone: the same calls go through.
  Volume out;
  grpc::Status s = Rollback(name, "s1", &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(DatasetExists(kPool + "/" + name + "@s2"));
  if (!HasFilesystem(kind)) {
    EXPECT_EQ(ReadDevice(device, 0, kBlock), Pattern('A', kBlock));
  }
  s = Delete(name);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(DatasetExists(kPool + "/" + name));
}

INSTANTIATE_TEST_SUITE_P(Holders, InUseTest,
                         ::testing::Values(HolderKind::kOpen, HolderKind::kLoop,
                                           HolderKind::kDeviceMapper, HolderKind::kMount,
                                           HolderKind::kOtherNamespaces),
                         [](const auto& info) { return KindName(info.param); });

// A bookmark newer than the rollback target would be left pointing past it:
// refused before anything is destroyed. An older bookmark is no obstacle.
TEST_F(ApiTest, RollbackPastABookmarkIsRefusedAndChangesNothing) {
  const std::string name = "bookmarked";
  const std::string ds = kPool + "/" + name;
  Volume v, out;
  ASSERT_TRUE(Create(name, 16 * kMiB, &v).ok());
  ASSERT_TRUE(Snapshot(name, "s1").ok());
  MustRun("zfs bookmark " + ds + "@s1 " + ds + "#old");
  ASSERT_TRUE(Snapshot(name, "s2").ok());
  MustRun("zfs bookmark " + ds + "@s2 " + ds + "#b2");
  ASSERT_TRUE(Snapshot(name, "s3").ok());
  const std::string before = PoolState(kPool);
  grpc::Status s = Rollback(name, "s1", &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr(ds + "#b2")) << s.error_message();
  EXPECT_EQ(PoolState(kPool), before);
  EXPECT_TRUE(DatasetExists(ds + "@s2") && DatasetExists(ds + "@s3"));
  // To s2: the bookmarks are not newer than it.
  s = Rollback(name, "s2", &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(DatasetExists(ds + "@s3"));
  EXPECT_TRUE(DatasetExists(ds + "@s2"));
}

// A volume's own leftover from a crash between "born" and "renamed into
// place" (.mvirt/creating/NAME-ID): never listed, and a retry of the same
// create with the same id succeeds.
TEST_F(ApiTest, ACreateCutOffByACrashLeavesNoNameBlockedAndItsRetrySucceeds) {
  const std::string name = "crash-born";
  const std::string leftover = kPool + "/.mvirt/creating/" + name + "-" + kId1;
  // What a crash after the create and before its properties leaves.
  MustRun("zfs create -s -V 16M " + leftover);
  for (const Volume& l : List()) EXPECT_NE(l.name(), name);
  Volume v;
  grpc::Status s = Create(name, 16 * kMiB, &v, kId1);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(v.id(), kId1);
  EXPECT_EQ(ZfsGet(kPool + "/" + name, "mvirt:id"), kId1);
  EXPECT_FALSE(DatasetExists(leftover));
  EXPECT_EQ(DeviceDatasetName(v.path()), kPool + "/" + name);
}

}  // namespace
}  // namespace mvirt::zfs::testing
