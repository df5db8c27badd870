// Internal to src/zfs: runs a ZFS channel program and hands back the table
// it returned, for channel_programs.cc (the all-or-nothing mutations) and
// kernel_scan.cc (the read-only scans). Includes libnvpair (libspl), as
// nvlist.h: include it after every C++/abseil header.
#ifndef MVIRT_ZFS_ZFS_CHANNEL_PROGRAM_RUNNER_H_
#define MVIRT_ZFS_ZFS_CHANNEL_PROGRAM_RUNNER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "zfs/error_mapping.h"
#include "zfs/nvlist.h"

namespace mvirt::zfs::internal {

// How a program runs: kSync in syncing context, all of it in one
// transaction group (lzc_channel_program); kReadOnly in open context,
// making no transaction group (lzc_channel_program_nosync).
enum class ProgramMode { kSync, kReadOnly };

struct ProgramLimits {
  uint64_t instructions;
  uint64_t memory_bytes;
};

// Runs `program` with `args` on the pool of `object` and returns the table
// it returned. If the run fails, the status of its errno for `op` ("<what>
// '<object>': ..."), with the program's own error text when it gave one;
// INTERNAL if it returned nothing.
absl::StatusOr<Nvlist> RunChannelProgram(const char* program, nvlist_t* args, ProgramMode mode,
                                         ProgramLimits limits, ZfsOp op, absl::string_view what,
                                         const std::string& object);

// The pool a dataset, snapshot or bookmark name belongs to.
std::string PoolOf(const std::string& name);

// The string at `key` in `nv`; "" if there is none.
std::string StringField(nvlist_t* nv, const char* key);

}  // namespace mvirt::zfs::internal

#endif  // MVIRT_ZFS_ZFS_CHANNEL_PROGRAM_RUNNER_H_
