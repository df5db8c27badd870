// Internal to src/zfs: owning nvlists and the few shapes the adapter builds.
// Includes libnvpair (libspl): include it after every C++/abseil header.
#ifndef MVIRT_ZFS_ZFS_NVLIST_H_
#define MVIRT_ZFS_ZFS_NVLIST_H_

#include <libnvpair.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mvirt::zfs::internal {

struct NvlistFreer {
  void operator()(nvlist_t* nv) const { nvlist_free(nv); }
};
using Nvlist = std::unique_ptr<nvlist_t, NvlistFreer>;

// An empty nvlist with unique names; null if allocation fails.
inline Nvlist NewNvlist() {
  nvlist_t* nv = nullptr;
  if (nvlist_alloc(&nv, NV_UNIQUE_NAME, 0) != 0) return nullptr;
  return Nvlist(nv);
}

// An nvlist of string values (the type the kernel expects for user
// properties); null if allocation fails.
inline Nvlist StringsNvlist(const std::map<std::string, std::string>& values) {
  Nvlist list = NewNvlist();
  if (!list) return nullptr;
  for (const auto& [key, value] : values) {
    if (nvlist_add_string(list.get(), key.c_str(), value.c_str()) != 0) return nullptr;
  }
  return list;
}

// An nvlist naming each of `names` (boolean entries): the form lzc_snapshot
// and lzc_destroy_snaps take, and a list of strings to a channel program.
// Null if allocation fails.
inline Nvlist NamesNvlist(const std::vector<std::string>& names) {
  Nvlist list = NewNvlist();
  if (!list) return nullptr;
  for (const auto& name : names) {
    if (nvlist_add_boolean(list.get(), name.c_str()) != 0) return nullptr;
  }
  return list;
}

}  // namespace mvirt::zfs::internal

#endif  // MVIRT_ZFS_ZFS_NVLIST_H_
