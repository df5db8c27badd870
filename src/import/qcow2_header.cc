#include "import/qcow2_header.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/sizes.h"

namespace mvirt::zfs {
namespace {

constexpr absl::string_view kMagic("QFI\xfb", 4);
constexpr size_t kV2HeaderBytes = 72;
constexpr size_t kV3HeaderBytes = 104;
constexpr uint32_t kMinClusterBits = 9;    // 512 bytes
constexpr uint32_t kMaxClusterBits = 21;   // 2 MiB
constexpr uint32_t kMaxRefcountOrder = 6;  // 64-bit refcounts
constexpr uint64_t kKnownIncompatible =
    kQcow2Dirty | kQcow2Corrupt | kQcow2ExternalData | kQcow2CompressionType | kQcow2ExtendedL2;
// qemu's own limits (block/qcow2.h): larger tables are refused on open.
constexpr uint64_t kMaxL1Bytes = 32 * kMiB;
constexpr uint64_t kMaxRefcountTableBytes = 8 * kMiB;
constexpr uint32_t kMaxSnapshots = 65536;
constexpr uint64_t kMinSnapshotEntryBytes = 40;

uint32_t Be32(absl::string_view s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

uint64_t Be64(absl::string_view s, size_t at) {
  return (static_cast<uint64_t>(Be32(s, at)) << 32) | Be32(s, at + 4);
}

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("the qcow2 image ", why));
}

absl::Status Truncated(size_t have, size_t need) {
  return Invalid(
      absl::StrCat("is truncated: its header needs ", need, " bytes, the file has ", have));
}

// The fields every version has (bytes 0..71); `head` holds them.
void ParseV2Fields(absl::string_view head, Qcow2Header& h) {
  h.backing_file_offset = Be64(head, 8);
  h.backing_file_size = Be32(head, 16);
  h.cluster_bits = Be32(head, 20);
  h.size = Be64(head, 24);
  h.crypt_method = Be32(head, 32);
  h.l1_size = Be32(head, 36);
  h.l1_table_offset = Be64(head, 40);
  h.refcount_table_offset = Be64(head, 48);
  h.refcount_table_clusters = Be32(head, 56);
  h.nb_snapshots = Be32(head, 60);
  h.snapshots_offset = Be64(head, 64);
}

// The version 3 fields (bytes 72..header_length).
absl::Status ParseV3Fields(absl::string_view head, Qcow2Header& h) {
  if (head.size() < kV3HeaderBytes) return Truncated(head.size(), kV3HeaderBytes);
  h.incompatible_features = Be64(head, 72);
  h.compatible_features = Be64(head, 80);
  h.autoclear_features = Be64(head, 88);
  h.refcount_order = Be32(head, 96);
  h.header_length = Be32(head, 100);
  const uint64_t cluster_size = uint64_t{1} << h.cluster_bits;
  if (h.header_length < kV3HeaderBytes || h.header_length % 8 != 0 ||
      h.header_length > cluster_size) {
    return Invalid(absl::StrCat("has an invalid header length ", h.header_length,
                                " (a multiple of 8, from 104 to the cluster size ", cluster_size,
                                ")"));
  }
  if (head.size() < h.header_length) return Truncated(head.size(), h.header_length);
  if (h.refcount_order > kMaxRefcountOrder) {
    return Invalid(absl::StrCat("has an invalid refcount order ", h.refcount_order));
  }
  if (h.header_length > kV3HeaderBytes) h.compression_type = static_cast<uint8_t>(head[104]);
  return absl::OkStatus();
}

// The header extensions from the end of the header to the end of the first
// cluster (or to the backing file name, which qemu puts there).
absl::Status ParseExtensions(absl::string_view head, Qcow2Header& h) {
  uint64_t end = uint64_t{1} << h.cluster_bits;
  if (h.backing_file_offset > h.header_length && h.backing_file_offset < end) {
    end = h.backing_file_offset;
  }
  uint64_t offset = h.header_length;
  while (offset < end) {
    if (end - offset < 8) {
      return Invalid(absl::StrCat("has a header extension at offset ", offset,
                                  " that overruns the first cluster"));
    }
    if (head.size() < offset + 8) return Truncated(head.size(), offset + 8);
    Qcow2Extension ext{Be32(head, offset), Be32(head, offset + 4)};
    offset += 8;
    if (ext.type == kQcow2ExtEnd) return absl::OkStatus();
    if (ext.length > end - offset) {
      return Invalid(absl::StrFormat(
          "has a header extension (type 0x%08x, %u bytes) that overruns the first cluster",
          ext.type, ext.length));
    }
    if (head.size() < offset + ext.length) return Truncated(head.size(), offset + ext.length);
    h.extensions.push_back(ext);
    offset += (uint64_t{ext.length} + 7) & ~uint64_t{7};
  }
  return absl::OkStatus();
}

bool HasExtension(const Qcow2Header& h, uint32_t type) {
  for (const Qcow2Extension& ext : h.extensions) {
    if (ext.type == type) return true;
  }
  return false;
}

// OK if `bytes` at `offset` lie inside a file of `file_size` bytes and
// `offset` is cluster-aligned.
absl::Status CheckTable(const Qcow2Header& h, absl::string_view table, uint64_t offset,
                        uint64_t bytes, uint64_t file_size) {
  const uint64_t cluster_size = uint64_t{1} << h.cluster_bits;
  if (offset % cluster_size != 0) {
    return Invalid(absl::StrCat("is corrupt: its ", table, " offset ", offset,
                                " is not aligned to its cluster size ", cluster_size));
  }
  if (offset > file_size || bytes > file_size - offset) {
    return Invalid(absl::StrCat("is corrupt or truncated: its ", table, " (", bytes,
                                " bytes at offset ", offset, ") lies beyond the end of the file (",
                                file_size, " bytes)"));
  }
  return absl::OkStatus();
}

// What makes qemu-img read other files, need a key or repair the image.
absl::Status CheckSelfContained(const Qcow2Header& h) {
  if (h.backing_file_offset != 0 || h.backing_file_size != 0 ||
      HasExtension(h, kQcow2ExtBackingFormat)) {
    return Invalid(
        "has a backing file; only self-contained images are imported (qemu-img convert it "
        "without one first)");
  }
  if ((h.incompatible_features & kQcow2ExternalData) != 0 || HasExtension(h, kQcow2ExtDataFile)) {
    return Invalid(
        "has an external data file (its data lives in another file); only self-contained "
        "images are imported (qemu-img convert it into a plain qcow2 first)");
  }
  if (h.crypt_method != 0 || HasExtension(h, kQcow2ExtCrypto)) {
    return Invalid(absl::StrCat("is encrypted (crypt_method ", h.crypt_method,
                                "); decrypt it first (qemu-img convert)"));
  }
  if ((h.incompatible_features & kQcow2Dirty) != 0) {
    return Invalid(
        "is marked dirty (it was not closed cleanly and would need a repair); run qemu-img "
        "check -r all on it first");
  }
  if ((h.incompatible_features & kQcow2Corrupt) != 0) return Invalid("is marked corrupt");
  if (uint64_t unknown = h.incompatible_features & ~kKnownIncompatible; unknown != 0) {
    return Invalid(absl::StrFormat("uses unknown incompatible features (bits 0x%x)", unknown));
  }
  const bool zstd_bit = (h.incompatible_features & kQcow2CompressionType) != 0;
  if (h.compression_type > 1 || (h.compression_type == 1) != zstd_bit) {
    return Invalid(absl::StrCat("has an invalid compression type ", h.compression_type,
                                zstd_bit ? " (feature bit set)" : " (feature bit not set)"));
  }
  if ((h.incompatible_features & kQcow2ExtendedL2) != 0 && h.cluster_bits < 14) {
    return Invalid("uses extended L2 entries with clusters smaller than 16 KiB");
  }
  return absl::OkStatus();
}

absl::Status CheckVirtualSize(const Qcow2Header& h, uint64_t max_virtual_size) {
  if (h.size == 0) return Invalid("is empty (virtual size 0)");
  if (h.size > max_virtual_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("the qcow2 image's virtual size ", h.size, " bytes (", FormatSize(h.size),
                     ") exceeds the import limit of ", max_virtual_size, " bytes (",
                     FormatSize(max_virtual_size), ", --import-max-size)"));
  }
  return absl::OkStatus();
}

