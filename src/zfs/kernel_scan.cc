// As in libzfs_backend.cc: libspl's include directory shadows C headers and
// defines a `fallthrough` macro that breaks abseil, so standard headers come
// first, then that macro goes, then abseil and our headers, then
// libzfs_core/libnvpair last.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>
#undef fallthrough

#include <libzfs_core.h>

#include "absl/strings/str_cat.h"
#include "zfs/error_mapping.h"
#include "zfs/kernel_scan.h"
#include "zfs/nvlist.h"

namespace mvirt::zfs::internal {
namespace {

// args: parent, property. Returns {missing = parent} or {volumes = {NAME =
// {volsize = N, id = ID}}}, id only when the property is set on the zvol
// itself (its setpoint is the zvol), as ListVolumes reports user
// properties. Hidden children (%recv...) are not listed by zfs.list.children.
constexpr char kScanVolumesProgram[] = R"lua(
local args = ...
local parent, property = args["parent"], args["property"]
if not zfs.exists(parent) then return {missing = parent} end
local volumes = {}
for child in zfs.list.children(parent) do
  if zfs.get_prop(child, "type") == "volume" then
    local entry = {volsize = zfs.get_prop(child, "volsize")}
    local id, setpoint = zfs.get_prop(child, property)
    if id ~= nil and setpoint == child then entry["id"] = id end
    volumes[child] = entry
  end
end
return {volumes = volumes}
)lua";

// args: names (a list). Returns {trees = {NAME = {n = {PROP = N...},
// user = {PROP = VALUE...}, origin = S, snapshots = {SNAP = {n = {...},
// user = {...}, clones = {NAME...}}}}}} for each name that is a zvol. The
// numbers are those VolumeProps and SnapshotProps hold, as libzfs reports
// them (compressratio in hundredths); user properties only where set on the
// dataset itself, as zfs_get_user_props reports them with their source.
constexpr char kReadVolumeTreesProgram[] = R"lua(
local args = ...
local volume_numbers = {"volsize", "volblocksize", "used", "referenced", "logicalreferenced",
                        "refreservation", "compressratio", "creation", "createtxg", "guid"}
local snapshot_numbers = {"used", "referenced", "creation", "createtxg", "guid", "userrefs",
                          "volsize"}
local function read(ds, numbers)
  local n = {}
  for _, p in ipairs(numbers) do n[p] = zfs.get_prop(ds, p) end
  local user = {}
  for name, value, source in zfs.list.user_properties(ds) do
    if source == ds then user[name] = value end
  end
  return {n = n, user = user}
end
local trees = {}
for _, name in ipairs(args["names"]) do
  if zfs.exists(name) and zfs.get_prop(name, "type") == "volume" then
    local tree = read(name, volume_numbers)
    tree["origin"] = zfs.get_prop(name, "origin") or ""
    local snapshots = {}
    for s in zfs.list.snapshots(name) do
      local snap = read(s, snapshot_numbers)
      snap["clones"] = zfs.get_prop(s, "clones") or {}
      snapshots[s] = snap
    end
    tree["snapshots"] = snapshots
    trees[name] = tree
  end
end
return {trees = trees}
)lua";

// Names per ReadVolumeTrees program: a bounded amount of work and memory
// per call, whatever the pool holds.
constexpr size_t kTreesPerProgram = 64;

// Generous for a read: a scan takes about 60 Lua instructions and 200 bytes
// per zvol (100,000 volumes fit), a batch of trees about 100 instructions
// and 1 KiB per snapshot (64 volumes of hundreds of snapshots each fit).
constexpr uint64_t kInstructionLimit = 50 * 1000 * 1000;
constexpr uint64_t kMemoryLimit = 64 * 1024 * 1024;

std::string StringField(nvlist_t* nv, const char* key) {
  char* value = nullptr;
  return nvlist_lookup_string(nv, key, &value) == 0 ? value : "";
}

std::string PoolOf(const std::string& dataset) {
  return dataset.substr(0, dataset.find_first_of("/@#"));
}

