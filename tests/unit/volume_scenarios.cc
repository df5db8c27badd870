#include "volume_scenarios.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "device/zvol_device.h"
#include "status_matchers.h"

namespace mvirt::zfs::testing {
namespace {

// Volume "src" (data "golden") with snapshot "s".
void SourceWithSnapshot(World& w) {
  ASSERT_OK(w.vm().Create(VolumeParams("src", kMiB, kId1)));
  ASSERT_OK(w.fake.WriteData("vmpool/src", "golden"));
  ASSERT_OK(w.vm().CreateSnapshot("src", "s"));
}

// Template "golden" made from src@s.
void Template(World& w) {
  SourceWithSnapshot(w);
  ASSERT_OK(w.vm().PromoteToTemplate("src", "s", "golden"));
}

// Template "golden" with clone "c".
void TemplateWithClone(World& w) {
  Template(w);
  ASSERT_OK(w.vm().CloneFromTemplate("golden", CloneParams("c", kId2)));
}

// Template "golden", deleted while its clone "c" uses it.
void DeletedTemplateWithClone(World& w) {
  TemplateWithClone(w);
  ASSERT_OK(w.vm().DeleteTemplate("golden"));
}

StagingVolumeParams ImportParams() {
  StagingVolumeParams p;
  p.template_name = "img";
  p.template_id = kId3;
  p.job_id = "job1";
  p.size_bytes = 2 * kMiB;
  return p;
}

// An import as ImportManager runs one: staging, complete, discard on failure.
absl::Status Import(World& w) {
  absl::StatusOr<StagingVolume> staging = w.vm().CreateStagingVolume(ImportParams());
  if (!staging.ok()) return staging.status();
  absl::StatusOr<TemplateInfo> t = w.vm().CompleteStagingVolume(*staging);
  if (!t.ok()) (void)w.vm().DiscardStagingVolume(*staging);
  return t.status();
}

// Garbage of every kind: leftovers of crashes under creating, incoming and
// imports; a parked template no clone uses any more; one still in use.
void Garbage(World& w) {
  TemplateWithClone(w);
  ASSERT_OK(w.vm().PromoteToTemplate("src", "s", "used"));
  ASSERT_OK(w.vm().CloneFromTemplate("used", CloneParams("d", kId3)));
  ASSERT_OK(w.vm().DeleteTemplate("used"));
  ASSERT_OK(w.vm().DeleteTemplate("golden"));
  ASSERT_OK(w.zfs.DestroyWithSnapshots("vmpool/c"));  // behind the manager's back
  const uint64_t block = kDefaultVolblocksize;
  ASSERT_OK(w.fake.CreateVolume("vmpool/.mvirt/creating/x-1", kMiB, block, {}));
  ASSERT_OK(w.fake.CreateVolume("vmpool/.mvirt/imports/y-job", kMiB, block, {}));
  ASSERT_OK(w.fake.CopySnapshot("vmpool/src@s", "vmpool/.mvirt/incoming/z-1@template"));
}

// A staging volume whose completion failed after its snapshot.
void FailedImport(World& w) {
  absl::StatusOr<StagingVolume> staging = w.vm().CreateStagingVolume(ImportParams());
  ASSERT_OK(staging);
  ASSERT_OK(w.fake.Snapshot({staging->dataset + "@template"}, {}));
}

absl::Status Discard(World& w) {
  StagingVolume staging;
  staging.template_name = "img";
  staging.dataset = "vmpool/.mvirt/imports/img-job1";
  staging.device = ZvolDevicePath(staging.dataset);
  return w.vm().DiscardStagingVolume(staging);
}

absl::Status Void() { return absl::OkStatus(); }

// Volumes, snapshots and clones.
std::vector<Scenario> VolumeScenarios() {
  using C = ZfsCall;
  using Code = absl::StatusCode;
  const std::string creating = "vmpool/.mvirt/creating/";
  return {
      {"Create", [](World&) {},
       [](World& w) { return w.vm().Create(VolumeParams("v", kMiB, kId1)).status(); }, C::kRename,
       creating + "v-"},
      {"CloneVolume", SourceWithSnapshot,
       [](World& w) {
         return w.vm().CloneVolume("src", "s", CloneParams("c", kId2, 2 * kMiB)).status();
       },
       C::kRename, creating + "c-"},
      {"Delete", SourceWithSnapshot, [](World& w) { return w.vm().Delete("src"); },
       C::kDestroyWithSnapshots, "vmpool/src", Code::kNotFound},
      {"Rollback",
       [](World& w) {
         SourceWithSnapshot(w);
         ASSERT_OK(w.fake.WriteData("vmpool/src", "changed"));
         ASSERT_OK(w.vm().CreateSnapshot("src", "later"));
       },
       [](World& w) { return w.vm().Rollback("src", "s").status(); }, C::kRollback, "vmpool/src"},
      {"Resize", SourceWithSnapshot,
       [](World& w) { return w.vm().Resize("src", 3 * kMiB).status(); }, C::kSetVolsize,
       "vmpool/src"},
  };
}

// Templates, imports and the clean-up.
std::vector<Scenario> TemplateScenarios() {
  using C = ZfsCall;
  using Code = absl::StatusCode;
  const std::string templates = "vmpool/.mvirt/templates/";
  return {
      {"CloneFromTemplate", Template,
       [](World& w) {
         return w.vm().CloneFromTemplate("golden", CloneParams("c", kId2, 2 * kMiB)).status();
       },
       C::kRename, "vmpool/.mvirt/creating/c-"},
      {"PromoteToTemplate", SourceWithSnapshot,
       [](World& w) { return w.vm().PromoteToTemplate("src", "s", "golden").status(); }, C::kRename,
       "vmpool/.mvirt/incoming/golden-", Code::kAlreadyExists},
      {"Import", [](World&) {}, Import, C::kRename, "vmpool/.mvirt/imports/img-",
       Code::kAlreadyExists, false, /*tolerated=*/{{C::kGetSpace, 1}}},  // rounding only
      // A failed Exists makes Discard report OK and leave the zvol to the
      // start-up sweep (lzc_exists cannot tell an error from absence).
      {"DiscardStagingVolume", FailedImport, Discard, C::kDestroyWithSnapshots,
       "vmpool/.mvirt/imports/img-", Code::kOk, /*settle_at_startup=*/true},
      {"DeleteTemplateWithClones", TemplateWithClone,
       [](World& w) { return w.vm().DeleteTemplate("golden"); }, C::kRename, templates + "golden",
       Code::kNotFound},
      {"DeleteTemplate", Template, [](World& w) { return w.vm().DeleteTemplate("golden"); },
       C::kDestroyWithSnapshots, templates + "golden", Code::kNotFound},
      {"DeleteLastCloneOfADeletedTemplate", DeletedTemplateWithClone,
       [](World& w) { return w.vm().Delete("c"); }, C::kDestroyWithSnapshots, "vmpool/c",
       Code::kNotFound},
      {"CollectGarbageAtStartUp", Garbage,
       [](World& w) {
         w.vm().CollectGarbage(/*at_startup=*/true);
         return Void();
       },
       std::nullopt, "", Code::kOk, /*settle_at_startup=*/true},
  };
}

}  // namespace

std::vector<Scenario> AllScenarios() {
  std::vector<Scenario> all = VolumeScenarios();
  for (Scenario& s : TemplateScenarios()) all.push_back(std::move(s));
  return all;
}

int CommitIndex(const Scenario& scenario, const std::vector<ZfsCallRecord>& steps) {
  if (!scenario.commit.has_value()) return 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].call == *scenario.commit &&
        absl::StartsWith(steps[i].arg, scenario.commit_prefix)) {
      return static_cast<int>(i + 1);
    }
  }
  ADD_FAILURE() << scenario.name << ": no committing call in its steps";
  return 0;
}

bool IsTolerated(const Scenario& scenario, const std::vector<ZfsCallRecord>& steps, int i) {
  const ZfsCall call = steps[i - 1].call;
  // A lookup that tells nothing by failing; a history read that fails is
  // replaced by a scan (VolumeIndex).
  if (call == ZfsCall::kExists || call == ZfsCall::kReadPoolHistory) return true;
  int nth = 0;
  for (int j = 0; j < i; ++j) nth += steps[j].call == call ? 1 : 0;
  for (const auto& [tolerated, n] : scenario.tolerated) {
    if (tolerated == call && n == nth) return true;
  }
  return false;
}

void Settle(const Scenario& scenario, World& world) {
  world.zfs.Reset();
  world.vm().CollectGarbage(scenario.settle_at_startup);
}

}  // namespace mvirt::zfs::testing
