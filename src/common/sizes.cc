#include "common/sizes.h"

#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace mvirt::zfs {

absl::StatusOr<uint64_t> RoundUpToBlock(uint64_t size, uint64_t block) {
  if (size == 0) return absl::InvalidArgumentError("size must be greater than 0");
  if (block == 0 || (block & (block - 1)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("block size ", block, " is not a power of two"));
  }
  if (size > std::numeric_limits<uint64_t>::max() - (block - 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("size ", size, " bytes overflows when rounded up to ", block, " bytes"));
  }
  return (size + block - 1) & ~(block - 1);
}

absl::Status ValidateVolblocksize(uint64_t volblocksize) {
  bool power_of_two = volblocksize != 0 && (volblocksize & (volblocksize - 1)) == 0;
  if (!power_of_two || volblocksize < kMinVolblocksize || volblocksize > kMaxVolblocksize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid volblocksize ", volblocksize,
        ": must be a power of two from 4096 (4K) to 131072 (128K); default 16384 (16K)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ParseSize(absl::string_view text) {
  absl::string_view s = absl::StripAsciiWhitespace(text);
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid size '", text,
                     "': use bytes or a number with K, M, G, T or P (binary units), e.g. 50G"));
  };
  if (s.empty()) return invalid();
  // Split the number from the unit.
  size_t i = 0;
  while (i < s.size() && (absl::ascii_isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
    ++i;
  absl::string_view number = s.substr(0, i);
  std::string unit = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(s.substr(i)));
  if (number.empty()) return invalid();
  if (absl::EndsWith(unit, "IB")) {
    unit.resize(unit.size() - 2);
  } else if (unit.size() == 2 && unit[1] == 'B') {
    unit.resize(1);
  } else if (unit == "B") {
    unit.clear();
  }
  int shift = 0;
  if (unit.empty())
    shift = 0;
  else if (unit == "K")
    shift = 10;
  else if (unit == "M")
    shift = 20;
  else if (unit == "G")
    shift = 30;
  else if (unit == "T")
    shift = 40;
  else if (unit == "P")
    shift = 50;
  else
    return invalid();

  if (number.find('.') == absl::string_view::npos) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(number, &value)) return invalid();
    if (shift > 0 && value > (std::numeric_limits<uint64_t>::max() >> shift)) {
      return absl::InvalidArgumentError(absl::StrCat("size '", text, "' is too large"));
    }
    return value << shift;
  }
  double value = 0;
  if (!absl::SimpleAtod(number, &value) || !std::isfinite(value)) return invalid();
  double bytes = std::ldexp(value, shift);
  if (bytes >= 18446744073709551616.0) {
    return absl::InvalidArgumentError(absl::StrCat("size '", text, "' is too large"));
  }
  if (bytes != std::floor(bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("size '", text, "' is not a whole number of bytes"));
  }
  return static_cast<uint64_t>(bytes);
}

std::string FormatSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  if (value == std::floor(value)) return absl::StrFormat("%.0f %s", value, kUnits[unit]);
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

}  // namespace mvirt::zfs
