// Sizes: parsing human input ("50G"), formatting, and rounding to a volume's
// block size. Pure logic, unit-tested.
#ifndef MVIRT_ZFS_COMMON_SIZES_H_
#define MVIRT_ZFS_COMMON_SIZES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;
inline constexpr uint64_t kGiB = 1024 * kMiB;
inline constexpr uint64_t kTiB = 1024 * kGiB;

inline constexpr uint64_t kDefaultVolblocksize = 16 * kKiB;
inline constexpr uint64_t kMinVolblocksize = 4 * kKiB;
inline constexpr uint64_t kMaxVolblocksize = 128 * kKiB;

// `size` rounded up to a multiple of `block` (a power of two).
// INVALID_ARGUMENT if size is 0 or the result would overflow 64 bits.
absl::StatusOr<uint64_t> RoundUpToBlock(uint64_t size, uint64_t block);

// OK if `volblocksize` is a power of two in 4 KiB..128 KiB, else
// INVALID_ARGUMENT saying what is allowed.
absl::Status ValidateVolblocksize(uint64_t volblocksize);

// Parses "1073741824", "512K", "50G", "1.5T", "10GiB", "10GB" (binary units:
// K=KiB, M=MiB, G=GiB, T=TiB, P=PiB; a "B", "iB" suffix is accepted).
// INVALID_ARGUMENT for anything else, for fractions of a byte, and overflow.
absl::StatusOr<uint64_t> ParseSize(absl::string_view text);

// "50 GiB", "1.5 GiB", "512 B": binary units, up to one decimal.
std::string FormatSize(uint64_t bytes);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_SIZES_H_
