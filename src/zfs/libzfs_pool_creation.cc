// PoolCreator over libzfs: zpool_name_valid, zpool_in_use, zpool_create
// (with every feature the module supports enabled, as `zpool create` does).
// Include order as in libzfs_backend.cc (libspl's include directory shadows
// C headers and defines a `fallthrough` macro that breaks abseil): standard
// headers, drop the macro, abseil and ours, then libzfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <vector>
#undef fallthrough

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"
#include "common/unique_fd.h"
#include "zfs/error_mapping.h"
#include "zfs/pool_creation.h"

// libzfs (libspl) headers last: they redefine things C++ headers use.
#include <libzfs.h>
#include <libzfs_core.h>
#include <sys/fs/zfs.h>
#include <zfeature_common.h>

#include "zfs/nvlist.h"

// Not in libzfs.h, but exported by libzfs (libzfs_impl.h declares it).
extern "C" boolean_t zpool_name_valid(libzfs_handle_t*, boolean_t, const char*);

namespace mvirt::zfs {
namespace {

using internal::NewNvlist;
using internal::Nvlist;
using internal::StringsNvlist;

const char* PoolStateName(pool_state_t state) {
  switch (state) {
    case POOL_STATE_ACTIVE:
      return "active";
    case POOL_STATE_EXPORTED:
      return "exported";
    case POOL_STATE_DESTROYED:
      return "destroyed";
    case POOL_STATE_SPARE:
      return "spare";
    case POOL_STATE_L2CACHE:
      return "cache device";
    case POOL_STATE_POTENTIALLY_ACTIVE:
      return "potentially active";
    default:
      return "unknown";
  }
}

class LibZfsPoolCreator final : public PoolCreator {
 public:
  explicit LibZfsPoolCreator(libzfs_handle_t* h) : h_(h) {}
  ~LibZfsPoolCreator() override { libzfs_fini(h_); }

  absl::Status ValidatePoolName(const std::string& name) override {
    libzfs_print_on_error(h_, B_FALSE);
    if (zpool_name_valid(h_, B_FALSE, name.c_str())) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("invalid pool name '", name, "': ", libzfs_error_description(h_)));
  }

  bool PoolExists(const std::string& name) override {
    zpool_handle_t* zhp = zpool_open_canfail(h_, name.c_str());
    if (zhp == nullptr) return false;
    zpool_close(zhp);
    return true;
  }

  absl::StatusOr<std::optional<ZfsLabel>> ReadLabel(const std::string& path) override {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return PosixError(absl::StrCat("open ", path), errno);
    pool_state_t state = POOL_STATE_UNAVAIL;
    char* name = nullptr;
    boolean_t in_use = B_FALSE;
    if (zpool_in_use(h_, fd.get(), &state, &name, &in_use) != 0) {
      return absl::InternalError(
          absl::StrCat("read the ZFS label of ", path, ": ", libzfs_error_description(h_)));
    }
    if (!in_use) {
      free(name);
      return std::nullopt;
    }
    ZfsLabel label;
    label.pool = name != nullptr ? name : "";
    free(name);
    label.state = PoolStateName(state);
    label.active = state == POOL_STATE_ACTIVE || state == POOL_STATE_POTENTIALLY_ACTIVE;
    return label;
  }

  absl::Status Create(const NewPoolSpec& spec) override {
    std::string ashift;
    for (const auto& [key, value] : spec.pool_props) {
      if (key == "ashift") ashift = value;
    }
    Nvlist root = NewNvlist();
    if (!root || nvlist_add_string(root.get(), ZPOOL_CONFIG_TYPE, VDEV_TYPE_ROOT) != 0) {
      return absl::ResourceExhaustedError("create pool: out of memory");
    }
    std::vector<Nvlist> leaves;
    for (const std::string& path : spec.vdevs) {
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) return PosixError(absl::StrCat("stat ", path), errno);
      Nvlist leaf = NewNvlist();
      const bool disk = S_ISBLK(st.st_mode);
      if (!leaf ||
          nvlist_add_string(leaf.get(), ZPOOL_CONFIG_TYPE,
                            disk ? VDEV_TYPE_DISK : VDEV_TYPE_FILE) ||
          nvlist_add_string(leaf.get(), ZPOOL_CONFIG_PATH, path.c_str()) ||
          (disk && nvlist_add_uint64(leaf.get(), ZPOOL_CONFIG_WHOLE_DISK, 0)) ||
          (!ashift.empty() &&
           nvlist_add_uint64(leaf.get(), ZPOOL_CONFIG_ASHIFT, std::stoull(ashift)))) {
        return absl::ResourceExhaustedError("create pool: out of memory");
      }
      leaves.push_back(std::move(leaf));
    }
    std::vector<nvlist_t*> children;
    for (const Nvlist& leaf : leaves) children.push_back(leaf.get());
    if (nvlist_add_nvlist_array(root.get(), ZPOOL_CONFIG_CHILDREN, children.data(),
                                children.size()) != 0) {
      return absl::ResourceExhaustedError("create pool: out of memory");
    }
    std::map<std::string, std::string> pool_props(spec.pool_props.begin(), spec.pool_props.end());
    // Every feature the loaded module supports, as `zpool create` enables
    // them (libzfs_init read which): without feature@lz4_compress the
    // kernel refuses the root's compression=lz4 (ENOTSUP).
    for (int i = 0; i < SPA_FEATURES; ++i) {
      const zfeature_info_t& feature = spa_feature_table[i];
      if (feature.fi_zfs_mod_supported) {
        pool_props.emplace(absl::StrCat("feature@", feature.fi_uname), ZFS_FEATURE_ENABLED);
      }
    }
    std::map<std::string, std::string> root_props(spec.root_props.begin(), spec.root_props.end());
    Nvlist props = StringsNvlist(pool_props);
    Nvlist fs_props = StringsNvlist(root_props);
    if (!props || !fs_props) return absl::ResourceExhaustedError("create pool: out of memory");
    libzfs_print_on_error(h_, B_FALSE);
    if (zpool_create(h_, spec.name.c_str(), root.get(), props.get(), fs_props.get()) != 0) {
      const int error = libzfs_errno(h_);
      const std::string message =
          absl::StrCat("create pool '", spec.name, "': ", libzfs_error_description(h_));
      if (error == EZFS_EXISTS) return absl::AlreadyExistsError(message);
      if (error == EZFS_BADDEV || error == EZFS_BADPROP || error == EZFS_INVALIDNAME) {
        return absl::InvalidArgumentError(message);
      }
      if (error == EZFS_BUSY) return absl::FailedPreconditionError(message);
      return absl::InternalError(message);
    }
    return absl::OkStatus();
  }

 private:
  libzfs_handle_t* const h_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PoolCreator>> PoolCreator::Open() {
  libzfs_handle_t* h = libzfs_init();
  if (h == nullptr) {
    return absl::UnavailableError("cannot initialize libzfs (is the zfs kernel module loaded?)");
  }
  return std::unique_ptr<PoolCreator>(new LibZfsPoolCreator(h));
}

}  // namespace mvirt::zfs
