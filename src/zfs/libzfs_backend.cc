// The libzfs/libzfs_core implementation of the Zfs interface. This is the only
// translation unit of the project that includes <libzfs.h>/<libzfs_core.h>.
//
// Contract kept here: libzfs_handle_t is not thread-safe, so every libzfs call
// (and every read of its error state) runs on a handle lent to that call
// alone (LibzfsHandles: several handles, so calls run in parallel);
// libzfs_core calls are thread-safe and need none. Every zfs_handle_t is
// closed by RAII.
// libspl's include directory shadows C headers (stdlib.h, string.h, ...) and
// its sys/feature_tests.h defines a `fallthrough` macro that breaks abseil.
// So: standard headers first, drop that macro, then abseil and our headers,
// then libzfs (whose guards keep the macro from coming back).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>
#undef fallthrough

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/mutex.h"
#include "zfs/channel_programs.h"
#include "zfs/error_mapping.h"
#include "zfs/kernel_scan.h"
#include "zfs/zfs.h"

// libzfs/libspl last: they define macros (MIN, MAX, ASSERT, VERIFY,
// fallthrough, ...) that break C++ and abseil headers included after them.
#include <libzfs.h>
#include <libzfs_core.h>
#include <sys/fs/zfs.h>

#include "zfs/libzfs_handles.h"
#include "zfs/nvlist.h"
#include "zfs/pool_history.h"