uint64_t Number(nvlist_t* numbers, const char* key) {
  int64_t value = 0;
  nvlist_lookup_int64(numbers, key, &value);
  return static_cast<uint64_t>(value);  // guids use all 64 bits
}

nvlist_t* Child(nvlist_t* nv, const char* key) {
  nvlist_t* child = nullptr;
  return nvlist_lookup_nvlist(nv, key, &child) == 0 ? child : nullptr;
}

UserProps UserPropsOf(nvlist_t* entry) {
  UserProps out;
  nvlist_t* user = Child(entry, "user");
  for (nvpair_t* p = user ? nvlist_next_nvpair(user, nullptr) : nullptr; p != nullptr;
       p = nvlist_next_nvpair(user, p)) {
    char* value = nullptr;
    if (nvpair_value_string(p, &value) == 0) out[nvpair_name(p)] = value;
  }
  return out;
}

VolumeProps VolumeOf(const std::string& name, nvlist_t* entry) {
  nvlist_t* n = Child(entry, "n");
  VolumeProps v;
  v.name = name;
  if (n != nullptr) {
    v.volsize = Number(n, "volsize");
    v.volblocksize = Number(n, "volblocksize");
    v.used = Number(n, "used");
    v.referenced = Number(n, "referenced");
    v.logicalreferenced = Number(n, "logicalreferenced");
    v.refreservation = Number(n, "refreservation");
    v.compressratio = Number(n, "compressratio") / 100.0;
    v.creation = static_cast<int64_t>(Number(n, "creation"));
    v.createtxg = Number(n, "createtxg");
    v.guid = Number(n, "guid");
  }
  v.origin = StringField(entry, "origin");
  v.user_props = UserPropsOf(entry);
  return v;
}

SnapshotProps SnapshotOf(const std::string& name, nvlist_t* entry) {
  nvlist_t* n = Child(entry, "n");
  SnapshotProps s;
  s.name = name;
  if (n != nullptr) {
    s.used = Number(n, "used");
    s.referenced = Number(n, "referenced");
    s.creation = static_cast<int64_t>(Number(n, "creation"));
    s.createtxg = Number(n, "createtxg");
    s.guid = Number(n, "guid");
    s.userrefs = Number(n, "userrefs");
    s.volsize = Number(n, "volsize");
  }
  nvlist_t* clones = Child(entry, "clones");
  for (nvpair_t* p = clones ? nvlist_next_nvpair(clones, nullptr) : nullptr; p != nullptr;
       p = nvlist_next_nvpair(clones, p)) {
    char* clone = nullptr;
    if (nvpair_value_string(p, &clone) == 0) s.clones.push_back(clone);
  }
  std::sort(s.clones.begin(), s.clones.end());
  s.user_props = UserPropsOf(entry);
  return s;
}

// Runs a read-only program on `pool`; its returned table, or the error.
absl::StatusOr<Nvlist> RunReadOnly(const char* program, nvlist_t* args, const std::string& pool,
                                   const char* what, const std::string& object) {
  nvlist_t* raw_out = nullptr;
  int err = lzc_channel_program_nosync(pool.c_str(), program, kInstructionLimit, kMemoryLimit, args,
                                       &raw_out);
  Nvlist out(raw_out);
  if (err != 0) {
    absl::Status s = ZfsErrnoStatus(ZfsOp::kRead, err, what, object);
    const std::string detail = out ? StringField(out.get(), "error") : "";
    if (!detail.empty()) s = absl::Status(s.code(), absl::StrCat(s.message(), " (", detail, ")"));
    return s;
  }
  nvlist_t* ret = nullptr;
  Nvlist copy;
  if (out && nvlist_lookup_nvlist(out.get(), "return", &ret) == 0) {
    nvlist_t* dup = nullptr;
    if (nvlist_dup(ret, &dup, 0) == 0) copy.reset(dup);
  }
  if (!copy) {
    return absl::InternalError(
        absl::StrCat(what, " '", object, "': the channel program returned nothing"));
  }
  return copy;
}

}  // namespace

