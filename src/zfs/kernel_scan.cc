// As in libzfs_backend.cc: libspl's include directory shadows C headers and
// defines a `fallthrough` macro that breaks abseil, so standard headers come
// first, then that macro goes, then abseil and our headers, then the runner
// (libnvpair) last.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>
#undef fallthrough

#include "absl/strings/str_cat.h"
#include "zfs/channel_program_runner.h"
#include "zfs/kernel_scan.h"

namespace mvirt::zfs::internal {
namespace {

// args: parent, property, and optionally names (a list). Returns {missing =
// parent} or {volumes = {NAME = {volsize = N, id = ID}}}: every zvol that is
// a direct child of parent, or only those of names that are (not a
// snapshot, not hidden); id only when the property is set on the zvol
// itself (its setpoint is the zvol), as ListVolumes reports user
// properties. Hidden children (%recv...) are not listed by zfs.list.children.
constexpr char kScanVolumesProgram[] = R"lua(
local args = ...
local parent, property, names = args["parent"], args["property"], args["names"]
if not zfs.exists(parent) then return {missing = parent} end
local volumes = {}
local function read(child)
  if zfs.get_prop(child, "type") ~= "volume" then return end
  local entry = {volsize = zfs.get_prop(child, "volsize")}
  local id, setpoint = zfs.get_prop(child, property)
  if id ~= nil and setpoint == child then entry["id"] = id end
  volumes[child] = entry
end
if names == nil then
  for child in zfs.list.children(parent) do read(child) end
  return {volumes = volumes}
end
local prefix = parent .. "/"
for _, child in ipairs(names) do
  local rest = string.sub(child, #prefix + 1)
  if string.sub(child, 1, #prefix) == prefix and #rest > 0 and
     not string.find(rest, "[/@%%]") and zfs.exists(child) then
    read(child)
  end
end
return {volumes = volumes}
)lua";

// Generous for a read: about 60 Lua instructions and 200 bytes per zvol,
// so a pool of 100,000 volumes fits in either limit.
constexpr uint64_t kInstructionLimit = 50 * 1000 * 1000;
constexpr uint64_t kMemoryLimit = 64 * 1024 * 1024;

// Runs kScanVolumesProgram for the zvols under `parent`, only those of
// `names` if given, and reads its reply.
absl::StatusOr<std::vector<VolumeDigest>> RunScan(const std::string& parent,
                                                  const std::vector<std::string>* names,
                                                  const std::string& id_property) {
  const char* what = "scan volumes of";
  Nvlist args = NewNvlist();
  if (!args || nvlist_add_string(args.get(), "parent", parent.c_str()) != 0 ||
      nvlist_add_string(args.get(), "property", id_property.c_str()) != 0) {
    return ZfsErrnoStatus(ZfsOp::kRead, ENOMEM, what, parent);
  }
  if (names != nullptr) {
    Nvlist list = NamesNvlist(*names);
    if (!list || nvlist_add_nvlist(args.get(), "names", list.get()) != 0) {
      return ZfsErrnoStatus(ZfsOp::kRead, ENOMEM, what, parent);
    }
  }
  absl::StatusOr<Nvlist> ret =
      RunChannelProgram(kScanVolumesProgram, args.get(), ProgramMode::kReadOnly,
                        {kInstructionLimit, kMemoryLimit}, ZfsOp::kRead, what, parent);
  if (!ret.ok()) return ret.status();
  if (!StringField(ret->get(), "missing").empty()) {
    return ZfsErrnoStatus(ZfsOp::kRead, ENOENT, what, parent);
  }
  nvlist_t* volumes = nullptr;
  std::vector<VolumeDigest> digests;
  if (nvlist_lookup_nvlist(ret->get(), "volumes", &volumes) != 0) {
    return digests;  // {} may come back empty
  }
  for (nvpair_t* p = nvlist_next_nvpair(volumes, nullptr); p != nullptr;
       p = nvlist_next_nvpair(volumes, p)) {
    nvlist_t* entry = nullptr;
    if (nvpair_value_nvlist(p, &entry) != 0) continue;
    VolumeDigest digest;
    digest.name = nvpair_name(p);
    digest.id = StringField(entry, "id");
    int64_t volsize = 0;
    nvlist_lookup_int64(entry, "volsize", &volsize);
    digest.volsize = static_cast<uint64_t>(volsize);
    digests.push_back(std::move(digest));
  }
  std::sort(digests.begin(), digests.end(),
            [](const VolumeDigest& a, const VolumeDigest& b) { return a.name < b.name; });
  return digests;
}

}  // namespace

absl::StatusOr<std::vector<VolumeDigest>> ScanVolumesInKernel(const std::string& parent,
                                                              const std::string& id_property) {
  return RunScan(parent, nullptr, id_property);
}

absl::StatusOr<std::vector<VolumeDigest>> ScanVolumesNamedInKernel(
    const std::string& parent, const std::vector<std::string>& names,
    const std::string& id_property) {
  if (names.empty()) return std::vector<VolumeDigest>();
  return RunScan(parent, &names, id_property);
}

}  // namespace mvirt::zfs::internal
