// libspl's include directory shadows C headers and defines `fallthrough`:
// standard headers first, then the macro goes, then libzfs last.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>
#undef fallthrough

#include <libzfs.h>
#include <libzfs_core.h>

#include "zfs_floor.h"

namespace mvirt::bench {
namespace {

using Clock = std::chrono::steady_clock;

// BLKZNAME from the zvol driver: the dataset a zvol device belongs to.
constexpr unsigned long kBlkZname = _IOR(0x12, 125, char[256]);

bool DeviceNames(const std::string& dataset) {
  const std::string path = "/dev/zvol/" + dataset;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char name[256] = {};
  bool ok = ::ioctl(fd, kBlkZname, name) == 0 && dataset == name;
  ::close(fd);
  return ok;
}

void Check(int err, const char* what, const std::string& name) {
  if (err != 0) Die(std::string(what) + " " + name + ": " + std::strerror(err));
}

nvlist_t* PropsOf(const std::map<std::string, std::string>& user_props) {
  nvlist_t* props = fnvlist_alloc();
  fnvlist_add_uint64(props, zfs_prop_to_name(ZFS_PROP_VOLMODE), ZFS_VOLMODE_DEV);
  for (const auto& [key, value] : user_props) fnvlist_add_string(props, key.c_str(), value.c_str());
  return props;
}

// The form lzc_snapshot and lzc_destroy_snaps take: each name a boolean.
nvlist_t* NamesOf(const std::vector<std::string>& names) {
  nvlist_t* list = fnvlist_alloc();
  for (const std::string& name : names) fnvlist_add_boolean(list, name.c_str());
  return list;
}

// What the daemon reads of every dataset: user properties with their source.
size_t CountLocalUserProps(zfs_handle_t* zhp) {
  size_t n = 0;
  nvlist_t* user = zfs_get_user_props(zhp);
  for (nvpair_t* p = nvlist_next_nvpair(user, nullptr); p != nullptr;
       p = nvlist_next_nvpair(user, p)) {
    ++n;
  }
  return n;
}

// The numeric properties the daemon reads of a volume or snapshot; the sum
// only keeps the compiler from dropping the reads.
uint64_t ReadNumbers(zfs_handle_t* zhp) {
  uint64_t sum = 0;
  for (zfs_prop_t prop :
       {ZFS_PROP_VOLSIZE, ZFS_PROP_VOLBLOCKSIZE, ZFS_PROP_USED, ZFS_PROP_REFERENCED,
        ZFS_PROP_LOGICALREFERENCED, ZFS_PROP_REFRESERVATION, ZFS_PROP_COMPRESSRATIO,
        ZFS_PROP_CREATION, ZFS_PROP_CREATETXG, ZFS_PROP_GUID, ZFS_PROP_USERREFS}) {
    sum += zfs_prop_get_int(zhp, prop);
  }
  char origin[ZFS_MAX_DATASET_NAME_LEN];
  zfs_prop_get(zhp, ZFS_PROP_ORIGIN, origin, sizeof(origin), nullptr, nullptr, 0, B_TRUE);
  return sum + CountLocalUserProps(zhp);
}

int SnapshotCallback(zfs_handle_t* snap, void* count) {
  ReadNumbers(snap);
  zfs_get_clones_nvl(snap);
  ++*static_cast<int*>(count);
  zfs_close(snap);
  return 0;
}

// A volume and each of its snapshots, read as the daemon reads them;
// returns the snapshot count.
int ReadVolumeAndSnapshots(zfs_handle_t* volume) {
  ReadNumbers(volume);
  int snapshots = 0;
  zfs_iter_snapshots_sorted(volume, SnapshotCallback, &snapshots, 0, 0);
  return snapshots;
}

zfs_handle_t* OpenOrDie(libzfs_handle_t* h, const std::string& name, int types) {
  zfs_handle_t* zhp = zfs_open(h, name.c_str(), types);
  if (zhp == nullptr) Die("open " + name + ": " + libzfs_error_description(h));
  return zhp;
}

}  // namespace

void Die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  std::exit(1);
}

