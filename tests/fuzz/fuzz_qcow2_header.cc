// Fuzz target: the in-process qcow2 header parser (src/import/qcow2_header.h),
// the first thing a hostile image meets. The input is the file's head;
// ParseQcow2Header must never read outside it (ASan), and a header it
// accepts must be consistent with what it promised:
//  - version 2 or 3, cluster_bits 9..21, header_length a multiple of 8
//    within the first cluster and within the input (version 3);
//  - every extension lies inside the first cluster and inside the input.
// CheckQcow2HeaderIsSafe then runs with the input's size and with a larger
// file size, and image-format detection on the same bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/sizes.h"
#include "fuzz_util.h"
#include "import/image_format.h"
#include "import/qcow2_header.h"

namespace {

using namespace mvirt::zfs;

[[noreturn]] void Fail(const std::string& what) { fuzz::Fail("fuzz_qcow2_header", what); }

void CheckRefusal(const absl::Status& s, absl::string_view what) {
  if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument) {
    Fail(absl::StrCat(what, ": not INVALID_ARGUMENT: ", s.ToString()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kQcow2MaxHeaderBytes) return -1;  // the parser is never given more
  const absl::string_view head(reinterpret_cast<const char*>(data), size);
  (void)DetectImageFormat(head);

  absl::StatusOr<Qcow2Header> header = ParseQcow2Header(head);
  if (!header.ok()) {
    CheckRefusal(header.status(), "ParseQcow2Header");
    return 0;
  }
  const Qcow2Header& h = *header;
  if (h.version != 2 && h.version != 3) Fail(absl::StrCat("version ", h.version));
  if (h.cluster_bits < 9 || h.cluster_bits > 21)
    Fail(absl::StrCat("cluster_bits ", h.cluster_bits));
  const uint64_t cluster = uint64_t{1} << h.cluster_bits;
  if (h.version == 3 && (h.header_length < 104 || h.header_length % 8 != 0 ||
                         h.header_length > cluster || h.header_length > size)) {
    Fail(absl::StrCat("header_length ", h.header_length, " (input ", size, ")"));
  }
  uint64_t offset = h.header_length;
  for (const Qcow2Extension& ext : h.extensions) {
    const uint64_t end = offset + 8 + ext.length;
    if (end > cluster || end > size) {
      Fail(absl::StrCat("extension 0x", absl::Hex(ext.type), " of ", ext.length,
                        " bytes at offset ", offset, " overruns (cluster ", cluster, ", input ",
                        size, ")"));
    }
    offset += 8 + ((uint64_t{ext.length} + 7) & ~uint64_t{7});
  }

  CheckRefusal(CheckQcow2HeaderIsSafe(h, size, kTiB), "CheckQcow2HeaderIsSafe");
  CheckRefusal(CheckQcow2HeaderIsSafe(h, uint64_t{1} << 40, kTiB), "CheckQcow2HeaderIsSafe");
  CheckRefusal(CheckQcow2HeaderIsSafe(h, UINT64_MAX, UINT64_MAX), "CheckQcow2HeaderIsSafe");
  return 0;
}
