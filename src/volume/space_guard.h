// The space guard: the rule every create, clone, promote, import, resize and
// snapshot passes before it touches ZFS, so that thin provisioning cannot
// quietly promise more than the pool holds and a full pool (where ZFS cannot
// even destroy snapshots) is not reached by the daemon's own calls. Deletes
// and rollbacks never ask it.
//
// Two limits, each off at 0:
//  - max_overcommit: the volsize of every managed volume and template, plus
//    what the call adds, over the pool's size (its root dataset's used +
//    available) may not exceed it;
//  - reserve_percent: the pool's free space (its root dataset's available),
//    less what the call reserves at once (a thick volume's size, a template's
//    copy), may not fall below that share of the pool's size.
// A call refused gets RESOURCE_EXHAUSTED naming the figures and the limit.
// Admitted calls that are not finished count as done (their Ticket holds
// their claim), so concurrent calls cannot all pass on the same free space.
#ifndef MVIRT_ZFS_VOLUME_SPACE_GUARD_H_
#define MVIRT_ZFS_VOLUME_SPACE_GUARD_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/mutex.h"

namespace mvirt::zfs {

struct SpaceLimits {
  double max_overcommit = 0;   // provisioned / pool size; 0: no limit
  double reserve_percent = 0;  // of the pool's size kept free; 0: none
};

// The pool's figures now, as ZFS reports them.
struct SpaceNow {
  uint64_t pool_bytes = 0;         // root dataset used + available
  uint64_t available_bytes = 0;    // root dataset available
  uint64_t provisioned_bytes = 0;  // volsize of managed zvols (read only if max_overcommit > 0)
};

// What a call adds: volsize promised, and free space taken at once.
struct SpaceClaim {
  uint64_t provisioned_bytes = 0;
  uint64_t reserved_bytes = 0;
};

class SpaceGuard {
 public:
  // Returns its claim to the guard when destroyed (the call finished, one
  // way or the other, and ZFS's figures now show what it did).
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

   private:
    friend class SpaceGuard;
    Ticket(SpaceGuard* guard, SpaceClaim claim) : guard_(guard), claim_(claim) {}
    SpaceGuard* guard_ = nullptr;
    SpaceClaim claim_;
  };

  explicit SpaceGuard(SpaceLimits limits) : limits_(limits) {}

  const SpaceLimits& limits() const { return limits_; }
  // Whether Admit needs SpaceNow::provisioned_bytes.
  bool NeedsProvisioned() const { return limits_.max_overcommit > 0; }
  // The free space the reserve keeps in a pool of `pool_bytes`.
  uint64_t ReserveBytes(uint64_t pool_bytes) const;

  // Admits `claim` for `op` ("create volume 'x'") in pool `pool`: `read_now`
  // is called under the guard's lock (so that a ticket returned meanwhile
  // is not missed) and its figures plus the pending claims are checked.
  // RESOURCE_EXHAUSTED naming the figures if a limit would be crossed; the
  // read's own failure as it is. With no limit set nothing is read.
  absl::StatusOr<Ticket> Admit(absl::string_view op, absl::string_view pool,
                               const SpaceClaim& claim,
                               const std::function<absl::StatusOr<SpaceNow>()>& read_now);

 private:
  void Return(const SpaceClaim& claim);

  const SpaceLimits limits_;
  Mutex mu_;
  SpaceClaim pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_VOLUME_SPACE_GUARD_H_