absl::Status CheckTables(const Qcow2Header& h, uint64_t file_size) {
  const uint64_t cluster_size = uint64_t{1} << h.cluster_bits;
  // One L1 entry maps an L2 table: cluster_size / entry size clusters.
  const uint32_t l2_entry_bits = (h.incompatible_features & kQcow2ExtendedL2) != 0 ? 4 : 3;
  const uint32_t l1_entry_shift = h.cluster_bits + (h.cluster_bits - l2_entry_bits);
  const uint64_t l1_needed =
      (h.size >> l1_entry_shift) + ((h.size & ((uint64_t{1} << l1_entry_shift) - 1)) != 0 ? 1 : 0);
  if (uint64_t{h.l1_size} * 8 > kMaxL1Bytes) {
    return Invalid(absl::StrCat("has an L1 table too large (", h.l1_size, " entries)"));
  }
  if (h.l1_size < l1_needed) {
    return Invalid(absl::StrCat("is corrupt: its L1 table (", h.l1_size,
                                " entries) is too small for its virtual size (", l1_needed,
                                " needed)"));
  }
  if (absl::Status s =
          CheckTable(h, "L1 table", h.l1_table_offset, uint64_t{h.l1_size} * 8, file_size);
      !s.ok()) {
    return s;
  }
  const uint64_t refcount_bytes = uint64_t{h.refcount_table_clusters} * cluster_size;
  if (h.refcount_table_clusters == 0 || refcount_bytes > kMaxRefcountTableBytes) {
    return Invalid(absl::StrCat("is corrupt: its refcount table has ", h.refcount_table_clusters,
                                " clusters"));
  }
  if (absl::Status s =
          CheckTable(h, "refcount table", h.refcount_table_offset, refcount_bytes, file_size);
      !s.ok()) {
    return s;
  }
  if (h.nb_snapshots > kMaxSnapshots) {
    return Invalid(absl::StrCat("has too many snapshots (", h.nb_snapshots, ")"));
  }
  if (h.nb_snapshots == 0) return absl::OkStatus();
  return CheckTable(h, "snapshot table", h.snapshots_offset,
                    uint64_t{h.nb_snapshots} * kMinSnapshotEntryBytes, file_size);
}

}  // namespace

