#include "volume/space_guard.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/sizes.h"

namespace mvirt::zfs {

SpaceGuard::Ticket::Ticket(Ticket&& other) noexcept
    : guard_(std::exchange(other.guard_, nullptr)), claim_(other.claim_) {}

SpaceGuard::Ticket& SpaceGuard::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    if (guard_ != nullptr) guard_->Return(claim_);
    guard_ = std::exchange(other.guard_, nullptr);
    claim_ = other.claim_;
  }
  return *this;
}

SpaceGuard::Ticket::~Ticket() {
  if (guard_ != nullptr) guard_->Return(claim_);
}

uint64_t SpaceGuard::ReserveBytes(uint64_t pool_bytes) const {
  if (limits_.reserve_percent <= 0) return 0;
  return static_cast<uint64_t>(static_cast<double>(pool_bytes) * limits_.reserve_percent / 100.0);
}

void SpaceGuard::Return(const SpaceClaim& claim) {
  MutexLock lock(&mu_);
  pending_.provisioned_bytes -= claim.provisioned_bytes;
  pending_.reserved_bytes -= claim.reserved_bytes;
}

absl::StatusOr<SpaceGuard::Ticket> SpaceGuard::Admit(
    absl::string_view op, absl::string_view pool, const SpaceClaim& claim,
    const std::function<absl::StatusOr<SpaceNow>()>& read_now) {
  if (limits_.max_overcommit <= 0 && limits_.reserve_percent <= 0) return Ticket();
  MutexLock lock(&mu_);
  absl::StatusOr<SpaceNow> now = read_now();
  if (!now.ok()) return now.status();
  const double pool_bytes = static_cast<double>(now->pool_bytes);

  if (limits_.max_overcommit > 0 && claim.provisioned_bytes > 0) {
    const uint64_t provisioned =
        now->provisioned_bytes + pending_.provisioned_bytes + claim.provisioned_bytes;
    const double ratio = pool_bytes > 0 ? static_cast<double>(provisioned) / pool_bytes : 0;
    if (now->pool_bytes == 0 || ratio > limits_.max_overcommit) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%s: refused by the space guard: volumes would then be provisioned %.2fx the size of "
          "pool '%s' (%s of volumes on %s), over --max-overcommit %.2f; delete volumes, grow "
          "the pool or raise the limit",
          op, ratio, pool, FormatSize(provisioned), FormatSize(now->pool_bytes),
          limits_.max_overcommit));
    }
  }

  const uint64_t reserve = ReserveBytes(now->pool_bytes);
  if (reserve > 0) {
    const uint64_t taken = pending_.reserved_bytes + claim.reserved_bytes;
    const uint64_t left = now->available_bytes > taken ? now->available_bytes - taken : 0;
    if (left < reserve) {
      const bool takes = claim.reserved_bytes > 0 || pending_.reserved_bytes > 0;
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%s: refused by the space guard: pool '%s' %s %s free (%d bytes, %.1f%% of %s), less "
          "than the %s (%d bytes, %.1f%%) --reserve-percent keeps free so that deletes and "
          "snapshots keep working (ZFS cannot always free space in a full pool); delete volumes "
          "or snapshots, grow the pool or lower the limit",
          op, pool, takes ? "would then have" : "has", FormatSize(left), left,
          pool_bytes > 0 ? 100.0 * static_cast<double>(left) / pool_bytes : 0.0,
          FormatSize(now->pool_bytes), FormatSize(reserve), reserve, limits_.reserve_percent));
    }
  }
  pending_.provisioned_bytes += claim.provisioned_bytes;
  pending_.reserved_bytes += claim.reserved_bytes;
  return Ticket(this, claim);
}

}  // namespace mvirt::zfs
