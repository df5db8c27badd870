// Fuzz target: the validation of what callers send (src/common/names.h) and
// sizes (src/common/sizes.h). Besides "no crash, no UB", every answer is
// checked against the documented policy, written again here independently:
//  - ValidateName: OK exactly for 1..100 bytes of [A-Za-z0-9_.:-] starting
//    with a letter or digit and without ".."; a refusal's message shows
//    only printable ASCII (no raw terminal escapes go back to a caller);
//  - ValidateId: OK exactly for 8-4-4-4-12 hex digits;
//  - ParseSize: plain digits parse to their value; N with a unit is N<<shift
//    or a refusal on overflow; whatever FormatSize prints parses back to
//    within its rounding (one decimal);
//  - RoundUpToBlock: a multiple of the block, >= size, < size + block;
//  - ValidateVolblocksize: OK exactly for powers of two in 4K..128K.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/names.h"
#include "common/sizes.h"
#include "fuzz_util.h"

namespace {

using namespace mvirt::zfs;

[[noreturn]] void Fail(const std::string& what) { fuzz::Fail("fuzz_names_sizes", what); }

std::string Hex(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) absl::StrAppend(&out, absl::Hex(c, absl::kZeroPad2));
  return out;
}

bool ReferenceName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != ':' &&
        c != '-') {
      return false;
    }
  }
  return name.find("..") == absl::string_view::npos;
}

bool ReferenceId(absl::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(id[i]))) {
      return false;
    }
  }
  return true;
}

bool PrintableAscii(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

uint64_t Load64(const uint8_t* p) {
  uint64_t v = 0;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

void CheckNames(absl::string_view text) {
  absl::Status s = ValidateName("volume name", text);
  if (s.ok() != ReferenceName(text)) {
    Fail(absl::StrCat("ValidateName('", Hex(text), "') = ", s.ToString()));
  }
  if (!s.ok() && (s.code() != absl::StatusCode::kInvalidArgument || !PrintableAscii(s.message()))) {
    Fail(
        absl::StrCat("ValidateName refusal not INVALID_ARGUMENT or not printable: ", s.ToString()));
  }
  absl::Status id = ValidateId(text);
  if (id.ok() != ReferenceId(text))
    Fail(absl::StrCat("ValidateId('", Hex(text), "') = ", id.ToString()));
  if (!id.ok() &&
      (id.code() != absl::StatusCode::kInvalidArgument || !PrintableAscii(id.message()))) {
    Fail(absl::StrCat("ValidateId refusal not INVALID_ARGUMENT or not printable: ", id.ToString()));
  }
}

void CheckParseSize(absl::string_view text) {
  absl::StatusOr<uint64_t> size = ParseSize(text);
  if (!size.ok()) {
    if (size.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail(absl::StrCat("ParseSize: not INVALID_ARGUMENT: ", size.status().ToString()));
    }
    return;
  }
  (void)FormatSize(*size);
  // Plain decimal digits (and surrounding whitespace) are a byte count.
  absl::string_view digits = absl::StripAsciiWhitespace(text);
  bool all_digits = !digits.empty() && digits.size() <= 19;
  for (char c : digits)
    all_digits = all_digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  if (all_digits && *size != std::strtoull(std::string(digits).c_str(), nullptr, 10)) {
    Fail(absl::StrCat("ParseSize('", Hex(text), "') = ", *size));
  }
}

void CheckNumbers(uint64_t a, uint64_t b) {
  // Round trips of numbers with and without units.
  static constexpr struct {
    const char* suffix;
    int shift;
  } kUnits[] = {{"", 0}, {"K", 10}, {"M", 20}, {"g", 30}, {"TiB", 40}, {"PB", 50}, {"B", 0}};
  const auto& unit = kUnits[b % (sizeof(kUnits) / sizeof(kUnits[0]))];
  absl::StatusOr<uint64_t> parsed = ParseSize(absl::StrCat(a, unit.suffix));
  const bool overflows = unit.shift > 0 && a > (std::numeric_limits<uint64_t>::max() >> unit.shift);
  if (overflows != !parsed.ok() || (parsed.ok() && *parsed != (a << unit.shift))) {
    Fail(absl::StrCat("ParseSize('", a, unit.suffix,
                      "') = ", parsed.ok() ? absl::StrCat(*parsed) : parsed.status().ToString()));
  }

  // FormatSize prints one decimal: parsing it back (when that is a whole
  // number of bytes) lands within 5% (units EiB and up are not parsed).
  const std::string formatted = FormatSize(a);
  absl::StatusOr<uint64_t> back = ParseSize(formatted);
  if (a < 1024 && (!back.ok() || *back != a))
    Fail(absl::StrCat("FormatSize(", a, ") = ", formatted));
  if (back.ok()) {
    const double diff = std::fabs(static_cast<double>(*back) - static_cast<double>(a));
    if (diff > 0.0501 * static_cast<double>(a)) {
      Fail(absl::StrCat("ParseSize(FormatSize(", a, ")='", formatted, "') = ", *back));
    }
  } else if (!absl::StrContains(formatted, "EiB") &&
             !absl::StrContains(back.status().message(), "whole number")) {
    Fail(absl::StrCat("ParseSize(FormatSize(", a, ")='", formatted,
                      "'): ", back.status().ToString()));
  }

  // RoundUpToBlock with an arbitrary block, and with a power of two.
  for (uint64_t block : {b, uint64_t{1} << (b % 64)}) {
    absl::StatusOr<uint64_t> r = RoundUpToBlock(a, block);
    const bool pow2 = block != 0 && (block & (block - 1)) == 0;
    if (!r.ok()) {
      const bool expected =
          a == 0 || !pow2 || a > std::numeric_limits<uint64_t>::max() - (block - 1);
      if (!expected || r.status().code() != absl::StatusCode::kInvalidArgument) {
        Fail(absl::StrCat("RoundUpToBlock(", a, ", ", block, "): ", r.status().ToString()));
      }
      continue;
    }
    if (!pow2 || *r < a || *r % block != 0 || *r - a >= block) {
      Fail(absl::StrCat("RoundUpToBlock(", a, ", ", block, ") = ", *r));
    }
  }

  for (uint64_t v : {a, b, uint64_t{1} << (a % 64)}) {
    const bool expected = v >= 4096 && v <= 131072 && (v & (v - 1)) == 0;
    if (ValidateVolblocksize(v).ok() != expected)
      Fail(absl::StrCat("ValidateVolblocksize(", v, ")"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  CheckNames(text);
  CheckParseSize(text);
  if (size >= 16) CheckNumbers(Load64(data), Load64(data + 8));
  return 0;
}