namespace mvirt::zfs {
namespace {

// How many libzfs calls run at once: enough that reads do not queue behind
// each other on a host's cores, few enough that a burst of calls cannot
// swamp the pool's configuration lock. 8 rather than 4: 16 clients reading
// at once got 16% and 26% more GetVolume calls through in two runs in the
// guest, whose two CPUs were saturated either way (docs/BENCHMARKS.md,
// run 10).
constexpr int kLibzfsHandles = 8;

static_assert(ZFS_ERR_IOC_CMD_UNAVAIL == kZfsErrIocCmdUnavail);
static_assert(ZFS_ERR_IOC_ARG_UNAVAIL == kZfsErrIocArgUnavail);
static_assert(ZFS_ERR_IOC_ARG_REQUIRED == kZfsErrIocArgRequired);
static_assert(ZFS_ERR_IOC_ARG_BADTYPE == kZfsErrIocArgBadtype);
static_assert(ZFS_ERR_WRONG_PARENT == kZfsErrWrongParent);
static_assert(ZFS_ERR_UNKNOWN_SEND_STREAM_FEATURE == kZfsErrUnknownSendStreamFeature);
static_assert(ZFS_ERR_STREAM_TRUNCATED == kZfsErrStreamTruncated);
static_assert(ZFS_ERR_STREAM_LARGE_BLOCK_MISMATCH == kZfsErrStreamLargeBlockMismatch);
static_assert(ZFS_ERR_BADPROP == kZfsErrBadProp);

static_assert(EZFS_NOMEM == kEzfsNoMem && EZFS_BADPROP == kEzfsBadProp &&
                  EZFS_PROPREADONLY == kEzfsPropReadonly && EZFS_PROPTYPE == kEzfsPropType &&
                  EZFS_PROPSPACE == kEzfsPropSpace && EZFS_BADTYPE == kEzfsBadType &&
                  EZFS_BUSY == kEzfsBusy && EZFS_EXISTS == kEzfsExists &&
                  EZFS_NOENT == kEzfsNoEnt && EZFS_DSREADONLY == kEzfsDsReadonly &&
                  EZFS_VOLTOOBIG == kEzfsVolTooBig && EZFS_INVALIDNAME == kEzfsInvalidName &&
                  EZFS_POOLUNAVAIL == kEzfsPoolUnavail && EZFS_CROSSTARGET == kEzfsCrossTarget &&
                  EZFS_PERM == kEzfsPerm && EZFS_NOSPC == kEzfsNoSpc && EZFS_IO == kEzfsIo &&
                  EZFS_INTR == kEzfsIntr && EZFS_POOL_NOTSUP == kEzfsPoolNotSup &&
                  EZFS_NAMETOOLONG == kEzfsNameTooLong && EZFS_NOTSUP == kEzfsNotSup &&
                  EZFS_POOLREADONLY == kEzfsPoolReadonly,
              "error_mapping.h's EZFS codes must match libzfs.h");

using internal::ZfsHandle;
using internal::ZpoolHandle;

using internal::NamesNvlist;
using internal::NewNvlist;
using internal::Nvlist;

// An nvlist of `user_props` as strings; null if allocation fails.
Nvlist UserPropsNvlist(const UserProps& user_props) { return internal::StringsNvlist(user_props); }

// Adds volmode=dev to the properties of a new zvol: the host sees the whole
// disk only, never the partitions a guest writes on it (so the host's LVM,
// md or blkid never act on a guest's metadata, and no partition device
// stands in for the disk). Returns an errno.
int AddVolmodeDev(nvlist_t* props) {
  return nvlist_add_uint64(props, zfs_prop_to_name(ZFS_PROP_VOLMODE), ZFS_VOLMODE_DEV);
}

// Local user properties of `zhp` (inherited ones are skipped: an `mvirt:id`
// set on a parent must not make its children look managed).
UserProps LocalUserProps(zfs_handle_t* zhp) {
  UserProps out;
  nvlist_t* props = zfs_get_user_props(zhp);
  if (props == nullptr) return out;
  const char* self = zfs_get_name(zhp);
  for (nvpair_t* p = nvlist_next_nvpair(props, nullptr); p != nullptr;
       p = nvlist_next_nvpair(props, p)) {
    nvlist_t* attrs = nullptr;
    if (nvpair_value_nvlist(p, &attrs) != 0) continue;
    const char* value = nullptr;
    const char* source = nullptr;
    if (nvlist_lookup_string(attrs, ZPROP_VALUE, const_cast<char**>(&value)) != 0) continue;
    if (nvlist_lookup_string(attrs, ZPROP_SOURCE, const_cast<char**>(&source)) == 0 &&
        std::string(source) != self) {
      continue;  // inherited
    }
    out[nvpair_name(p)] = value;
  }
  return out;
}

std::string StringProp(zfs_handle_t* zhp, zfs_prop_t prop) {
  char buf[ZFS_MAXPROPLEN];
  if (zfs_prop_get(zhp, prop, buf, sizeof(buf), nullptr, nullptr, 0, B_TRUE) != 0) {
    return "";
  }
  return buf;
}

VolumeProps ReadVolumeProps(zfs_handle_t* zhp) {
  VolumeProps v;
  v.name = zfs_get_name(zhp);
  v.volsize = zfs_prop_get_int(zhp, ZFS_PROP_VOLSIZE);
  v.volblocksize = zfs_prop_get_int(zhp, ZFS_PROP_VOLBLOCKSIZE);
  v.used = zfs_prop_get_int(zhp, ZFS_PROP_USED);
  v.referenced = zfs_prop_get_int(zhp, ZFS_PROP_REFERENCED);
  v.logicalreferenced = zfs_prop_get_int(zhp, ZFS_PROP_LOGICALREFERENCED);
  v.written = zfs_prop_get_int(zhp, ZFS_PROP_WRITTEN);
  v.usedbysnapshots = zfs_prop_get_int(zhp, ZFS_PROP_USEDSNAP);
  v.logicalused = zfs_prop_get_int(zhp, ZFS_PROP_LOGICALUSED);
  v.refreservation = zfs_prop_get_int(zhp, ZFS_PROP_REFRESERVATION);
  v.compressratio = zfs_prop_get_int(zhp, ZFS_PROP_COMPRESSRATIO) / 100.0;
  v.creation = static_cast<int64_t>(zfs_prop_get_int(zhp, ZFS_PROP_CREATION));
  v.createtxg = zfs_prop_get_int(zhp, ZFS_PROP_CREATETXG);
  v.guid = zfs_prop_get_int(zhp, ZFS_PROP_GUID);
  v.origin = StringProp(zhp, ZFS_PROP_ORIGIN);
  v.encrypted = zfs_prop_get_int(zhp, ZFS_PROP_ENCRYPTION) != ZIO_CRYPT_OFF;
  v.key_loaded =
      !v.encrypted || zfs_prop_get_int(zhp, ZFS_PROP_KEYSTATUS) == ZFS_KEYSTATUS_AVAILABLE;
  v.user_props = LocalUserProps(zhp);
  return v;
}

SnapshotProps ReadSnapshotProps(zfs_handle_t* zhp) {
  SnapshotProps s;
  s.name = zfs_get_name(zhp);
  s.used = zfs_prop_get_int(zhp, ZFS_PROP_USED);
  s.referenced = zfs_prop_get_int(zhp, ZFS_PROP_REFERENCED);
  s.creation = static_cast<int64_t>(zfs_prop_get_int(zhp, ZFS_PROP_CREATION));
  s.createtxg = zfs_prop_get_int(zhp, ZFS_PROP_CREATETXG);
  s.guid = zfs_prop_get_int(zhp, ZFS_PROP_GUID);
  s.userrefs = zfs_prop_get_int(zhp, ZFS_PROP_USERREFS);
  s.volsize = zfs_prop_get_int(zhp, ZFS_PROP_VOLSIZE);
  if (nvlist_t* clones = zfs_get_clones_nvl(zhp); clones != nullptr) {
    for (nvpair_t* p = nvlist_next_nvpair(clones, nullptr); p != nullptr;
         p = nvlist_next_nvpair(clones, p)) {
      s.clones.push_back(nvpair_name(p));
    }
  }
  s.user_props = LocalUserProps(zhp);
  return s;
}

// The pool's top-level data vdevs with their ashift (empty if the pool's
// configuration cannot be read). Log and cache devices are not data vdevs.
std::vector<TopLevelVdev> TopLevelVdevs(libzfs_handle_t* h, zpool_handle_t* zhp) {
  std::vector<TopLevelVdev> out;
  nvlist_t* config = zpool_get_config(zhp, nullptr);
  nvlist_t* root = nullptr;
  if (config == nullptr || nvlist_lookup_nvlist(config, ZPOOL_CONFIG_VDEV_TREE, &root) != 0) {
    return out;
  }
  nvlist_t** children = nullptr;
  uint_t count = 0;
  if (nvlist_lookup_nvlist_array(root, ZPOOL_CONFIG_CHILDREN, &children, &count) != 0) {
    return out;
  }
  for (uint_t i = 0; i < count; ++i) {
    uint64_t is_log = 0;
    nvlist_lookup_uint64(children[i], ZPOOL_CONFIG_IS_LOG, &is_log);
    if (is_log != 0) continue;
    TopLevelVdev vdev;
    nvlist_lookup_uint64(children[i], ZPOOL_CONFIG_ASHIFT, &vdev.ashift);
    vdev_stat_t* stats = nullptr;
    uint_t stat_count = 0;
    if (nvlist_lookup_uint64_array(children[i], ZPOOL_CONFIG_VDEV_STATS,
                                   reinterpret_cast<uint64_t**>(&stats), &stat_count) == 0) {
      vdev.state = zpool_state_to_name(static_cast<vdev_state_t>(stats->vs_state),
                                       static_cast<vdev_aux_t>(stats->vs_aux));
    }
    char* name = zpool_vdev_name(h, zhp, children[i], VDEV_NAME_TYPE_ID);  // "mirror-0"
    vdev.name = name != nullptr ? name : "vdev " + std::to_string(i);
    free(name);
    out.push_back(std::move(vdev));
  }
  return out;
}

// Smallest ashift among `vdevs` (0 if unknown).
uint64_t SmallestAshift(const std::vector<TopLevelVdev>& vdevs) {
  uint64_t smallest = 0;
  for (const TopLevelVdev& vdev : vdevs) {
    if (vdev.ashift != 0 && (smallest == 0 || vdev.ashift < smallest)) smallest = vdev.ashift;
  }
  return smallest;
}

class LibZfs final : public Zfs {
 public:
  explicit LibZfs(std::vector<libzfs_handle_t*> handles) : handles_(std::move(handles)) {}
  ~LibZfs() override { libzfs_core_fini(); }

