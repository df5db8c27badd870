#include "device/zvol_device.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace mvirt::zfs {
namespace {

// From OpenZFS sys/fs/zfs.h (kernel ABI): the zvol's dataset name.
constexpr size_t kZfsMaxDatasetNameLen = 256;
#define MVIRT_BLKZNAME _IOR(0x12, 125, char[kZfsMaxDatasetNameLen])

// Polls `ready` with a delay of 5 ms doubling up to 100 ms until it returns
// true or `timeout` passes.
template <typename F>
bool PollUntil(F ready, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  absl::Duration delay = absl::Milliseconds(5);
  while (true) {
    if (ready()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(std::min(delay, deadline - absl::Now()));
    delay = std::min(delay * 2, absl::Milliseconds(100));
  }
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The block device numbers of `dev_name` ("zd0") and its partitions.
std::set<dev_t> DeviceAndPartitions(dev_t dev, const std::string& dev_name) {
  std::set<dev_t> out = {dev};
  std::string sys = absl::StrCat("/sys/class/block/", dev_name);
  if (DIR* d = opendir(sys.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind(dev_name, 0) != 0) continue;  // partitions: zd0p1, ...
      std::vector<std::string> mm = absl::StrSplit(ReadFirstLine(absl::StrCat(sys, "/", name, "/dev")), ':');
      unsigned major_no = 0, minor_no = 0;
      if (mm.size() == 2 && absl::SimpleAtoi(mm[0], &major_no) && absl::SimpleAtoi(mm[1], &minor_no)) {
        out.insert(makedev(major_no, minor_no));
      }
    }
    closedir(d);
  }
  return out;
}

}  // namespace

std::string ZvolDevicePath(const std::string& dataset) {
  std::string path = absl::StrCat("/dev/zvol/", dataset);
  std::replace(path.begin(), path.end(), ' ', '+');
  return path;
}

absl::StatusOr<std::string> ReadZvolDatasetName(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat(path, " does not exist"));
    return absl::UnavailableError(absl::StrCat("open ", path, ": ", std::strerror(err)));
  }
  char name[kZfsMaxDatasetNameLen] = {};
  int rc = ::ioctl(fd, MVIRT_BLKZNAME, name);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a zvol (BLKZNAME: ", std::strerror(err), ")"));
  }
  name[kZfsMaxDatasetNameLen - 1] = '\0';
  return std::string(name);
}

absl::Status WaitForZvolDevice(const std::string& path, const std::string& dataset,
                               absl::Duration timeout) {
  std::string last = "link not created yet";
  bool ready = PollUntil(
      [&] {
        struct stat st;
        if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return false;
        absl::StatusOr<std::string> name = ReadZvolDatasetName(path);
        if (!name.ok()) {
          last = std::string(name.status().message());
          return false;
        }
        if (*name != dataset) {
          last = absl::StrCat("link points at the zvol of '", *name, "' (stale link)");
          return false;
        }
        return true;
      },
      timeout);
  if (ready) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(
      "device ", path, " for '", dataset, "' not ready after ", absl::FormatDuration(timeout),
      " (", last, "); the volume exists, retry the call"));
}

absl::Status WaitForDeviceGone(const std::string& path, absl::Duration timeout) {
  bool gone = PollUntil(
      [&] {
        struct stat st;
        return ::lstat(path.c_str(), &st) != 0 && errno == ENOENT;
      },
      timeout);
  if (gone) return absl::OkStatus();
  return absl::DeadlineExceededError(
      absl::StrCat("device link ", path, " still present after ", absl::FormatDuration(timeout)));
}

std::vector<DeviceHolder> FindDeviceHolders(const std::string& path) {
  std::vector<DeviceHolder> holders;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return holders;
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return holders;
  std::string dev_name = std::string(resolved).substr(std::string(resolved).rfind('/') + 1);
  std::set<dev_t> devices = DeviceAndPartitions(st.st_rdev, dev_name);

  // Processes with an open file descriptor on the device or a partition.
  int self = ::getpid();
  if (DIR* proc = opendir("/proc")) {
    while (dirent* e = readdir(proc)) {
      int pid = 0;
      if (!absl::SimpleAtoi(e->d_name, &pid) || pid == self) continue;
      std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
      DIR* fds = opendir(fd_dir.c_str());
      if (fds == nullptr) continue;  // gone, or a kernel thread
      bool holds = false;
      while (dirent* f = readdir(fds)) {
        if (f->d_name[0] == '.') continue;
        struct stat fst;
        if (::stat(absl::StrCat(fd_dir, "/", f->d_name).c_str(), &fst) == 0 &&
            S_ISBLK(fst.st_mode) && devices.count(fst.st_rdev) > 0) {
          holds = true;
          break;
        }
      }
      closedir(fds);
      if (holds) holders.push_back({pid, ReadFirstLine(absl::StrCat("/proc/", pid, "/comm"))});
    }
    closedir(proc);
  }

  // Mounts of the device or a partition (mountinfo field 3 is major:minor).
  std::ifstream mountinfo("/proc/self/mountinfo");
  for (std::string line; std::getline(mountinfo, line);) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 5) continue;
    std::vector<std::string> mm = absl::StrSplit(fields[2], ':');
    unsigned major_no = 0, minor_no = 0;
    if (mm.size() == 2 && absl::SimpleAtoi(mm[0], &major_no) && absl::SimpleAtoi(mm[1], &minor_no) &&
        devices.count(makedev(major_no, minor_no)) > 0) {
      holders.push_back({0, absl::StrCat("mounted on ", fields[4])});
    }
  }

  // Stacked kernel devices (device-mapper, md) built on it.
  std::string holders_dir = absl::StrCat("/sys/class/block/", dev_name, "/holders");
  if (DIR* d = opendir(holders_dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      holders.push_back({0, absl::StrCat("kernel device ", e->d_name)});
    }
    closedir(d);
  }
  return holders;
}

std::vector<DeviceHolder> FindLastingDeviceHolders(const std::string& path,
                                                   absl::Duration grace) {
  std::vector<DeviceHolder> holders;
  PollUntil([&] { return (holders = FindDeviceHolders(path)).empty(); }, grace);
  return holders;
}

absl::Status InvalidateDeviceCache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  }
  int rc = ::ioctl(fd, BLKFLSBUF, 0);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("drop the page cache of ", path, " (BLKFLSBUF): ", std::strerror(err)));
  }
  return absl::OkStatus();
}

std::string DescribeHolders(const std::vector<DeviceHolder>& holders) {
  return absl::StrJoin(holders, ", ", [](std::string* out, const DeviceHolder& h) {
    if (h.pid > 0) {
      absl::StrAppend(out, "pid ", h.pid, " (", h.command, ")");
    } else {
      absl::StrAppend(out, h.command);
    }
  });
}

}  // namespace mvirt::zfs
