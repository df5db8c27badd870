// The world of a VolumeManager under test: FakeZfs wrapped in FaultyZfs,
// FakeZvolDevices, and a way to "restart" (a new VolumeManager over the
// same ZFS, which sweeps at start-up as the daemon does). Plus what the
// VolumeManager tests compare and check.
#ifndef MVIRT_ZFS_TESTS_UNIT_VOLUME_TEST_WORLD_H_
#define MVIRT_ZFS_TESTS_UNIT_VOLUME_TEST_WORLD_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/sizes.h"
#include "device/fake_zvol_devices.h"
#include "volume/volume_manager.h"
#include "zfs/fake_zfs.h"
#include "zfs/faulty_zfs.h"

namespace mvirt::zfs::testing {

inline constexpr char kPool[] = "vmpool";
inline constexpr char kId1[] = "11111111-1111-4111-8111-111111111111";
inline constexpr char kId2[] = "22222222-2222-4222-8222-222222222222";
inline constexpr char kId3[] = "33333333-3333-4333-8333-333333333333";

struct World {
  // Pool kPool with the daemon's datasets (as after a first start), faults
  // and call log cleared.
  explicit World(absl::Duration device_timeout = absl::Milliseconds(20));

  // What the daemon does when it starts again: a new VolumeManager and
  // CollectGarbage(at_startup=true), with no fault armed. Clears the log.
  void Restart();

  VolumeManager& vm() { return *manager; }
  // "vmpool/<name>" and its device path.
  static std::string Dataset(const std::string& name);
  static std::string Device(const std::string& name);

  FakeZfs fake;
  FaultyZfs zfs{fake};
  SpaceLimits space;  // the space guard's limits at the next Restart (none by default)
  FakeZvolDevices devices;
  absl::Duration device_timeout;
  std::unique_ptr<VolumeManager> manager;
};

// fake.Dump without identities and with every UUID written "<uuid>": equal
// for two runs of the same operations.
std::string NormalizedDump(const FakeZfs& fake);

// What must never be seen, in particular after a crash and a restart: a zvol
// under a volume name without its mvirt: properties, a template without its
// snapshot or properties, anything left under .mvirt/creating, incoming or
// imports. Empty if none.
std::vector<std::string> InvariantViolations(Zfs& zfs);

// The mutating calls of `calls`, as "Rename vmpool/...".
std::vector<std::string> Mutations(const std::vector<ZfsCallRecord>& calls);

CreateVolumeParams VolumeParams(const std::string& name, uint64_t size, const std::string& id = "");
CloneVolumeParams CloneParams(const std::string& name, const std::string& id,
                              std::optional<uint64_t> size = std::nullopt);

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_UNIT_VOLUME_TEST_WORLD_H_
