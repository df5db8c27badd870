// The multi-step operations of VolumeManager, as scenarios for the fault and
// crash tests (volume_fault_injection_test.cc): each sets up the state
// before the call, makes the call, and says which ZFS call commits it (makes
// its result visible), as LevelDB's fault_injection_test drives one DB
// through every failure point.
#ifndef MVIRT_ZFS_TESTS_UNIT_VOLUME_SCENARIOS_H_
#define MVIRT_ZFS_TESTS_UNIT_VOLUME_SCENARIOS_H_

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "volume_test_world.h"
#include "zfs/faulty_zfs.h"

namespace mvirt::zfs::testing {

struct Scenario {
  std::string name;
  std::function<void(World&)> setup;        // the state before the call (asserts inside)
  std::function<absl::Status(World&)> run;  // the call
  // The first call of this method whose first argument starts with
  // `commit_prefix` makes the result visible. None for CollectGarbage,
  // whose every destroy is a result of its own.
  std::optional<ZfsCall> commit;
  std::string commit_prefix;
  // What the same call answers once its result is complete: OK when it is
  // idempotent, ALREADY_EXISTS or NOT_FOUND when not.
  absl::StatusCode done_code = absl::StatusCode::kOk;
  // The clean-up that finishes a result left behind (e.g. a deleted
  // template's data after its last clone): CollectGarbage(at_startup).
  bool settle_at_startup = false;
  // Reads the call does on a best-effort basis: the nth call of a method
  // whose failure it ignores by design (besides every Exists, which cannot
  // fail: it answers false).
  std::vector<std::pair<ZfsCall, int>> tolerated = {};
};

// For gtest's messages.
inline void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

std::vector<Scenario> AllScenarios();

// The 1-based index of the committing call in `steps`; 0 if there is none.
int CommitIndex(const Scenario& scenario, const std::vector<ZfsCallRecord>& steps);

// True if a failure of step `i` (1-based) of `steps` is ignored by design:
// an Exists, or one of the scenario's tolerated reads.
bool IsTolerated(const Scenario& scenario, const std::vector<ZfsCallRecord>& steps, int i);

// Runs the clean-up that completes a result, with no fault armed.
void Settle(const Scenario& scenario, World& world);

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_UNIT_VOLUME_SCENARIOS_H_
