#include "volume_test_world.h"

#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "device/zvol_device.h"

namespace mvirt::zfs::testing {

World::World(absl::Duration device_timeout) : device_timeout(device_timeout) {
  fake.AddPool(kPool);
  Restart();
}

void World::Restart() {
  zfs.Reset();
  VolumeManagerOptions options;
  options.pool = kPool;
  options.device_timeout = device_timeout;
  options.space = space;
  manager = std::make_unique<VolumeManager>(zfs, devices, options);
  manager->CollectGarbage(/*at_startup=*/true);
  zfs.Reset();
  devices.ClearCalls();
}

std::string World::Dataset(const std::string& name) { return absl::StrCat(kPool, "/", name); }

std::string World::Device(const std::string& name) { return ZvolDevicePath(Dataset(name)); }

std::string NormalizedDump(const FakeZfs& fake) {
  static const std::regex* const kUuid =
      new std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  return std::regex_replace(fake.Dump(FakeZfs::DumpDetail::kWithoutIdentities), *kUuid, "<uuid>");
}

namespace {

void CheckEmpty(Zfs& zfs, const std::string& dir, std::vector<std::string>& out) {
  absl::StatusOr<std::vector<VolumeProps>> left = zfs.ListVolumes(dir);
  if (!left.ok()) return;  // no such directory: nothing left either
  for (const VolumeProps& v : *left) out.push_back(absl::StrCat("left over: ", v.name));
}

void CheckTemplates(Zfs& zfs, std::vector<std::string>& out) {
  absl::StatusOr<std::vector<VolumeProps>> templates =
      zfs.ListVolumes(absl::StrCat(kPool, "/.mvirt/templates"));
  if (!templates.ok()) return;
  for (const VolumeProps& t : *templates) {
    if (!zfs.Exists(t.name + "@template")) out.push_back("template without @template: " + t.name);
    if (t.user_props.count(kIdProperty) == 0 || t.user_props.count(kKindProperty) == 0) {
      out.push_back("template without its properties: " + t.name);
    }
  }
}

}  // namespace

std::vector<std::string> InvariantViolations(Zfs& zfs) {
  std::vector<std::string> out;
  absl::StatusOr<std::vector<VolumeProps>> volumes = zfs.ListVolumes(kPool);
  if (volumes.ok()) {
    for (const VolumeProps& v : *volumes) {
      if (v.user_props.count(kIdProperty) == 0 || v.user_props.count(kKindProperty) == 0) {
        out.push_back("volume without its properties: " + v.name);
      }
    }
  }
  CheckTemplates(zfs, out);
  for (const char* dir : {"creating", "incoming", "imports"}) {
    CheckEmpty(zfs, absl::StrCat(kPool, "/.mvirt/", dir), out);
  }
  return out;
}

std::vector<std::string> Mutations(const std::vector<ZfsCallRecord>& calls) {
  std::vector<std::string> out;
  for (const ZfsCallRecord& c : calls) {
    if (IsMutation(c.call)) out.push_back(c.ToString());
  }
  return out;
}

CreateVolumeParams VolumeParams(const std::string& name, uint64_t size, const std::string& id) {
  CreateVolumeParams p;
  p.name = name;
  p.size_bytes = size;
  p.id = id;
  return p;
}

CloneVolumeParams CloneParams(const std::string& name, const std::string& id,
                              std::optional<uint64_t> size) {
  CloneVolumeParams p;
  p.name = name;
  p.id = id;
  p.size_bytes = size;
  return p;
}

}  // namespace mvirt::zfs::testing
