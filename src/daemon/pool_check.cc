#include "daemon/pool_check.h"

#include "absl/strings/str_cat.h"

namespace mvirt::zfs {

absl::Status CheckPoolHealth(const PoolProps& pool) {
  if (pool.health == "ONLINE" || pool.health == "DEGRADED") return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "pool '", pool.name, "' is ", pool.health.empty() ? "in an unknown state" : pool.health,
      "; mvirt-zfs serves only ONLINE or DEGRADED pools (see `zpool status ", pool.name, "`)"));
}

PoolServingState ServingStateOf(const absl::StatusOr<PoolProps>& pool) {
  if (!pool.ok()) return {false, std::string(pool.status().message())};
  return {CheckPoolHealth(*pool).ok(), pool->health.empty() ? "unknown" : pool->health};
}

std::vector<std::string> SeedSettingWarnings(const PoolProps& pool) {
  std::vector<std::string> warnings;
  auto differs = [&](absl::string_view setting, absl::string_view actual, absl::string_view wanted,
                     absl::string_view why, absl::string_view fix) {
    warnings.push_back(absl::StrCat("pool '", pool.name, "': ", setting, " is ", actual,
                                    ", recommended ", wanted, " (", why, "); ", fix));
  };
  if (pool.ashift != 12) {
    differs("ashift", pool.ashift == 0 ? std::string("unknown") : std::to_string(pool.ashift), "12",
            "4K sectors of SSD/NVMe, avoids write amplification",
            "ashift is fixed at pool creation: zpool create -o ashift=12");
  }
  if (!pool.autotrim) {
    differs("autotrim", "off", "on", "returns freed blocks to the SSD",
            absl::StrCat("zpool set autotrim=on ", pool.name));
  }
  if (pool.compression != "lz4") {
    differs("compression", pool.compression, "lz4", "saves I/O and space",
            absl::StrCat("zfs set compression=lz4 ", pool.name));
  }
  if (pool.xattr != "sa") {
    differs("xattr", pool.xattr, "sa", "faster Linux attributes",
            absl::StrCat("zfs set xattr=sa ", pool.name));
  }
  if (pool.atime != "off") {
    differs("atime", pool.atime, "off", "fewer writes",
            absl::StrCat("zfs set atime=off ", pool.name));
  }
  return warnings;
}

}  // namespace mvirt::zfs