absl::StatusOr<std::vector<VolumeDigest>> ScanVolumesInKernel(const std::string& parent,
                                                              const std::string& id_property) {
  const char* what = "scan volumes of";
  Nvlist args = NewNvlist();
  if (!args || nvlist_add_string(args.get(), "parent", parent.c_str()) != 0 ||
      nvlist_add_string(args.get(), "property", id_property.c_str()) != 0) {
    return ZfsErrnoStatus(ZfsOp::kRead, ENOMEM, what, parent);
  }
  absl::StatusOr<Nvlist> ret =
      RunReadOnly(kScanVolumesProgram, args.get(), PoolOf(parent), what, parent);
  if (!ret.ok()) return ret.status();
  if (!StringField(ret->get(), "missing").empty()) {
    return ZfsErrnoStatus(ZfsOp::kRead, ENOENT, what, parent);
  }
  std::vector<VolumeDigest> digests;
  nvlist_t* volumes = Child(ret->get(), "volumes");  // absent when empty
  for (nvpair_t* p = volumes ? nvlist_next_nvpair(volumes, nullptr) : nullptr; p != nullptr;
       p = nvlist_next_nvpair(volumes, p)) {
    nvlist_t* entry = nullptr;
    if (nvpair_value_nvlist(p, &entry) != 0) continue;
    digests.push_back({nvpair_name(p), StringField(entry, "id"), Number(entry, "volsize")});
  }
  std::sort(digests.begin(), digests.end(),
            [](const VolumeDigest& a, const VolumeDigest& b) { return a.name < b.name; });
  return digests;
}

absl::StatusOr<std::vector<VolumeTree>> ReadVolumeTreesInKernel(
    const std::vector<std::string>& names) {
  const char* what = "read volumes";
  std::vector<VolumeTree> trees;
  for (size_t start = 0; start < names.size(); start += kTreesPerProgram) {
    const std::vector<std::string> batch(
        names.begin() + start, names.begin() + std::min(names.size(), start + kTreesPerProgram));
    Nvlist args = NewNvlist();
    Nvlist list = NamesNvlist(batch);
    if (!args || !list || nvlist_add_nvlist(args.get(), "names", list.get()) != 0) {
      return ZfsErrnoStatus(ZfsOp::kRead, ENOMEM, what, batch.front());
    }
    absl::StatusOr<Nvlist> ret = RunReadOnly(kReadVolumeTreesProgram, args.get(),
                                             PoolOf(batch.front()), what, batch.front());
    if (!ret.ok()) return ret.status();
    nvlist_t* found = Child(ret->get(), "trees");  // absent when none was found
    for (const std::string& name : batch) {
      nvlist_t* entry = found ? Child(found, name.c_str()) : nullptr;
      if (entry == nullptr) continue;  // not (or no longer) a zvol
      VolumeTree tree{VolumeOf(name, entry), {}};
      nvlist_t* snapshots = Child(entry, "snapshots");
      for (nvpair_t* p = snapshots ? nvlist_next_nvpair(snapshots, nullptr) : nullptr; p != nullptr;
           p = nvlist_next_nvpair(snapshots, p)) {
        nvlist_t* snapshot = nullptr;
        if (nvpair_value_nvlist(p, &snapshot) == 0) {
          tree.snapshots.push_back(SnapshotOf(nvpair_name(p), snapshot));
        }
      }
      // Oldest first: by createtxg, as zfs_iter_snapshots_sorted orders them.
      std::sort(tree.snapshots.begin(), tree.snapshots.end(),
                [](const SnapshotProps& a, const SnapshotProps& b) {
                  return a.createtxg != b.createtxg ? a.createtxg < b.createtxg : a.name < b.name;
                });
      trees.push_back(std::move(tree));
    }
  }
  return trees;
}

}  // namespace mvirt::zfs::internal