  absl::StatusOr<PoolProps> GetPool(const std::string& pool) override {
    Lease h(handles_);
    ZpoolHandle zp(zpool_open_canfail(h, pool.c_str()));
    if (!zp) {
      return absl::NotFoundError(absl::StrCat("pool '", pool, "' is not imported"));
    }
    PoolProps p;
    p.name = pool;
    p.health = zpool_get_state_str(zp.get());
    if (zpool_get_state(zp.get()) == POOL_STATE_UNAVAIL) return p;
    p.top_level_vdevs = TopLevelVdevs(h, zp.get());
    p.ashift = SmallestAshift(p.top_level_vdevs);
    p.autotrim = zpool_get_prop_int(zp.get(), ZPOOL_PROP_AUTOTRIM, nullptr) != 0;
    p.size = zpool_get_prop_int(zp.get(), ZPOOL_PROP_SIZE, nullptr);
    p.allocated = zpool_get_prop_int(zp.get(), ZPOOL_PROP_ALLOCATED, nullptr);
    p.free = zpool_get_prop_int(zp.get(), ZPOOL_PROP_FREE, nullptr);
    p.capacity = zpool_get_prop_int(zp.get(), ZPOOL_PROP_CAPACITY, nullptr);
    // UINT64_MAX: the pool keeps no free-space histogram to tell from.
    if (uint64_t frag = zpool_get_prop_int(zp.get(), ZPOOL_PROP_FRAGMENTATION, nullptr);
        frag != UINT64_MAX) {
      p.fragmentation = frag;
    }
    ZfsHandle root(zfs_open(h, pool.c_str(), ZFS_TYPE_FILESYSTEM));
    if (!root) return LastError(h, ZfsOp::kRead, "read pool root dataset", pool);
    p.compression = StringProp(root.get(), ZFS_PROP_COMPRESSION);
    p.xattr = StringProp(root.get(), ZFS_PROP_XATTR);
    p.atime = StringProp(root.get(), ZFS_PROP_ATIME);
    p.used = zfs_prop_get_int(root.get(), ZFS_PROP_USED);
    p.available = zfs_prop_get_int(root.get(), ZFS_PROP_AVAILABLE);
    p.compressratio = zfs_prop_get_int(root.get(), ZFS_PROP_COMPRESSRATIO) / 100.0;
    return p;
  }

  absl::StatusOr<DatasetSpace> GetSpace(const std::string& dataset) override {
    Lease h(handles_);
    ZfsHandle zhp(zfs_open(h, dataset.c_str(), ZFS_TYPE_DATASET));
    if (!zhp) return LastError(h, ZfsOp::kRead, "read the space of", dataset);
    return DatasetSpace{zfs_prop_get_int(zhp.get(), ZFS_PROP_USED),
                        zfs_prop_get_int(zhp.get(), ZFS_PROP_AVAILABLE)};
  }

  bool Exists(const std::string& name) override { return lzc_exists(name.c_str()) == B_TRUE; }

  absl::StatusOr<VolumeProps> GetVolume(const std::string& name) override {
    Lease h(handles_);
    ZfsHandle zhp(zfs_open(h, name.c_str(), ZFS_TYPE_DATASET));
    if (!zhp) return LastError(h, ZfsOp::kRead, "open volume", name);
    if (zfs_get_type(zhp.get()) != ZFS_TYPE_VOLUME) {
      return absl::InvalidArgumentError(
          absl::StrCat("open volume '", name, "': dataset is not a volume"));
    }
    return ReadVolumeProps(zhp.get());
  }

  absl::StatusOr<std::vector<VolumeProps>> ListVolumes(const std::string& parent) override {
    Lease h(handles_);
    ZfsHandle zhp(zfs_open(h, parent.c_str(), ZFS_TYPE_FILESYSTEM));
    if (!zhp) return LastError(h, ZfsOp::kRead, "list volumes of", parent);
    std::vector<VolumeProps> out;
    auto callback = [](zfs_handle_t* child, void* arg) -> int {
      ZfsHandle owned(child);
      if (zfs_get_type(child) == ZFS_TYPE_VOLUME) {
        static_cast<std::vector<VolumeProps>*>(arg)->push_back(ReadVolumeProps(child));
      }
      return 0;
    };
    if (zfs_iter_filesystems(zhp.get(), callback, &out) != 0) {
      return LastError(h, ZfsOp::kRead, "list volumes of", parent);
    }
    std::sort(out.begin(), out.end(),
              [](const VolumeProps& a, const VolumeProps& b) { return a.name < b.name; });
    return out;
  }

