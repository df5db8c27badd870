// Fuzz target: what mvirt-zfs reads from qemu-img (src/import/qemu_img.h):
// `qemu-img info --output=json` (ParseQemuImgInfo, then CheckQcow2IsSafe),
// `qemu-img check --output=json` (ParseQemuImgCheck), and the progress that
// `qemu-img convert -p` prints (QemuImgProgressParser). qemu-img runs on a
// hostile image, so its output is treated as hostile too.
//
// Invariants: refusals are INVALID_ARGUMENT; CheckQcow2IsSafe accepts only
// qcow2 without backing or data file, unencrypted, not corrupt, of a size in
// 1..limit; progress is always within 0..1, and the last report is the same
// whether the output arrives at once or byte by byte.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/sizes.h"
#include "fuzz_util.h"
#include "import/qemu_img.h"

namespace {

using namespace mvirt::zfs;

[[noreturn]] void Fail(const std::string& what) { fuzz::Fail("fuzz_qemu_img", what); }

void CheckRefusal(const absl::Status& s, absl::string_view what) {
  if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument) {
    Fail(absl::StrCat(what, ": not INVALID_ARGUMENT: ", s.ToString()));
  }
}

void CheckProgress(std::optional<double> p, std::optional<double>& last) {
  if (!p.has_value()) return;
  if (!(*p >= 0.0 && *p <= 1.0)) Fail(absl::StrCat("progress ", *p));
  last = p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65536) return -1;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<QemuImgInfo> info = ParseQemuImgInfo(text);
  CheckRefusal(info.status(), "ParseQemuImgInfo");
  if (info.ok()) {
    for (uint64_t limit : {kTiB, UINT64_MAX}) {
      absl::Status safe = CheckQcow2IsSafe(*info, limit);
      CheckRefusal(safe, "CheckQcow2IsSafe");
      const bool expected = info->format == "qcow2" && info->backing_file.empty() &&
                            info->data_file.empty() && !info->encrypted && !info->corrupt &&
                            info->virtual_size >= 1 && info->virtual_size <= limit;
      if (safe.ok() != expected) Fail(absl::StrCat("CheckQcow2IsSafe: ", safe.ToString()));
    }
  }
  CheckRefusal(ParseQemuImgCheck(text).status(), "ParseQemuImgCheck");

  std::optional<double> whole, bytewise;
  QemuImgProgressParser at_once;
  CheckProgress(at_once.Feed(text), whole);
  QemuImgProgressParser piecewise;
  for (size_t i = 0; i < size; ++i) CheckProgress(piecewise.Feed(text.substr(i, 1)), bytewise);
  if (size <= 4096 && whole != bytewise) {
    Fail(absl::StrCat("progress at once ", whole.value_or(-1), " != byte by byte ",
                      bytewise.value_or(-1)));
  }
  return 0;
}
