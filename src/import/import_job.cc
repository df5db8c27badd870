#include "import/import_job.h"

#include <array>

namespace mvirt::zfs {
namespace {

constexpr std::array<absl::string_view, 7> kStateNames = {
    "PENDING", "DOWNLOADING", "CONVERTING", "WRITING", "COMPLETED", "FAILED", "CANCELLED"};

}  // namespace

bool IsFinished(ImportState state) {
  return state == ImportState::kCompleted || state == ImportState::kFailed ||
         state == ImportState::kCancelled;
}

absl::string_view ImportStateName(ImportState state) {
  return kStateNames[static_cast<size_t>(state)];
}

std::optional<ImportState> ParseImportState(absl::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<ImportState>(i);
  }
  return std::nullopt;
}

}  // namespace mvirt::zfs
