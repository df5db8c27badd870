// The Lua programs and their runner. As in libzfs_backend.cc: libspl's
// include directory shadows C headers and defines a `fallthrough` macro that
// breaks abseil, so standard headers come first, then that macro goes, then
// abseil and our headers, then libzfs_core/libnvpair last.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>
#undef fallthrough

#include <libzfs_core.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
  auto delay = std::chrono::milliseconds(20);
  absl::Status last;
  for (int attempt = 0; attempt < 12; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(delay);
      delay = std::min(delay * 2, std::chrono::milliseconds(400));
    }
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

}  // namespace mvirt::zfs::internal
