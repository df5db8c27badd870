// As in libzfs_backend.cc: standard headers first, then libspl's
// `fallthrough` macro goes, then abseil and our headers, then libzfs_core.
#include <cstdint>
#include <string>
#undef fallthrough

#include <libzfs_core.h>

#include "absl/strings/str_cat.h"
#include "zfs/channel_program_runner.h"

namespace mvirt::zfs::internal {

absl::StatusOr<Nvlist> RunChannelProgram(const char* program, nvlist_t* args, ProgramMode mode,
                                         ProgramLimits limits, ZfsOp op, absl::string_view what,
                                         const std::string& object) {
  nvlist_t* raw_out = nullptr;
  const std::string pool = PoolOf(object);
  const int err = mode == ProgramMode::kSync
                      ? lzc_channel_program(pool.c_str(), program, limits.instructions,
                                            limits.memory_bytes, args, &raw_out)
                      : lzc_channel_program_nosync(pool.c_str(), program, limits.instructions,
                                                   limits.memory_bytes, args, &raw_out);
  Nvlist out(raw_out);
  if (err != 0) {
    absl::Status s = ZfsErrnoStatus(op, err, what, object);
    const std::string detail = out ? StringField(out.get(), "error") : "";
    if (!detail.empty()) s = absl::Status(s.code(), absl::StrCat(s.message(), " (", detail, ")"));
    return s;
  }
  nvlist_t* ret = nullptr;
  nvlist_t* copy = nullptr;
  if (!out || nvlist_lookup_nvlist(out.get(), "return", &ret) != 0 ||
      nvlist_dup(ret, &copy, 0) != 0) {
    return absl::InternalError(
        absl::StrCat(what, " '", object, "': the channel program returned nothing"));
  }
  return Nvlist(copy);
}

std::string PoolOf(const std::string& name) { return name.substr(0, name.find_first_of("/@#")); }

std::string StringField(nvlist_t* nv, const char* key) {
  char* value = nullptr;
  return nvlist_lookup_string(nv, key, &value) == 0 ? value : "";
}

}  // namespace mvirt::zfs::internal
