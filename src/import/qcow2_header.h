// The qcow2 header, parsed in-process before qemu-img ever sees an image
// (docs/interop/qcow2.txt of QEMU): an untrusted image that would make
// qemu-img read another host file (backing file, external data file), need
// a key, repair itself, or describe tables outside the file is refused here
// with a reason, cheaply and without running anything. qemu-img info/check
// remain a second layer. Pure logic, unit-tested.
#ifndef MVIRT_ZFS_IMPORT_QCOW2_HEADER_H_
#define MVIRT_ZFS_IMPORT_QCOW2_HEADER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

// The largest qcow2 cluster (2 MiB): the header and its extensions lie in
// the first cluster, so this many leading bytes are all the parser needs.
inline constexpr size_t kQcow2MaxHeaderBytes = size_t{1} << 21;

// Header extension types.
inline constexpr uint32_t kQcow2ExtEnd = 0;
inline constexpr uint32_t kQcow2ExtBackingFormat = 0xe2792aca;
inline constexpr uint32_t kQcow2ExtFeatureNames = 0x6803f857;
inline constexpr uint32_t kQcow2ExtBitmaps = 0x23852875;
inline constexpr uint32_t kQcow2ExtCrypto = 0x0537be77;
inline constexpr uint32_t kQcow2ExtDataFile = 0x44415441;

// Incompatible feature bits.
inline constexpr uint64_t kQcow2Dirty = 1 << 0;
inline constexpr uint64_t kQcow2Corrupt = 1 << 1;
inline constexpr uint64_t kQcow2ExternalData = 1 << 2;
inline constexpr uint64_t kQcow2CompressionType = 1 << 3;
inline constexpr uint64_t kQcow2ExtendedL2 = 1 << 4;

struct Qcow2Extension {
  uint32_t type = 0;
  uint32_t length = 0;  // of the data, without the padding to 8 bytes
};

// The fields of a qcow2 header (version 2 fields get the version 3
// defaults: no features, 16-bit refcounts, a 72-byte header).
struct Qcow2Header {
  uint32_t version = 0;
  uint64_t backing_file_offset = 0;
  uint32_t backing_file_size = 0;
  uint32_t cluster_bits = 0;
  uint64_t size = 0;  // the virtual disk size in bytes
  uint32_t crypt_method = 0;
  uint32_t l1_size = 0;
  uint64_t l1_table_offset = 0;
  uint64_t refcount_table_offset = 0;
  uint32_t refcount_table_clusters = 0;
  uint32_t nb_snapshots = 0;
  uint64_t snapshots_offset = 0;
  uint64_t incompatible_features = 0;
  uint64_t compatible_features = 0;
  uint64_t autoclear_features = 0;
  uint32_t refcount_order = 4;
  uint32_t header_length = 72;
  uint8_t compression_type = 0;            // 0 zlib, 1 zstd
  std::vector<Qcow2Extension> extensions;  // in file order, without the end marker
};

// Parses the header at the start of `head`: the file's first
// min(file size, kQcow2MaxHeaderBytes) bytes. Checks the structure only:
// INVALID_ARGUMENT naming the problem for a header that is truncated, has a
// bad magic or an unknown version, an impossible cluster size or header
// length, or extensions that overrun the first cluster. Never reads outside
// `head`.
absl::StatusOr<Qcow2Header> ParseQcow2Header(absl::string_view head);

// OK if an image with `header`, `file_size` bytes long, is safe to hand to
// qemu-img: no backing file, no external data file, not encrypted, not
// dirty or marked corrupt, no unknown incompatible feature, a virtual size in
// 1..max_virtual_size, and L1, refcount and snapshot tables inside the file.
// INVALID_ARGUMENT naming the reason otherwise.
absl::Status CheckQcow2HeaderIsSafe(const Qcow2Header& header, uint64_t file_size,
                                    uint64_t max_virtual_size);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_QCOW2_HEADER_H_