void WaitForDevice(const std::string& dataset) {
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (!DeviceNames(dataset)) {
    if (Clock::now() > deadline) Die("no device for " + dataset);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void WaitForDeviceGone(const std::string& dataset) {
  const std::string path = "/dev/zvol/" + dataset;
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  struct stat st;
  while (::lstat(path.c_str(), &st) == 0) {
    if (Clock::now() > deadline) Die("device link stays: " + path);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::map<std::string, std::string> VolumeMarks(const std::string& id) {
  return {{"mvirt:id", id}, {"mvirt:kind", "volume"}};
}

struct ZfsFloor::Handle {
  libzfs_handle_t* h = nullptr;
};

ZfsFloor::ZfsFloor() : handle_(new Handle) {
  Check(libzfs_core_init(), "libzfs_core_init", "");
  handle_->h = libzfs_init();
  if (handle_->h == nullptr) Die("libzfs_init failed");
}

ZfsFloor::~ZfsFloor() {
  libzfs_fini(handle_->h);
  libzfs_core_fini();
  delete handle_;
}

void ZfsFloor::CreateVolume(const std::string& dataset, uint64_t volsize,
                            const std::map<std::string, std::string>& user_props) {
  nvlist_t* props = PropsOf(user_props);
  fnvlist_add_uint64(props, zfs_prop_to_name(ZFS_PROP_VOLSIZE), volsize);
  fnvlist_add_uint64(props, zfs_prop_to_name(ZFS_PROP_VOLBLOCKSIZE), 16384);
  int err = lzc_create(dataset.c_str(), LZC_DATSET_TYPE_ZVOL, props, nullptr, 0);
  fnvlist_free(props);
  Check(err, "create", dataset);
}

void ZfsFloor::Snapshot(const std::vector<std::string>& snapshots) {
  nvlist_t* snaps = NamesOf(snapshots);
  nvlist_t* errors = nullptr;
  int err = lzc_snapshot(snaps, nullptr, &errors);
  fnvlist_free(snaps);
  if (errors != nullptr) fnvlist_free(errors);
  Check(err, "snapshot", snapshots.front());
}

void ZfsFloor::Clone(const std::string& dataset, const std::string& origin,
                     const std::map<std::string, std::string>& user_props) {
  nvlist_t* props = PropsOf(user_props);
  int err = lzc_clone(dataset.c_str(), origin.c_str(), props);
  fnvlist_free(props);
  Check(err, "clone", dataset);
}

void ZfsFloor::SetVolsize(const std::string& dataset, uint64_t volsize) {
  zfs_handle_t* zhp = OpenOrDie(handle_->h, dataset, ZFS_TYPE_VOLUME);
  int err = zfs_prop_set(zhp, "volsize", std::to_string(volsize).c_str());
  zfs_close(zhp);
  if (err != 0) Die("set volsize of " + dataset + ": " + libzfs_error_description(handle_->h));
}

void ZfsFloor::Rollback(const std::string& dataset, const std::string& snapshot) {
  Check(lzc_rollback_to(dataset.c_str(), snapshot.c_str()), "rollback", dataset);
}

void ZfsFloor::Destroy(const std::string& dataset) {
  int err = lzc_destroy(dataset.c_str());
  for (int attempt = 0; err == EBUSY && attempt < 100; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    err = lzc_destroy(dataset.c_str());
  }
  Check(err, "destroy", dataset);
}

void ZfsFloor::DestroySnapshots(const std::vector<std::string>& snapshots) {
  if (snapshots.empty()) return;
  nvlist_t* snaps = NamesOf(snapshots);
  nvlist_t* errors = nullptr;
  int err = lzc_destroy_snaps(snaps, B_FALSE, &errors);
  fnvlist_free(snaps);
  if (errors != nullptr) fnvlist_free(errors);
  Check(err, "destroy snapshots of", snapshots.front());
}

int ZfsFloor::ReadVolume(const std::string& dataset) {
  zfs_handle_t* zhp = OpenOrDie(handle_->h, dataset, ZFS_TYPE_VOLUME);
  const int count = ReadVolumeAndSnapshots(zhp);
  zfs_close(zhp);
  return count;
}

int ZfsFloor::ReadVolumes(const std::string& parent) {
  zfs_handle_t* zhp = OpenOrDie(handle_->h, parent, ZFS_TYPE_FILESYSTEM);
  int count = 0;
  auto callback = [](zfs_handle_t* child, void* arg) -> int {
    if (zfs_get_type(child) == ZFS_TYPE_VOLUME) {
      ReadVolumeAndSnapshots(child);
      ++*static_cast<int*>(arg);
    }
    zfs_close(child);
    return 0;
  };
  zfs_iter_filesystems(zhp, callback, &count);
  zfs_close(zhp);
  return count;
}

int ZfsFloor::ReadSnapshots(const std::string& dataset) {
  zfs_handle_t* zhp = OpenOrDie(handle_->h, dataset, ZFS_TYPE_DATASET);
  int count = 0;
  zfs_iter_snapshots_sorted(zhp, SnapshotCallback, &count, 0, 0);
  zfs_close(zhp);
  return count;
}

uint64_t ZfsFloor::ReadPoolStats(const std::string& pool) {
  zpool_handle_t* zp = zpool_open_canfail(handle_->h, pool.c_str());
  if (zp == nullptr) Die("open pool " + pool);
  zpool_get_state_str(zp);
  zpool_close(zp);
  zfs_handle_t* root = OpenOrDie(handle_->h, pool, ZFS_TYPE_FILESYSTEM);
  zfs_prop_get_int(root, ZFS_PROP_USED);
  zfs_prop_get_int(root, ZFS_PROP_AVAILABLE);
  zfs_prop_get_int(root, ZFS_PROP_COMPRESSRATIO);
  uint64_t provisioned = 0;
  auto callback = [](zfs_handle_t* child, void* arg) -> int {
    if (zfs_get_type(child) == ZFS_TYPE_VOLUME && CountLocalUserProps(child) > 0) {
      *static_cast<uint64_t*>(arg) += zfs_prop_get_int(child, ZFS_PROP_VOLSIZE);
    }
    zfs_close(child);
    return 0;
  };
  zfs_iter_filesystems(root, callback, &provisioned);
  zfs_close(root);
  return provisioned;
}

}  // namespace mvirt::bench