  absl::StatusOr<std::vector<VolumeDigest>> ScanVolumes(const std::string& parent,
                                                        const std::string& id_property) override {
    return internal::ScanVolumesInKernel(parent, id_property);  // no libzfs handle: no lock
  }

  absl::StatusOr<std::vector<VolumeDigest>> ScanVolumesNamed(
      const std::string& parent, const std::vector<std::string>& names,
      const std::string& id_property) override {
    return internal::ScanVolumesNamedInKernel(parent, names, id_property);
  }

  absl::StatusOr<PoolHistoryPage> ReadPoolHistory(const std::string& pool,
                                                  const PoolHistoryPosition& from,
                                                  size_t max_events) override {
    Lease h(handles_);
    return internal::ReadPoolHistoryWith(h, pool, from, max_events);
  }

  absl::StatusOr<std::vector<SnapshotProps>> ListSnapshots(const std::string& name) override {
    Lease h(handles_);
    ZfsHandle zhp(zfs_open(h, name.c_str(), ZFS_TYPE_DATASET));
    if (!zhp) return LastError(h, ZfsOp::kRead, "list snapshots of", name);
    std::vector<SnapshotProps> out;
    auto callback = [](zfs_handle_t* snap, void* arg) -> int {
      ZfsHandle owned(snap);
      static_cast<std::vector<SnapshotProps>*>(arg)->push_back(ReadSnapshotProps(snap));
      return 0;
    };
    // Sorted by createtxg (zfs_snapshot_compare), never by creation time.
    if (zfs_iter_snapshots_sorted(zhp.get(), callback, &out, 0, 0) != 0) {
      return LastError(h, ZfsOp::kRead, "list snapshots of", name);
    }
    return out;
  }

  absl::Status CreateVolume(const std::string& name, uint64_t volsize, uint64_t volblocksize,
                            const UserProps& user_props) override {
    Nvlist props = UserPropsNvlist(user_props);
    if (!props) return ZfsErrnoStatus(ZfsOp::kCreate, ENOMEM, "create volume", name);
    int err = nvlist_add_uint64(props.get(), zfs_prop_to_name(ZFS_PROP_VOLSIZE), volsize);
    err =
        err ? err
            : nvlist_add_uint64(props.get(), zfs_prop_to_name(ZFS_PROP_VOLBLOCKSIZE), volblocksize);
    err = err ? err : AddVolmodeDev(props.get());
    if (err != 0) return ZfsErrnoStatus(ZfsOp::kCreate, err, "create volume", name);
    // No refreservation: the volume is sparse (thin), like `zfs create -s`.
    err = lzc_create(name.c_str(), LZC_DATSET_TYPE_ZVOL, props.get(), nullptr, 0);
    if (err != 0) return ZfsErrnoStatus(ZfsOp::kCreate, err, "create volume", name);
    return absl::OkStatus();
  }

  absl::Status SetVolsize(const std::string& name, uint64_t volsize) override {
    Lease h(handles_);
    ZfsHandle zhp(zfs_open(h, name.c_str(), ZFS_TYPE_VOLUME));
    if (!zhp) return LastError(h, ZfsOp::kRead, "resize volume", name);
    if (zfs_prop_set(zhp.get(), zfs_prop_to_name(ZFS_PROP_VOLSIZE),
                     std::to_string(volsize).c_str()) != 0) {
      return LastError(h, ZfsOp::kSetProperty, "resize volume", name);
    }
    return absl::OkStatus();
  }

  absl::Status DestroySnapshots(const std::vector<std::string>& snapshots) override {
    return DestroySnaps(snapshots, /*defer=*/false);
  }

  absl::StatusOr<SnapshotProps> GetSnapshot(const std::string& name) override {
    Lease h(handles_);
    ZfsHandle zhp(zfs_open(h, name.c_str(), ZFS_TYPE_SNAPSHOT));
    if (!zhp) return LastError(h, ZfsOp::kRead, "open snapshot", name);
    return ReadSnapshotProps(zhp.get());
  }

  absl::Status Snapshot(const std::vector<std::string>& snapshots,
                        const UserProps& user_props) override {
    if (snapshots.empty()) return absl::OkStatus();
    Nvlist snaps = NamesNvlist(snapshots);
    Nvlist props = UserPropsNvlist(user_props);
    if (!snaps || !props) return ZfsErrnoStatus(ZfsOp::kSnapshot, ENOMEM, "snapshot", snapshots[0]);
    nvlist_t* errlist = nullptr;
    int err = lzc_snapshot(snaps.get(), props.get(), &errlist);
    return FirstError(ZfsOp::kSnapshot, err, Nvlist(errlist), "create snapshot", snapshots[0]);
  }

  absl::StatusOr<std::vector<SnapshotProps>> TakeSnapshots(
      const std::vector<NewSnapshot>& snapshots, const std::string& mark) override {
    return internal::TakeSnapshotsAtomically(snapshots, mark);
  }

  absl::Status Rollback(const std::string& name, const std::string& snapshot) override {
    // Bookmarks newer than the target would make ZFS refuse the rollback
    // after the newer snapshots are gone: refuse them first, naming them.
    absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> bookmarks = ListBookmarks(name);
    if (!bookmarks.ok()) return bookmarks.status();
    // Without bookmarks the target need not be read here: the program checks
    // that it exists, and that no bookmark appeared meanwhile.
    if (bookmarks->empty()) return internal::RollbackAtomically(name, snapshot, {});
    absl::StatusOr<SnapshotProps> target = GetSnapshot(snapshot);
    if (!target.ok()) return target.status();
    std::vector<std::string> names, newer;
    for (const auto& [bookmark, createtxg] : *bookmarks) {
      names.push_back(bookmark);
      if (createtxg > target->createtxg) newer.push_back(bookmark);
    }
    if (!newer.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "roll back '", name, "' to '", snapshot, "': bookmarks newer than the snapshot (",
          absl::StrJoin(newer, ", "), ") would be left pointing past it; destroy them first"));
    }
    return internal::RollbackAtomically(name, snapshot, names);
  }

