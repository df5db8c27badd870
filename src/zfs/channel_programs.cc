// The Lua programs and their runner. As in libzfs_backend.cc: libspl's
// include directory shadows C headers and defines a `fallthrough` macro that
// breaks abseil, so standard headers come first, then that macro goes, then
// abseil and our headers, then libzfs_core/libnvpair last.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>
#undef fallthrough

#include <libzfs_core.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/backoff.h"
#include "zfs/channel_program_runner.h"
#include "zfs/channel_programs.h"
#include "zfs/error_mapping.h"
#include "zfs/nvlist.h"
#include "zfs/zfs.h"

namespace mvirt::zfs::internal {
namespace {

// Both programs return a table: {done = N} (N snapshots destroyed), or
// {refused = NAME, errno = E} when a check failed (nothing was changed),
// {missing = NAME}, {changed = NAME} (the caller's view is stale; nothing was
// changed), or {failed = NAME, errno = E, done = N} if an action failed after
// every check had passed (which the checks are there to rule out).

// args: dataset.
constexpr char kDestroyProgram[] = R"lua(
local args = ...
local ds = args["dataset"]
if not zfs.exists(ds) then return {missing = ds} end
-- Children would only make the last destroy fail: refuse at once.
for child in zfs.list.children(ds) do return {refused = child, errno = args["eexist"]} end
local snaps = {}
for s in zfs.list.snapshots(ds) do snaps[#snaps + 1] = s end
-- Every check before the first destroy.
for _, s in ipairs(snaps) do
  local err = zfs.check.destroy(s)  -- EBUSY: held or long-held; EEXIST: clones
  if err ~= 0 then return {refused = s, errno = err} end
end
local err
if #snaps > 0 then
  -- With snapshots the destroy check is EBUSY in any case; the rollback
  -- check is EBUSY exactly when the dataset is long-held (open). Its later
  -- space checks do not matter to a destroy.
  err = zfs.check.rollback(ds)
  if err == args["edquot"] or err == args["enospc"] then err = 0 end
else
  err = zfs.check.destroy(ds)
end
if err ~= 0 then return {refused = ds, errno = err} end
for i = #snaps, 1, -1 do
  err = zfs.sync.destroy(snaps[i])
  if err ~= 0 then return {failed = snaps[i], errno = err, done = #snaps - i} end
end
err = zfs.sync.destroy(ds)
if err ~= 0 then return {failed = ds, errno = err, done = #snaps} end
return {done = #snaps}
)lua";

// args: dataset, snapshot, bookmarks (names the caller saw).
constexpr char kRollbackProgram[] = R"lua(
local args = ...
local ds, target = args["dataset"], args["snapshot"]
if not zfs.exists(ds) then return {missing = ds} end
if not zfs.exists(target) then return {missing = target} end
local known = {}
local known_count = 0
for _, b in ipairs(args["bookmarks"]) do known[b] = true; known_count = known_count + 1 end
local seen = 0
for b in zfs.list.bookmarks(ds) do
  if not known[b] then return {changed = b} end
  seen = seen + 1
end
if seen ~= known_count then return {changed = ds} end
local target_txg = zfs.get_prop(target, "createtxg")
local newer = {}
for s in zfs.list.snapshots(ds) do
  if zfs.get_prop(s, "createtxg") > target_txg then newer[#newer + 1] = s end
end
-- Every check before the first destroy.
for _, s in ipairs(newer) do
  local err = zfs.check.destroy(s)  -- EBUSY: held or long-held; EEXIST: clones
  if err ~= 0 then return {refused = s, errno = err} end
end
local err = zfs.check.rollback(ds)  -- EBUSY: the zvol is open
if err ~= 0 then return {refused = ds, errno = err} end
for i = #newer, 1, -1 do
  err = zfs.sync.destroy(newer[i])
  if err ~= 0 then return {failed = newer[i], errno = err, done = #newer - i} end
end
err = zfs.sync.rollback(ds)
if err ~= 0 then return {failed = ds, errno = err, done = #newer} end
return {done = #newer}
)lua";

// args: snapshots and datasets (names, the dataset of each snapshot at the
// same position), props ({SNAPSHOT = {PROPERTY = VALUE}}), mark. Returns
// {taken = {SNAPSHOT = {guid, createtxg, creation, used, referenced,
// volsize}}}; {missing = DATASET} or {refused = SNAPSHOT, errno = E} when
// a check failed (nothing was changed); {failed = NAME, errno = E, left = N}
// if an action failed after every check had passed: the snapshots taken
// before it are destroyed again, and N of them could not be.
constexpr char kTakeSnapshotsProgram[] = R"lua(
local args = ...
local snaps, datasets, props, mark = args["snapshots"], args["datasets"], args["props"], args["mark"]
-- Every check before the first snapshot.
for i, snap in ipairs(snaps) do
  local ds = datasets[i]
  if not zfs.exists(ds) or zfs.get_prop(ds, "type") ~= "volume" then return {missing = ds} end
  local _, setpoint = zfs.get_prop(ds, mark)
  if setpoint ~= ds then return {missing = ds} end
  local err = zfs.check.snapshot(snap)  -- EEXIST; EAGAIN: one was taken in this txg
  if err ~= 0 then return {refused = snap, errno = err} end
end
local function undo(taken)
  local left = 0
  for j = taken, 1, -1 do
    if zfs.sync.destroy(snaps[j]) ~= 0 then left = left + 1 end
  end
  return left
end
for i, snap in ipairs(snaps) do
  local err = zfs.sync.snapshot(snap)
  if err ~= 0 then return {failed = snap, errno = err, left = undo(i - 1)} end
  for key, value in pairs(props[snap]) do
    err = zfs.sync.set_prop(snap, key, value)
    if err ~= 0 then return {failed = snap, errno = err, left = undo(i)} end
  end
end
local taken = {}
for _, snap in ipairs(snaps) do
  taken[snap] = {
    guid = zfs.get_prop(snap, "guid"), createtxg = zfs.get_prop(snap, "createtxg"),
    creation = zfs.get_prop(snap, "creation"), used = zfs.get_prop(snap, "used"),
    referenced = zfs.get_prop(snap, "referenced"), volsize = zfs.get_prop(snap, "volsize")}
end
return {taken = taken}
)lua";

// What a program returned.
struct Outcome {
  std::string refused, missing, changed, failed;
  int64_t err = 0;
  int64_t done = 0;
};

int64_t IntField(nvlist_t* nv, const char* key) {
  int64_t value = 0;
  return nvlist_lookup_int64(nv, key, &value) == 0 ? value : 0;
}

// Runs `program` with `args` as a synchronous channel program on the pool
// of `dataset`.
absl::StatusOr<Outcome> Run(const char* program, nvlist_t* args, const std::string& what,
                            const std::string& dataset) {
  absl::StatusOr<Nvlist> ret =
      RunChannelProgram(program, args, ProgramMode::kSync, {10 * 1000 * 1000, 10 * 1024 * 1024},
                        ZfsOp::kDestroy, what, dataset);
  if (!ret.ok()) return ret.status();
  Outcome o;
  o.refused = StringField(ret->get(), "refused");
  o.missing = StringField(ret->get(), "missing");
  o.changed = StringField(ret->get(), "changed");
  o.failed = StringField(ret->get(), "failed");
  o.err = IntField(ret->get(), "errno");
  o.done = IntField(ret->get(), "done");
  return o;
}

// The status for a refusal of `what` on `dataset` by the check on `culprit`.
absl::Status Refusal(const std::string& what, const std::string& dataset,
                     const std::string& culprit, int64_t err) {
  const std::string prefix = absl::StrCat(what, " '", dataset, "': ");
  if (culprit == dataset) {
    if (err == EBUSY) {
      return BusyError(absl::StrCat(prefix, "the dataset is in use (its device is open)"));
    }
    if (err == EEXIST) {
      return absl::FailedPreconditionError(
          absl::StrCat(prefix,
                       "it has a bookmark newer than its latest snapshot, so whether its device is "
                       "open cannot be checked in the same transaction; take a snapshot or destroy "
                       "the bookmark first"));
    }
  } else if (culprit.find('@') == std::string::npos && err == EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat(prefix, "it has a child dataset '", culprit, "'"));
  } else if (err == EBUSY) {
    return absl::FailedPreconditionError(
        absl::StrCat(prefix, "snapshot '", culprit, "' is held or in use (e.g. being sent)"));
  } else if (err == EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat(prefix, "snapshot '", culprit, "' has clones"));
  }
  absl::Status s = ZfsErrnoStatus(ZfsOp::kDestroy, static_cast<int>(err), what, culprit);
  return absl::Status(s.code(), absl::StrCat(s.message(), "; nothing was changed"));
}

// Runs the program until it is not refused for a transient reason: the
// dataset briefly open (udev/blkid probe a zvol after a write), a snapshot
// taken in the same transaction group (EAGAIN). About 3 s in all.
absl::Status RunUntilSettled(const char* program, nvlist_t* args, const std::string& what,
                             const std::string& dataset) {
  absl::Status last;
  for (Backoff backoff; backoff.Next();) {
    absl::StatusOr<Outcome> o = Run(program, args, what, dataset);
    if (!o.ok()) return o.status();
    if (!o->missing.empty()) {
      return absl::NotFoundError(
          absl::StrCat(what, " '", dataset, "': '", o->missing, "' does not exist"));
    }
    if (!o->changed.empty()) {
      return absl::AbortedError(absl::StrCat(what, " '", dataset,
                                             "': its bookmarks changed while it was checked (",
                                             o->changed, "); nothing was changed, retry"));
    }
    if (!o->failed.empty()) {
      return absl::InternalError(absl::StrCat(what, " '", dataset, "': '", o->failed, "' failed (",
                                              DescribeZfsErrno(static_cast<int>(o->err)),
                                              ") after every check had passed; ", o->done,
                                              " snapshots were destroyed"));
    }
    if (o->refused.empty()) return absl::OkStatus();
    last = Refusal(what, dataset, o->refused, o->err);
    const bool transient = (o->refused == dataset && o->err == EBUSY) || o->err == EAGAIN;
    if (!transient) return last;
  }
  return last;
}

}  // namespace

absl::Status DestroyWithSnapshotsAtomically(const std::string& dataset) {
  Nvlist args = NewNvlist();
  if (!args || nvlist_add_string(args.get(), "dataset", dataset.c_str()) != 0 ||
      nvlist_add_int64(args.get(), "edquot", EDQUOT) != 0 ||
      nvlist_add_int64(args.get(), "enospc", ENOSPC) != 0 ||
      nvlist_add_int64(args.get(), "eexist", EEXIST) != 0) {
    return ZfsErrnoStatus(ZfsOp::kDestroy, ENOMEM, "destroy", dataset);
  }
  return RunUntilSettled(kDestroyProgram, args.get(), "destroy", dataset);
}

absl::Status RollbackAtomically(const std::string& dataset, const std::string& snapshot,
                                const std::vector<std::string>& known_bookmarks) {
  Nvlist args = NewNvlist();
  Nvlist bookmarks = NamesNvlist(known_bookmarks);
  if (!args || !bookmarks || nvlist_add_string(args.get(), "dataset", dataset.c_str()) != 0 ||
      nvlist_add_string(args.get(), "snapshot", snapshot.c_str()) != 0 ||
      nvlist_add_nvlist(args.get(), "bookmarks", bookmarks.get()) != 0) {
    return ZfsErrnoStatus(ZfsOp::kRollback, ENOMEM, "roll back", dataset);
  }
  return RunUntilSettled(kRollbackProgram, args.get(),
                         absl::StrCat("roll back to '", snapshot, "'"), dataset);
}

absl::StatusOr<std::vector<SnapshotProps>> TakeSnapshotsAtomically(
    const std::vector<NewSnapshot>& snapshots, const std::string& mark) {
  if (snapshots.empty()) return std::vector<SnapshotProps>();
  const std::string& first = snapshots.front().name;
  std::vector<std::string> snapshot_names, datasets;
  for (const NewSnapshot& s : snapshots) {
    const size_t at = s.name.find('@');
    if (at == std::string::npos ||
        std::find(datasets.begin(), datasets.end(), s.name.substr(0, at)) != datasets.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "create snapshot '", s.name, "': not a snapshot name, or a second one of its dataset"));
    }
    snapshot_names.push_back(s.name);
    datasets.push_back(s.name.substr(0, at));
  }
  Nvlist args = NewNvlist();
  Nvlist names = NamesNvlist(snapshot_names);
  Nvlist dataset_names = NamesNvlist(datasets);
  Nvlist props = NewNvlist();
  bool built = args && names && dataset_names && props &&
               nvlist_add_nvlist(args.get(), "snapshots", names.get()) == 0 &&
               nvlist_add_nvlist(args.get(), "datasets", dataset_names.get()) == 0 &&
               nvlist_add_string(args.get(), "mark", mark.c_str()) == 0;
  for (const NewSnapshot& s : snapshots) {
    Nvlist own = StringsNvlist(s.user_props);
    built = built && own && nvlist_add_nvlist(props.get(), s.name.c_str(), own.get()) == 0;
  }
  if (!built || nvlist_add_nvlist(args.get(), "props", props.get()) != 0) {
    return ZfsErrnoStatus(ZfsOp::kSnapshot, ENOMEM, "create snapshot", first);
  }
  // A snapshot of the same dataset in this transaction group makes the
  // check say EAGAIN: run again in the next one.
  absl::Status last;
  for (Backoff backoff; backoff.Next();) {
    absl::StatusOr<Nvlist> ret = RunChannelProgram(
        kTakeSnapshotsProgram, args.get(), ProgramMode::kSync, {10 * 1000 * 1000, 10 * 1024 * 1024},
        ZfsOp::kSnapshot, "create snapshot", first);
    if (!ret.ok()) return ret.status();
    const int64_t err = IntField(ret->get(), "errno");
    if (std::string missing = StringField(ret->get(), "missing"); !missing.empty()) {
      return absl::NotFoundError(absl::StrCat("create snapshot of '", missing,
                                              "': no such zvol carrying ", mark,
                                              "; nothing was changed"));
    }
    if (std::string refused = StringField(ret->get(), "refused"); !refused.empty()) {
      last = ZfsErrnoStatus(ZfsOp::kSnapshot, static_cast<int>(err), "create snapshot", refused);
      if (err == EAGAIN) continue;
      return last;
    }
    if (std::string failed = StringField(ret->get(), "failed"); !failed.empty()) {
      const int64_t left = IntField(ret->get(), "left");
      return absl::InternalError(absl::StrCat(
          "create snapshot '", failed, "': failed (", DescribeZfsErrno(static_cast<int>(err)),
          ") after every check had passed; ",
          left == 0 ? "the snapshots taken before it were destroyed again, nothing was changed"
                    : absl::StrCat(left, " snapshots taken before it could not be destroyed")));
    }
    nvlist_t* taken = nullptr;
    if (nvlist_lookup_nvlist(ret->get(), "taken", &taken) != 0) {
      return absl::InternalError(
          absl::StrCat("create snapshot '", first, "': the program returned no snapshots"));
    }
    std::vector<SnapshotProps> out;
    for (const NewSnapshot& s : snapshots) {
      nvlist_t* fields = nullptr;
      if (nvlist_lookup_nvlist(taken, s.name.c_str(), &fields) != 0) {
        return absl::InternalError(
            absl::StrCat("create snapshot '", s.name, "': taken, but not read back"));
      }
      SnapshotProps props;
      props.name = s.name;
      props.guid = static_cast<uint64_t>(IntField(fields, "guid"));
      props.createtxg = static_cast<uint64_t>(IntField(fields, "createtxg"));
      props.creation = IntField(fields, "creation");
      props.used = static_cast<uint64_t>(IntField(fields, "used"));
      props.referenced = static_cast<uint64_t>(IntField(fields, "referenced"));
      props.volsize = static_cast<uint64_t>(IntField(fields, "volsize"));
      props.user_props = s.user_props;
      out.push_back(std::move(props));
    }
    return out;
  }
  return last;
}

}  // namespace mvirt::zfs::internal
