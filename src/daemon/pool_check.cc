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

}  // namespace mvirt::zfs