  absl::Status Clone(const std::string& name, const std::string& origin,
                     const UserProps& user_props) override {
    Nvlist props = UserPropsNvlist(user_props);
    if (!props) return ZfsErrnoStatus(ZfsOp::kClone, ENOMEM, "clone", name);
    if (int err = AddVolmodeDev(props.get()); err != 0) {
      return ZfsErrnoStatus(ZfsOp::kClone, err, "clone", name);
    }
    int err = lzc_clone(name.c_str(), origin.c_str(), props.get());  // new name first
    if (err != 0)
      return ZfsErrnoStatus(ZfsOp::kClone, err, absl::StrCat("clone '", origin, "' as"), name);
    return absl::OkStatus();
  }

  absl::Status ClearUserProperty(const std::string& name, const std::string& key) override {
    if (!zfs_prop_user(key.c_str())) {
      return absl::InvalidArgumentError(
          absl::StrCat("clear ", key, " on '", name, "': not a user property"));
    }
    Lease h(handles_);
    ZfsHandle zhp(zfs_open(h, name.c_str(), ZFS_TYPE_DATASET | ZFS_TYPE_SNAPSHOT));
    if (!zhp) return LastError(h, ZfsOp::kRead, "clear property on", name);
    if (zfs_prop_inherit(zhp.get(), key.c_str(), B_FALSE) != 0) {
      return LastError(h, ZfsOp::kSetProperty, absl::StrCat("clear ", key, " on"), name);
    }
    return absl::OkStatus();
  }

  absl::Status SetProperty(const std::string& name, const std::string& key,
                           const std::string& value) override {
    Lease h(handles_);
    ZfsHandle zhp(zfs_open(h, name.c_str(), ZFS_TYPE_DATASET | ZFS_TYPE_SNAPSHOT));
    if (!zhp) return LastError(h, ZfsOp::kRead, "set property on", name);
    if (zfs_prop_set(zhp.get(), key.c_str(), value.c_str()) != 0) {
      absl::Status failed =
          LastError(h, ZfsOp::kSetProperty, absl::StrCat("set ", key, " on"), name);
      // libzfs reports a reservation the pool has no room for (ENOSPC) as
      // EZFS_PROPSPACE, which for quotas means a bad value instead.
      if (libzfs_errno(h) == EZFS_PROPSPACE && (key == "refreservation" || key == "reservation")) {
        return absl::ResourceExhaustedError(failed.message());
      }
      return failed;
    }
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    int err = lzc_rename(from.c_str(), to.c_str());
    if (err != 0)
      return ZfsErrnoStatus(ZfsOp::kRename, err, absl::StrCat("rename '", from, "' to"), to);
    return absl::OkStatus();
  }

  absl::Status EnsureHiddenFilesystem(const std::string& name, bool zvol_devices) override {
    if (Exists(name)) return absl::OkStatus();
    Nvlist props = NewNvlist();
    if (!props) return ZfsErrnoStatus(ZfsOp::kCreate, ENOMEM, "create filesystem", name);
    nvlist_add_uint64(props.get(), zfs_prop_to_name(ZFS_PROP_CANMOUNT), ZFS_CANMOUNT_OFF);
    nvlist_add_string(props.get(), zfs_prop_to_name(ZFS_PROP_MOUNTPOINT), "none");
    nvlist_add_uint64(props.get(), zfs_prop_to_name(ZFS_PROP_VOLMODE),
                      zvol_devices ? ZFS_VOLMODE_DEV : ZFS_VOLMODE_NONE);
    int err = lzc_create(name.c_str(), LZC_DATSET_TYPE_ZFS, props.get(), nullptr, 0);
    if (err != 0 && err != EEXIST)
      return ZfsErrnoStatus(ZfsOp::kCreate, err, "create filesystem", name);
    return absl::OkStatus();
  }

  absl::Status CopySnapshot(const std::string& source, const std::string& target) override {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      return ZfsErrnoStatus(ZfsOp::kCreate, errno, "copy snapshot", source);
    // The receive reads what the send writes; each end closes its fd when
    // done so that the other sees EOF/EPIPE instead of hanging.
    int send_err = 0;
    std::thread sender([&] {
      send_err =
          lzc_send(source.c_str(), nullptr, fds[1],
                   static_cast<lzc_send_flags>(LZC_SEND_FLAG_LARGE_BLOCK |
                                               LZC_SEND_FLAG_EMBED_DATA | LZC_SEND_FLAG_COMPRESS));
      ::close(fds[1]);
    });
    int recv_err = lzc_receive(target.c_str(), nullptr, nullptr, B_FALSE, B_FALSE, fds[0]);
    ::close(fds[0]);
    sender.join();
    // A receive that stops early closes the pipe under the send, which then
    // fails with EPIPE or, if the kernel's write was interrupted, EINTR
    // (zfs_file_write): the receive's error is the cause then.
    const bool receiver_stopped = send_err == EPIPE || send_err == EINTR;
    if (send_err != 0 && !receiver_stopped) {
      return ZfsErrnoStatus(ZfsOp::kRead, send_err, "send snapshot", source);
    }
    if (recv_err != 0) return ZfsErrnoStatus(ZfsOp::kCreate, recv_err, "receive snapshot", target);
    return absl::OkStatus();
  }