absl::StatusOr<Qcow2Header> ParseQcow2Header(absl::string_view head) {
  if (head.size() >= 4 && head.substr(0, 4) != kMagic) {
    return Invalid("has no qcow2 magic (QFI\\xfb)");
  }
  if (head.size() < 8) return Truncated(head.size(), kV2HeaderBytes);
  Qcow2Header h;
  h.version = Be32(head, 4);
  if (h.version != 2 && h.version != 3) {
    return Invalid(absl::StrCat("has an unknown version ", h.version, " (2 and 3 are supported)"));
  }
  if (head.size() < kV2HeaderBytes) return Truncated(head.size(), kV2HeaderBytes);
  ParseV2Fields(head, h);
  if (h.cluster_bits < kMinClusterBits || h.cluster_bits > kMaxClusterBits) {
    return Invalid(absl::StrCat("has an invalid cluster size (2^", h.cluster_bits,
                                " bytes; 512 bytes to 2 MiB are valid)"));
  }
  if (h.version == 3) {
    if (absl::Status s = ParseV3Fields(head, h); !s.ok()) return s;
  }
  if (absl::Status s = ParseExtensions(head, h); !s.ok()) return s;
  return h;
}

absl::Status CheckQcow2HeaderIsSafe(const Qcow2Header& header, uint64_t file_size,
                                    uint64_t max_virtual_size) {
  if (absl::Status s = CheckSelfContained(header); !s.ok()) return s;
  if (absl::Status s = CheckVirtualSize(header, max_virtual_size); !s.ok()) return s;
  return CheckTables(header, file_size);
}

}  // namespace mvirt::zfs
