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
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/call_context.h"

namespace mvirt::zfs {
namespace {

// From OpenZFS sys/fs/zfs.h (kernel ABI): the zvol's dataset name.
constexpr size_t kZfsMaxDatasetNameLen = 256;
#define MVIRT_BLKZNAME _IOR(0x12, 125, char[kZfsMaxDatasetNameLen])

// Polls `ready` with a delay of 5 ms doubling up to 100 ms until it returns
// true (OK), `timeout` passes (nullopt), or the current call's deadline
// passes or it is cancelled (that status; see CallContext).
template <typename F>
std::optional<absl::Status> PollUntil(F ready, absl::Duration timeout,
                                      absl::string_view waiting_for) {
  absl::Time deadline = absl::Now() + timeout;
  absl::Duration delay = absl::Milliseconds(5);
  while (true) {
    if (ready()) return absl::OkStatus();
    if (absl::Status s = CallContext::Check(waiting_for); !s.ok()) return s;
    if (absl::Now() >= deadline) return std::nullopt;
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

// A zvol's block device and its partitions, by number and by name.
struct DeviceSet {
  std::set<dev_t> numbers;
  std::set<std::string> kernel_names;  // "zd0", "zd0p1"
  std::set<std::string> paths;         // "/dev/zd0", "/dev/zd0p1", the /dev/zvol link
};

DeviceSet FindDeviceSet(dev_t dev, const std::string& dev_name, const std::string& link) {
  DeviceSet set;
  set.numbers.insert(dev);
  set.kernel_names.insert(dev_name);
  set.paths.insert("/dev/" + dev_name);
  set.paths.insert(link);
  std::string sys = absl::StrCat("/sys/class/block/", dev_name);
  if (DIR* d = opendir(sys.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind(dev_name, 0) != 0) continue;  // partitions: zd0p1, ...
      std::vector<std::string> mm =
          absl::StrSplit(ReadFirstLine(absl::StrCat(sys, "/", name, "/dev")), ':');
      unsigned major_no = 0, minor_no = 0;
      if (mm.size() == 2 && absl::SimpleAtoi(mm[0], &major_no) &&
          absl::SimpleAtoi(mm[1], &minor_no)) {
        set.numbers.insert(makedev(major_no, minor_no));
        set.kernel_names.insert(name);
        set.paths.insert("/dev/" + name);
      }
    }
    closedir(d);
  }
  return set;
}

// Calls fn(name) for each entry of directory `dir` but "." and "..".
template <typename F>
void ForEachEntry(const std::string& dir, F fn) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      fn(std::string(e->d_name));
  }
  closedir(d);
}

std::string ReadLink(const std::string& path) {
  char target[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), target, sizeof(target) - 1);
  return n > 0 ? std::string(target, n) : "";
}

// True if `target` (what an open file's /proc link or a loop device's
// backing_file says) is one of the device's nodes. Only paths under /dev
// are stat()ed (through `stat_path`, which reaches the open file itself):
// never a file on a network filesystem, whose server may hang.
bool IsDevice(const DeviceSet& device, const std::string& target, const std::string& stat_path) {
  if (device.paths.count(target) > 0) return true;
  if (target.rfind("/dev/", 0) != 0) return false;  // sockets, pipes, files elsewhere
  struct stat st;
  return ::stat(stat_path.c_str(), &st) == 0 && S_ISBLK(st.st_mode) &&
         device.numbers.count(st.st_rdev) > 0;
}

std::vector<int> ProcessIds() {
  std::vector<int> pids;
  ForEachEntry("/proc", [&](const std::string& name) {
    int pid = 0;
    if (absl::SimpleAtoi(name, &pid)) pids.push_back(pid);
  });
  return pids;
}

// Processes (in any PID or mount namespace) with a descriptor open on it.
void AddProcessHolders(const DeviceSet& device, std::vector<DeviceHolder>& holders) {
  const int self = ::getpid();
  for (int pid : ProcessIds()) {
    if (pid == self) continue;
    const std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
    bool holds = false;
    ForEachEntry(fd_dir, [&](const std::string& fd) {
      const std::string link = absl::StrCat(fd_dir, "/", fd);
      holds = holds || IsDevice(device, ReadLink(link), link);
    });
    if (holds) holders.push_back({pid, ReadFirstLine(absl::StrCat("/proc/", pid, "/comm"))});
  }
}