  static lzc_send_flags SendFlags(bool raw) {
    return raw ? static_cast<lzc_send_flags>(kSendFlags | LZC_SEND_FLAG_RAW) : kSendFlags;
  }

  absl::Status SendSnapshot(int fd, const std::string& snapshot, const std::string& from,
                            bool raw) override {
    if (absl::Status s = CheckSendBase(snapshot, from); !s.ok()) return s;
    int err = lzc_send(snapshot.c_str(), from.empty() ? nullptr : from.c_str(), fd, SendFlags(raw));
    if (err == 0) return absl::OkStatus();
    return SendFailure(err, snapshot, from, !from.empty() && lzc_exists(from.c_str()));
  }

  absl::Status ResumeSend(int fd, const std::string& dataset, const std::string& token) override {
    absl::StatusOr<DecodedToken> decoded = DecodeResumeToken(dataset, token);
    if (!decoded.ok()) return decoded.status();
    const ResumePoint& point = decoded->point;
    int err =
        lzc_send_resume(point.snapshot.c_str(), point.from.empty() ? nullptr : point.from.c_str(),
                        fd, decoded->flags, decoded->object, decoded->offset);
    return err == 0 ? absl::OkStatus() : SendFailure(err, point.snapshot, point.from, true);
  }

  absl::StatusOr<ResumePoint> DescribeResumeToken(const std::string& dataset,
                                                  const std::string& token) override {
    absl::StatusOr<DecodedToken> decoded = DecodeResumeToken(dataset, token);
    if (!decoded.ok()) return decoded.status();
    return decoded->point;
  }

  absl::StatusOr<uint64_t> SendSize(const std::string& snapshot, const std::string& from,
                                    bool raw) override {
    if (absl::Status s = CheckSendBase(snapshot, from); !s.ok()) return s;
    uint64_t bytes = 0;
    int err = lzc_send_space(snapshot.c_str(), from.empty() ? nullptr : from.c_str(),
                             SendFlags(raw), &bytes);
    if (err == 0) return bytes;
    return SendFailure(err, snapshot, from, !from.empty() && lzc_exists(from.c_str()));
  }

