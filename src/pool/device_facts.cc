#include "pool/device_facts.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/unique_fd.h"
#include "pool/block_signatures.h"

namespace mvirt::zfs {
namespace {

namespace fs = std::filesystem;

std::string SysBlockDir(dev_t dev) {
  return absl::StrCat("/sys/dev/block/", major(dev), ":", minor(dev));
}

// The device and its partitions, as "major:minor".
std::set<std::string> DeviceAndPartitions(dev_t dev) {
  std::set<std::string> out = {absl::StrCat(major(dev), ":", minor(dev))};
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(SysBlockDir(dev), ec)) {
    if (!fs::exists(entry.path() / "partition", ec)) continue;
    std::ifstream in(entry.path() / "dev");
    std::string numbers;
    if (in >> numbers) out.insert(numbers);
  }
  return out;
}

void AddMounts(const std::set<std::string>& devs, std::vector<std::string>& uses) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // ID PARENT MAJOR:MINOR ROOT MOUNT-POINT ...
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() > 4 && devs.count(fields[2]) > 0) {
      uses.push_back(absl::StrCat("mounted at ", fields[4]));
    }
  }
}

void AddSwap(const std::set<std::string>& devs, std::vector<std::string>& uses) {
  std::ifstream in("/proc/swaps");
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::string path = line.substr(0, line.find_first_of(" \t"));
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode) &&
        devs.count(absl::StrCat(major(st.st_rdev), ":", minor(st.st_rdev))) > 0) {
      uses.push_back(absl::StrCat("used as swap (", path, ")"));
    }
  }
}

void AddHolders(const std::set<std::string>& devs, std::vector<std::string>& uses) {
  std::error_code ec;
  for (const std::string& dev : devs) {
    for (const fs::directory_entry& holder :
         fs::directory_iterator(fs::path("/sys/dev/block") / dev / "holders", ec)) {
      uses.push_back(absl::StrCat("held by ", holder.path().filename().string(),
                                  " (device mapper, md or LVM)"));
    }
  }
}

// A file that backs a loop device is in use by it.
void AddLoopBacking(const std::string& file, std::vector<std::string>& uses) {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator("/sys/block", ec)) {
    std::ifstream in(entry.path() / "loop" / "backing_file");
    std::string backing;
    if (std::getline(in, backing) && backing == file) {
      uses.push_back(absl::StrCat("backs the loop device ", entry.path().filename().string()));
    }
  }
}

void AddSignatures(const std::string& path, PoolCreator& zfs, DeviceFacts& facts) {
  absl::StatusOr<std::optional<ZfsLabel>> label = zfs.ReadLabel(path);
  if (!label.ok()) {
    facts.unreadable = std::string(label.status().message());
    return;
  }
  if (label->has_value()) {
    const ZfsLabel& l = **label;
    if (l.active && zfs.PoolExists(l.pool)) {
      facts.uses.push_back(absl::StrCat("a vdev of the imported pool '", l.pool, "'"));
    } else {
      facts.signatures.push_back(absl::StrCat("ZFS label of pool '", l.pool, "' (", l.state,
                                              l.active ? ", maybe imported on another host" : "",
                                              ")"));
    }
  }
  absl::StatusOr<std::vector<std::string>> found = ProbeSignatures(path);
  if (!found.ok()) {
    facts.unreadable = std::string(found.status().message());
    return;
  }
  for (const std::string& signature : *found) {
    // The ZFS label read above says more than libblkid's "zfs_member".
    if (label->has_value() && absl::StartsWith(signature, "zfs_member")) continue;
    facts.signatures.push_back(signature);
  }
}

}  // namespace

DeviceFacts InspectDevice(const std::string& path, PoolCreator& zfs) {
  DeviceFacts facts;
  std::error_code ec;
  facts.path = fs::absolute(path, ec).lexically_normal().string();
  if (ec) facts.path = path;
  struct stat st {};
  if (::stat(facts.path.c_str(), &st) != 0) {
    facts.kind = DeviceFacts::Kind::kMissing;
    return facts;
  }
  if (S_ISREG(st.st_mode)) {
    facts.kind = DeviceFacts::Kind::kFile;
    facts.size_bytes = static_cast<uint64_t>(st.st_size);
    AddLoopBacking(fs::canonical(facts.path, ec).string(), facts.uses);
  } else if (S_ISBLK(st.st_mode)) {
    facts.kind = DeviceFacts::Kind::kBlockDevice;
    const std::set<std::string> devs = DeviceAndPartitions(st.st_rdev);
    AddMounts(devs, facts.uses);
    AddSwap(devs, facts.uses);
    AddHolders(devs, facts.uses);
    UniqueFd fd(::open(facts.path.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC));
    if (!fd && errno == EBUSY && facts.uses.empty()) {
      facts.uses.push_back("busy: the kernel has it open exclusively");
    }
    if (fd) ::ioctl(fd.get(), BLKGETSIZE64, &facts.size_bytes);
  } else {
    facts.kind = DeviceFacts::Kind::kOther;
    return facts;
  }
  AddSignatures(facts.path, zfs, facts);
  return facts;
}

std::vector<std::string> ReasonsToRefuse(const DeviceFacts& device, bool force) {
  std::vector<std::string> reasons;
  switch (device.kind) {
    case DeviceFacts::Kind::kMissing:
      return {"does not exist (pool init uses existing block devices or files)"};
    case DeviceFacts::Kind::kOther:
      return {"is neither a block device nor a regular file"};
    default:
      break;
  }
  if (!device.unreadable.empty()) reasons.push_back("cannot be read: " + device.unreadable);
  for (const std::string& use : device.uses) reasons.push_back("is in use: " + use);
  if (device.size_bytes < kMinVdevBytes && device.uses.empty()) {
    reasons.push_back(
        absl::StrCat("is ", device.size_bytes, " bytes; ZFS needs at least 64 MiB per device"));
  }
  if (!force) {
    for (const std::string& signature : device.signatures) {
      reasons.push_back(absl::StrCat("carries a ", signature, " (--force writes over it)"));
    }
  }
  return reasons;
}

}  // namespace mvirt::zfs
