// The libzfs calls behind `mvirt-zfs pool init`, and nothing else uses
// them: is a pool name valid, is it taken, what ZFS label a device or file
// carries, create a pool. (The daemon itself never creates pools.)
#ifndef MVIRT_ZFS_ZFS_POOL_CREATION_H_
#define MVIRT_ZFS_ZFS_POOL_CREATION_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mvirt::zfs {

// What a ZFS label on a device says.
struct ZfsLabel {
  std::string pool;
  std::string state;    // "active", "exported", "destroyed", "spare", ...
  bool active = false;  // the pool is imported on this host (or may be, elsewhere)
};

// A pool to create: its top-level vdevs are `vdevs` striped, each a file or
// a block device used as given (no partition table is written), by
// absolute path.
struct NewPoolSpec {
  std::string name;
  std::vector<std::string> vdevs;
  std::vector<std::pair<std::string, std::string>> pool_props;  // "ashift", "12"
  std::vector<std::pair<std::string, std::string>> root_props;  // "compression", "lz4"
};

class PoolCreator {
 public:
  // UNAVAILABLE if /dev/zfs cannot be opened.
  static absl::StatusOr<std::unique_ptr<PoolCreator>> Open();
  virtual ~PoolCreator() = default;

  // OK, or INVALID_ARGUMENT saying why ZFS would refuse the name.
  virtual absl::Status ValidatePoolName(const std::string& name) = 0;
  // True if a pool of that name is imported.
  virtual bool PoolExists(const std::string& name) = 0;
  // The ZFS label on the device or file at `path`, if it has one.
  virtual absl::StatusOr<std::optional<ZfsLabel>> ReadLabel(const std::string& path) = 0;
  // Creates the pool. The root dataset is not mounted (mvirt-zfs keeps
  // nothing in it; it is mounted at the next import if its mountpoint
  // allows). On failure nothing was created; the status says why in
  // libzfs's words.
  virtual absl::Status Create(const NewPoolSpec& spec) = 0;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_ZFS_POOL_CREATION_H_