  absl::Status ReceiveSnapshot(int fd, const SendStreamBegin& begin, const std::string& target,
                               const UserProps& local_props) override {
    if (absl::Status s = CheckReceiveTarget(begin, target, local_props); !s.ok()) return s;
    Nvlist cmdprops;
    if (!begin.incremental() && !begin.resuming) {
      cmdprops = UserPropsNvlist(local_props);
      if (!cmdprops || AddVolmodeDev(cmdprops.get()) != 0) {
        return ZfsErrnoStatus(ZfsOp::kReceive, ENOMEM, "receive", target);
      }
    }
    uint64_t read_bytes = 0, errflags = 0, action_handle = 0;
    nvlist_t* errors = nullptr;
    // No received properties (props = NULL): a first receive with them would
    // reset the target's local ones (volmode, mvirt:*). Always resumable.
    int err = lzc_receive_with_cmdprops(
        target.c_str(), nullptr, cmdprops.get(), nullptr, 0, nullptr, B_FALSE, B_TRUE, B_FALSE, fd,
        reinterpret_cast<const struct dmu_replay_record*>(begin.record.data()), -1, &read_bytes,
        &errflags, &action_handle, &errors);
    Nvlist owned_errors(errors);
    if (err != 0) {
      // What a failure at the end of the receive leaves (the target was
      // written or snapshotted meanwhile): partial state with a token.
      const std::string dataset = target.substr(0, target.find('@'));
      absl::StatusOr<std::string> token =
          err == EBUSY ? std::string() : ReceiveResumeToken(dataset);
      return ReceiveFailure(err, begin, target, token.ok() && !token->empty());
    }
    if (errors != nullptr && !nvlist_empty(errors)) {
      nvpair_t* first = nvlist_next_nvpair(errors, nullptr);
      return absl::InternalError(absl::StrCat("receive '", target, "': received, but property '",
                                              nvpair_name(first), "' could not be set"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> ReceiveResumeToken(const std::string& name) override {
    Lease h(handles_);
    ZfsHandle zhp(zfs_open(h, name.c_str(), ZFS_TYPE_DATASET));
    if (!zhp) return LastError(h, ZfsOp::kRead, "read the resume token of", name);
    char token[ZFS_MAXPROPLEN];
    if (zfs_prop_get(zhp.get(), ZFS_PROP_RECEIVE_RESUME_TOKEN, token, sizeof(token), nullptr,
                     nullptr, 0, B_TRUE) != 0 ||
        std::string(token) == "-") {
      return std::string();
    }
    return std::string(token);
  }

  absl::Status AbortReceive(const std::string& name) override {
    absl::StatusOr<std::string> token = ReceiveResumeToken(name);
    if (!token.ok()) return token.status();
    if (token->empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("abort the receive into '", name, "': it holds no interrupted receive"));
    }
    // An existing dataset keeps the partial state in its hidden child
    // `%recv`; a dataset the receive was creating is itself the partial
    // state (it has no snapshot, so lzc_destroy cannot take a complete one).
    const std::string partial = name + "/%recv";
    const std::string& doomed = lzc_exists(partial.c_str()) ? partial : name;
    if (int err = lzc_destroy(doomed.c_str()); err != 0) {
      return ZfsErrnoStatus(ZfsOp::kDestroy, err, "abort the receive into", name);
    }
    return absl::OkStatus();
  }

  absl::Status Hold(const std::string& snapshot, const std::string& tag) override {
    Nvlist holds = NewNvlist();
    if (!holds || nvlist_add_string(holds.get(), snapshot.c_str(), tag.c_str()) != 0) {
      return ZfsErrnoStatus(ZfsOp::kSnapshot, ENOMEM, "hold", snapshot);
    }
    nvlist_t* errors = nullptr;
    int err = lzc_hold(holds.get(), -1, &errors);  // no cleanup fd: a lasting hold
    Nvlist owned_errors(errors);
    if (err == 0) err = FirstErrno(errors);  // a missing snapshot is only listed there
    if (err == ENOENT) {
      return absl::NotFoundError(absl::StrCat("hold '", snapshot, "': no such snapshot"));
    }
    if (err == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat("hold '", snapshot, "': tag '", tag, "' exists"));
    }
    return err == 0 ? absl::OkStatus() : ZfsErrnoStatus(ZfsOp::kSnapshot, err, "hold", snapshot);
  }

  absl::Status Release(const std::string& snapshot, const std::string& tag) override {
    Nvlist tags = NewNvlist();
    Nvlist holds = NewNvlist();
    if (!tags || !holds || nvlist_add_boolean(tags.get(), tag.c_str()) != 0 ||
        nvlist_add_nvlist(holds.get(), snapshot.c_str(), tags.get()) != 0) {
      return ZfsErrnoStatus(ZfsOp::kSnapshot, ENOMEM, "release", snapshot);
    }
    nvlist_t* errors = nullptr;
    int err = lzc_release(holds.get(), &errors);
    Nvlist owned_errors(errors);
    if (err == 0) err = FirstErrno(errors);  // a missing hold is only listed there
    if (err == ENOENT || err == ESRCH) {
      return absl::NotFoundError(absl::StrCat("release '", snapshot, "': no hold '", tag, "'"));
    }
    return err == 0 ? absl::OkStatus() : ZfsErrnoStatus(ZfsOp::kSnapshot, err, "release", snapshot);
  }

  absl::StatusOr<std::vector<std::string>> Holds(const std::string& snapshot) override {
    nvlist_t* raw = nullptr;
    const int err = lzc_get_holds(snapshot.c_str(), &raw);
    Nvlist holds(raw);  // owned on failure too: libzfs_core may have unpacked one
    if (err != 0) {
      if (err == ENOENT) {
        return absl::NotFoundError(
            absl::StrCat("read the holds of '", snapshot, "': no such snapshot"));
      }
      return ZfsErrnoStatus(ZfsOp::kRead, err, "read the holds of", snapshot);
    }
    std::vector<std::string> tags;
    for (nvpair_t* p = nvlist_next_nvpair(holds.get(), nullptr); p != nullptr;
         p = nvlist_next_nvpair(holds.get(), p)) {
      tags.emplace_back(nvpair_name(p));
    }
    std::sort(tags.begin(), tags.end());
    return tags;
  }

  absl::Status DeferDestroySnapshots(const std::vector<std::string>& snapshots) override {
    return DestroySnaps(snapshots, /*defer=*/true);
  }

  absl::Status DestroyWithSnapshots(const std::string& name) override {
    return internal::DestroyWithSnapshotsAtomically(name);
  }

 private:
  // The first errno of an lzc error list (name -> int32), or 0.
  static int FirstErrno(nvlist_t* errors) {
    if (errors == nullptr) return 0;
    nvpair_t* pair = nvlist_next_nvpair(errors, nullptr);
    int32_t err = 0;
    return pair != nullptr && nvpair_value_int32(pair, &err) == 0 ? err : 0;
  }

  // Every stream the same way (see Zfs::SendSnapshot): mixing large-block
  // settings within a chain of incrementals is refused by the receiver.
  static constexpr lzc_send_flags kSendFlags = static_cast<lzc_send_flags>(
      LZC_SEND_FLAG_LARGE_BLOCK | LZC_SEND_FLAG_EMBED_DATA | LZC_SEND_FLAG_COMPRESS);

  // A resume token decoded and checked against `dataset`'s snapshots.
  struct DecodedToken {
    ResumePoint point;
    uint64_t object = 0;
    uint64_t offset = 0;
    lzc_send_flags flags = kSendFlags;
  };

  absl::StatusOr<DecodedToken> DecodeResumeToken(const std::string& dataset,
                                                 const std::string& token) {
    DecodedToken out;
    std::string toname;
    uint64_t toguid = 0, fromguid = 0;
    // libzfs allocates what a token announces before checking it: a
    // client's token is checked for its shape and size first.
    if (!LooksLikeResumeToken(token)) return ResumeRefusal(dataset, "not a resume token");
    {
      Lease h(handles_);
      Nvlist fields(zfs_send_resume_token_to_nvlist(h, token.c_str()));
      if (!fields) {
        absl::Status refused = ResumeRefusal(
            dataset, absl::StrCat("not a resume token (", libzfs_error_description(h), ")"));
        // Clears the description it left on the handle, which the next
        // failure on this handle would otherwise report as its own.
        zfs_standard_error(h, EINVAL, "resume token");
        return refused;
      }
      char* name = nullptr;
      if (nvlist_lookup_string(fields.get(), "toname", &name) != 0 ||
          nvlist_lookup_uint64(fields.get(), "object", &out.object) != 0 ||
          nvlist_lookup_uint64(fields.get(), "offset", &out.offset) != 0 ||
          nvlist_lookup_uint64(fields.get(), "toguid", &toguid) != 0) {
        return ResumeRefusal(dataset, "the resume token lacks the snapshot or the position");
      }
      toname = name;
      (void)nvlist_lookup_uint64(fields.get(), "fromguid", &fromguid);
      if (nvlist_exists(fields.get(), "rawok")) {
        out.flags = static_cast<lzc_send_flags>(out.flags | LZC_SEND_FLAG_RAW);
      }
    }
    absl::StatusOr<std::vector<SnapshotProps>> snaps = ListSnapshots(dataset);
    if (!snaps.ok()) return snaps.status();
    std::vector<std::pair<std::string, uint64_t>> guids;
    for (const SnapshotProps& snap : *snaps) guids.emplace_back(snap.name, snap.guid);
    absl::StatusOr<std::string> from = ResumeBase(dataset, guids, toname, toguid, fromguid);
    if (!from.ok()) return from.status();
    out.point = {toname, *from, (out.flags & LZC_SEND_FLAG_RAW) != 0};
    return out;
  }

  // The bookmarks of dataset `name` ("pool/vol#b") with their createtxg:
  // one ioctl (libzfs's iteration would first open the dataset).
  static absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> ListBookmarks(
      const std::string& name) {
    Nvlist wanted = NewNvlist();
    if (!wanted || nvlist_add_boolean(wanted.get(), zfs_prop_to_name(ZFS_PROP_CREATETXG)) != 0) {
      return ZfsErrnoStatus(ZfsOp::kRead, ENOMEM, "list bookmarks of", name);
    }
    nvlist_t* raw = nullptr;
    const int err = lzc_get_bookmarks(name.c_str(), wanted.get(), &raw);
    Nvlist bookmarks(raw);
    if (err != 0) return ZfsErrnoStatus(ZfsOp::kRead, err, "list bookmarks of", name);
    std::vector<std::pair<std::string, uint64_t>> out;
    for (nvpair_t* p = nvlist_next_nvpair(bookmarks.get(), nullptr); p != nullptr;
         p = nvlist_next_nvpair(bookmarks.get(), p)) {
      nvlist_t* props = nullptr;
      nvlist_t* createtxg = nullptr;
      uint64_t txg = 0;
      if (nvpair_value_nvlist(p, &props) != 0 ||
          nvlist_lookup_nvlist(props, zfs_prop_to_name(ZFS_PROP_CREATETXG), &createtxg) != 0 ||
          nvlist_lookup_uint64(createtxg, ZPROP_VALUE, &txg) != 0) {
        return absl::InternalError(absl::StrCat("list bookmarks of '", name, "': bookmark '",
                                                nvpair_name(p), "' came without its createtxg"));
      }
      out.emplace_back(absl::StrCat(name, "#", nvpair_name(p)), txg);
    }
    return out;
  }

  // lzc_destroy_snaps of all `snapshots` in one atomic call; with `defer`,
  // each is only marked to vanish with its last clone.
  static absl::Status DestroySnaps(const std::vector<std::string>& snapshots, bool defer) {
    if (snapshots.empty()) return absl::OkStatus();
    const char* what = defer ? "defer destroy of snapshot" : "destroy snapshot";
    Nvlist snaps = NamesNvlist(snapshots);
    if (!snaps) return ZfsErrnoStatus(ZfsOp::kDestroySnapshots, ENOMEM, what, snapshots[0]);
    nvlist_t* errlist = nullptr;
    int err = lzc_destroy_snaps(snaps.get(), defer ? B_TRUE : B_FALSE, &errlist);
    return FirstError(ZfsOp::kDestroySnapshots, err, Nvlist(errlist), what, snapshots[0]);
  }

  // Status for a failed batch call (lzc_snapshot, lzc_destroy_snaps): names
  // the first snapshot in `errors` (snapshot name -> errno) the kernel
  // complained about, else `fallback`. OK if err == 0.
  static absl::Status FirstError(ZfsOp op, int err, Nvlist errors, absl::string_view what,
                                 const std::string& fallback) {
    if (err == 0) return absl::OkStatus();
    std::string culprit = fallback;
    if (errors) {
      if (nvpair_t* p = nvlist_next_nvpair(errors.get(), nullptr); p != nullptr) {
        culprit = nvpair_name(p);
        int32_t e = 0;
        if (nvpair_value_int32(p, &e) == 0 && e != 0) err = e;
      }
    }
    return ZfsErrnoStatus(op, err, what, culprit);
  }

  // Status for the last libzfs failure on `h`, the caller's lent handle.
  static absl::Status LastError(libzfs_handle_t* h, ZfsOp op, absl::string_view what,
                                absl::string_view object) {
    int ezfs = libzfs_errno(h);
    int err = EzfsToErrno(ezfs);
    std::string description = libzfs_error_description(h);
    absl::StatusCode code = err >= 0 ? MapZfsErrno(op, err) : absl::StatusCode::kInternal;
    return absl::Status(code, absl::StrCat(what, " '", object, "': ", description));
  }

  using Lease = internal::LibzfsHandles::Lease;
  internal::LibzfsHandles handles_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Zfs>> OpenLibZfs() {
  if (int err = libzfs_core_init(); err != 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot open /dev/zfs (is the zfs kernel module loaded?): ", DescribeZfsErrno(err)));
  }
  std::vector<libzfs_handle_t*> handles;
  for (int i = 0; i < kLibzfsHandles; ++i) {
    libzfs_handle_t* h = libzfs_init();
    if (h == nullptr) {
      for (libzfs_handle_t* opened : handles) libzfs_fini(opened);
      libzfs_core_fini();
      return absl::UnavailableError("cannot initialize libzfs (is the zfs kernel module loaded?)");
    }
    handles.push_back(h);
  }
  return std::unique_ptr<Zfs>(new LibZfs(std::move(handles)));
}

}  // namespace mvirt::zfs