// Mounts of it in every mount namespace (mountinfo field 3 is major:minor).
void AddMountHolders(const DeviceSet& device, std::vector<DeviceHolder>& holders) {
  const std::string own_ns = ReadLink("/proc/self/ns/mnt");
  std::set<std::string> seen_ns;
  for (int pid : ProcessIds()) {
    const std::string ns = ReadLink(absl::StrCat("/proc/", pid, "/ns/mnt"));
    if (ns.empty() || !seen_ns.insert(ns).second) continue;
    std::ifstream mountinfo(absl::StrCat("/proc/", pid, "/mountinfo"));
    for (std::string line; std::getline(mountinfo, line);) {
      std::vector<std::string> fields = absl::StrSplit(line, ' ');
      if (fields.size() < 5) continue;
      std::vector<std::string> mm = absl::StrSplit(fields[2], ':');
      unsigned major_no = 0, minor_no = 0;
      if (mm.size() == 2 && absl::SimpleAtoi(mm[0], &major_no) &&
          absl::SimpleAtoi(mm[1], &minor_no) &&
          device.numbers.count(makedev(major_no, minor_no)) > 0) {
        std::string where = absl::StrCat("mounted on ", fields[4]);
        if (ns != own_ns) absl::StrAppend(&where, " (in the mount namespace of pid ", pid, ")");
        holders.push_back({0, where});
      }
    }
  }
}

// Stacked kernel devices built on it (device-mapper, md, bcache), which the
// kernel lists under /sys/class/block/<dev>/holders.
void AddStackedHolders(const DeviceSet& device, std::vector<DeviceHolder>& holders) {
  for (const std::string& dev : device.kernel_names) {
    const std::string dir = absl::StrCat("/sys/class/block/", dev, "/holders");
    ForEachEntry(dir, [&](const std::string& holder) {
      std::string dm_name = ReadFirstLine(absl::StrCat("/sys/class/block/", holder, "/dm/name"));
      if (!dm_name.empty()) {
        holders.push_back({0, absl::StrCat("device-mapper device '", dm_name, "' (", holder, ")")});
      } else {
        holders.push_back({0, absl::StrCat("kernel device ", holder)});
      }
    });
  }
}

// Loop devices whose backing file it is (loop opens it in the kernel: no
// process keeps a descriptor once losetup exits).
void AddLoopHolders(const DeviceSet& device, std::vector<DeviceHolder>& holders) {
  ForEachEntry("/sys/block", [&](const std::string& dev) {
    if (dev.rfind("loop", 0) != 0) return;
    std::string backing = ReadFirstLine(absl::StrCat("/sys/block/", dev, "/loop/backing_file"));
    if (!backing.empty() && IsDevice(device, backing, backing)) {
      holders.push_back({0, absl::StrCat("loop device /dev/", dev)});
    }
  });
}

// LIO (iSCSI and other kernel target) block backstores on it.
void AddIscsiHolders(const DeviceSet& device, std::vector<DeviceHolder>& holders) {
  const std::string core = "/sys/kernel/config/target/core";
  ForEachEntry(core, [&](const std::string& hba) {
    ForEachEntry(absl::StrCat(core, "/", hba), [&](const std::string& store) {
      std::string udev_path = ReadFirstLine(absl::StrCat(core, "/", hba, "/", store, "/udev_path"));
      if (!udev_path.empty() && IsDevice(device, udev_path, udev_path)) {
        holders.push_back({0, absl::StrCat("LIO/iSCSI backstore '", store, "'")});
      }
    });
  });
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
  std::optional<absl::Status> ready = PollUntil(
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
      timeout, absl::StrCat("device ", path));
  if (ready.has_value()) {
    if (ready->ok()) return absl::OkStatus();
    return absl::Status(ready->code(),
                        absl::StrCat(ready->message(), "; the volume exists, retry the call"));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "device ", path, " for '", dataset, "' not ready after ", absl::FormatDuration(timeout), " (",
      last, "); the volume exists, retry the call"));
}

absl::Status WaitForDeviceGone(const std::string& path, absl::Duration timeout) {
  std::optional<absl::Status> gone = PollUntil(
      [&] {
        struct stat st;
        return ::lstat(path.c_str(), &st) != 0 && errno == ENOENT;
      },
      timeout, absl::StrCat("device link ", path, " to vanish"));
  if (gone.has_value()) return *gone;
  return absl::DeadlineExceededError(
      absl::StrCat("device link ", path, " still present after ", absl::FormatDuration(timeout)));
}

std::vector<DeviceHolder> FindDeviceHolders(const std::string& path) {
  std::vector<DeviceHolder> holders;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return holders;
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return holders;
  const std::string dev_name = std::string(resolved).substr(std::string(resolved).rfind('/') + 1);
  const DeviceSet device = FindDeviceSet(st.st_rdev, dev_name, path);
  AddProcessHolders(device, holders);
  AddMountHolders(device, holders);
  AddStackedHolders(device, holders);
  AddLoopHolders(device, holders);
  AddIscsiHolders(device, holders);
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
