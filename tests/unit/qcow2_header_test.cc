#include "import/qcow2_header.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/sizes.h"
#include "common/subprocess.h"

namespace mvirt::zfs {
namespace {

constexpr uint64_t kLimit = kGiB;

void PutBe32(std::string& s, size_t at, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) s[at + i] = static_cast<char>(v & 0xff);
}
void PutBe64(std::string& s, size_t at, uint64_t v) {
  PutBe32(s, at, static_cast<uint32_t>(v >> 32));
  PutBe32(s, at + 4, static_cast<uint32_t>(v));
}

// Builds the first cluster of a qcow2 image, field by field: by default a
// valid version 3 image of 16 MiB with 64 KiB clusters, laid out as
// qemu-img creates it (refcount table in cluster 1, L1 table in cluster 3).
struct Qcow2Builder {
  std::string magic = "QFI\xfb";
  uint32_t version = 3;
  uint64_t backing_file_offset = 0;
  uint32_t backing_file_size = 0;
  uint32_t cluster_bits = 16;
  uint64_t size = 16 * kMiB;
  uint32_t crypt_method = 0;
  uint32_t l1_size = 1;
  uint64_t l1_table_offset = 3 * 65536;
  uint64_t refcount_table_offset = 65536;
  uint32_t refcount_table_clusters = 1;
  uint32_t nb_snapshots = 0;
  uint64_t snapshots_offset = 0;
  uint64_t incompatible = 0;
  uint64_t compatible = 0;
  uint64_t autoclear = 0;
  uint32_t refcount_order = 4;
  uint32_t header_length = 112;
  uint8_t compression_type = 0;
  std::vector<std::pair<uint32_t, std::string>> extensions;
  bool end_marker = true;

  // The file size that fits this layout: the L1 table's end.
  uint64_t FileSize() const { return l1_table_offset + uint64_t{l1_size} * 8; }

  // The header, its extensions and the end marker (not the whole cluster).
  std::string Bytes() const {
    // (an absurd header_length is written, not followed)
    const size_t fixed = version == 2 ? 72 : std::clamp<size_t>(header_length, 104, 4096);
    std::string s(std::max<size_t>(fixed, 104), '\0');
    s.replace(0, 4, magic);
    PutBe32(s, 4, version);
    PutBe64(s, 8, backing_file_offset);
    PutBe32(s, 16, backing_file_size);
    PutBe32(s, 20, cluster_bits);
    PutBe64(s, 24, size);
    PutBe32(s, 32, crypt_method);
    PutBe32(s, 36, l1_size);
    PutBe64(s, 40, l1_table_offset);
    PutBe64(s, 48, refcount_table_offset);
    PutBe32(s, 56, refcount_table_clusters);
    PutBe32(s, 60, nb_snapshots);
    PutBe64(s, 64, snapshots_offset);
    PutBe64(s, 72, incompatible);
    PutBe64(s, 80, compatible);
    PutBe64(s, 88, autoclear);
    PutBe32(s, 96, refcount_order);
    PutBe32(s, 100, header_length);
    if (s.size() > 104) s[104] = static_cast<char>(compression_type);
    s.resize(fixed);
    for (const auto& [type, data] : extensions) {
      std::string ext(8, '\0');
      PutBe32(ext, 0, type);
      PutBe32(ext, 4, static_cast<uint32_t>(data.size()));
      s += ext + data + std::string((8 - data.size() % 8) % 8, '\0');
    }
    if (end_marker) s += std::string(8, '\0');
    return s;
  }
};

absl::Status Check(const Qcow2Builder& b) {
  absl::StatusOr<Qcow2Header> h = ParseQcow2Header(b.Bytes());
  if (!h.ok()) return h.status();
  return CheckQcow2HeaderIsSafe(*h, b.FileSize(), kLimit);
}

// Expects `b` refused (at parse or check) with `says` in the message.
void ExpectRefused(const Qcow2Builder& b, const std::string& says) {
  absl::Status s = Check(b);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(says), absl::string_view::npos) << s;
}

std::string FeatureNames() { return std::string(48, 'n'); }

TEST(Qcow2Header, ParsesAValidVersion3Header) {
  Qcow2Builder b;
  b.extensions = {{kQcow2ExtFeatureNames, FeatureNames()}};
  absl::StatusOr<Qcow2Header> h = ParseQcow2Header(b.Bytes());
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->version, 3u);
  EXPECT_EQ(h->cluster_bits, 16u);
  EXPECT_EQ(h->size, 16 * kMiB);
  EXPECT_EQ(h->l1_size, 1u);
  EXPECT_EQ(h->l1_table_offset, 3u * 65536);
  EXPECT_EQ(h->refcount_table_offset, 65536u);
  EXPECT_EQ(h->header_length, 112u);
  ASSERT_EQ(h->extensions.size(), 1u);
  EXPECT_EQ(h->extensions[0].type, kQcow2ExtFeatureNames);
  EXPECT_EQ(h->extensions[0].length, 48u);
  EXPECT_TRUE(CheckQcow2HeaderIsSafe(*h, b.FileSize(), kLimit).ok());
}

TEST(Qcow2Header, ParsesAValidVersion2Header) {
  Qcow2Builder b;
  b.version = 2;
  b.incompatible = 0xffff;  // not part of a version 2 header: ignored
  absl::StatusOr<Qcow2Header> h = ParseQcow2Header(b.Bytes());
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->version, 2u);
  EXPECT_EQ(h->header_length, 72u);
  EXPECT_EQ(h->refcount_order, 4u);
  EXPECT_EQ(h->incompatible_features, 0u);
  EXPECT_TRUE(Check(b).ok()) << Check(b);
}

TEST(Qcow2Header, EveryTruncationIsRefusedCleanly) {
  for (int version : {2, 3}) {
    Qcow2Builder b;
    b.version = version;
    b.extensions = {{kQcow2ExtFeatureNames, FeatureNames()}, {0x12345678, "abc"}};
    const std::string full = b.Bytes();
    ASSERT_TRUE(ParseQcow2Header(full).ok());
    for (size_t length = 0; length < full.size(); ++length) {
      absl::StatusOr<Qcow2Header> h = ParseQcow2Header(full.substr(0, length));
      ASSERT_FALSE(h.ok()) << "version " << version << ", " << length << " bytes";
      EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(h.status().message().find("truncated"), absl::string_view::npos) << h.status();
    }
  }
}

TEST(Qcow2Header, BadMagicAndUnknownVersions) {
  Qcow2Builder b;
  b.magic = "QFI\xfa";
  ExpectRefused(b, "no qcow2 magic");
  b.magic = "QED";
  ExpectRefused(b, "no qcow2 magic");
  for (uint32_t version : {0u, 1u, 4u, 0xffffffffu}) {
    b = Qcow2Builder();
    b.version = version;
    ExpectRefused(b, "unknown version");
  }
}

TEST(Qcow2Header, AbsurdClusterSizesAndHeaderLengths) {
  for (uint32_t bits : {0u, 8u, 22u, 63u, 64u, 0xffffffffu}) {
    Qcow2Builder b;
    b.cluster_bits = bits;
    ExpectRefused(b, "invalid cluster size");
  }
  for (uint32_t length : {0u, 72u, 100u, 108u, 65536u + 8, 0xfffffff8u}) {
    Qcow2Builder b;
    b.header_length = length;
    ExpectRefused(b, "header length");
  }
  Qcow2Builder b;
  b.refcount_order = 7;
  ExpectRefused(b, "refcount order");
}

TEST(Qcow2Header, ABackingFileIsRefused) {
  Qcow2Builder b;
  b.backing_file_offset = 512;
  b.backing_file_size = 10;
  ExpectRefused(b, "has a backing file");
  b = Qcow2Builder();
  b.backing_file_size = 10;  // a size without an offset: still refused
  ExpectRefused(b, "has a backing file");
  b = Qcow2Builder();
  b.extensions = {{kQcow2ExtBackingFormat, "raw"}};
  ExpectRefused(b, "has a backing file");
}

TEST(Qcow2Header, AnExternalDataFileIsRefused) {
  Qcow2Builder b;
  b.incompatible = kQcow2ExternalData;
  ExpectRefused(b, "external data file");
  b = Qcow2Builder();
  b.extensions = {{kQcow2ExtDataFile, "/dev/sda"}};
  ExpectRefused(b, "external data file");
  // The message does not echo the name the image gives.
  EXPECT_EQ(Check(b).message().find("/dev/sda"), absl::string_view::npos);
}

TEST(Qcow2Header, EncryptionIsRefused) {
  for (uint32_t method : {1u, 2u, 77u}) {
    Qcow2Builder b;
    b.crypt_method = method;
    ExpectRefused(b, "encrypted");
  }
  Qcow2Builder b;
  b.extensions = {{kQcow2ExtCrypto, std::string(16, '\0')}};
  ExpectRefused(b, "encrypted");
}

TEST(Qcow2Header, IncompatibleFeatures) {
  Qcow2Builder b;
  b.incompatible = kQcow2Dirty;
  ExpectRefused(b, "dirty");
  b.incompatible = kQcow2Corrupt;
  ExpectRefused(b, "marked corrupt");
  for (uint64_t bit : {uint64_t{1} << 5, uint64_t{1} << 31, uint64_t{1} << 63}) {
    b.incompatible = bit;
    ExpectRefused(b, "unknown incompatible features");
  }
  // zstd compression: the bit and the type agree.
  b = Qcow2Builder();
  b.incompatible = kQcow2CompressionType;
  b.compression_type = 1;
  EXPECT_TRUE(Check(b).ok()) << Check(b);
  b.compression_type = 0;
  ExpectRefused(b, "compression type");
  b.incompatible = 0;
  b.compression_type = 1;
  ExpectRefused(b, "compression type");
  b.incompatible = kQcow2CompressionType;
  b.compression_type = 2;
  ExpectRefused(b, "compression type");
  // Extended L2 entries: fine from 16 KiB clusters on.
  b = Qcow2Builder();
  b.incompatible = kQcow2ExtendedL2;
  EXPECT_TRUE(Check(b).ok()) << Check(b);
  b.cluster_bits = 12;
  b.l1_table_offset = 3 * 4096;
  b.refcount_table_offset = 4096;
  b.l1_size = 64;
  ExpectRefused(b, "extended L2");
  // Compatible and autoclear bits are harmless.
  b = Qcow2Builder();
  b.compatible = ~uint64_t{0};
  b.autoclear = ~uint64_t{0};
  EXPECT_TRUE(Check(b).ok()) << Check(b);
}

TEST(Qcow2Header, VirtualSize) {
  Qcow2Builder b;
  b.size = 0;
  ExpectRefused(b, "empty (virtual size 0)");
  b.size = kLimit + 1;
  b.l1_size = 3;
  ExpectRefused(b, "exceeds the import limit");
  b.size = kLimit;
  b.l1_size = 2;  // 64 KiB clusters: one L1 entry maps 512 MiB
  EXPECT_TRUE(Check(b).ok()) << Check(b);
  b.l1_size = 1;
  ExpectRefused(b, "L1 table (1 entries) is too small");
}

TEST(Qcow2Header, TablesOutsideTheFileAreRefused) {
  Qcow2Builder b;
  absl::StatusOr<Qcow2Header> h = ParseQcow2Header(b.Bytes());
  ASSERT_TRUE(h.ok());
  // The file ends before the L1 table does.
  absl::Status s = CheckQcow2HeaderIsSafe(*h, b.FileSize() - 1, kLimit);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("corrupt or truncated"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("L1 table"), absl::string_view::npos) << s;

  b.l1_table_offset = 3 * 65536 + 8;
  ExpectRefused(b, "not aligned");
  b.l1_table_offset = ~uint64_t{0} - 65535;  // offset + size overflows
  h = ParseQcow2Header(b.Bytes());
  ASSERT_TRUE(h.ok());
  s = CheckQcow2HeaderIsSafe(*h, 3 * 65536 + 8, kLimit);
  EXPECT_NE(s.message().find("L1 table"), absl::string_view::npos) << s;
  b = Qcow2Builder();
  b.l1_size = 0x10000000;
  ExpectRefused(b, "L1 table too large");

  b = Qcow2Builder();
  b.refcount_table_offset = 1ull << 40;
  ExpectRefused(b, "refcount table");
  b.refcount_table_offset = 65536;
  b.refcount_table_clusters = 0;
  ExpectRefused(b, "refcount table has 0 clusters");
  b.refcount_table_clusters = 1000;
  ExpectRefused(b, "refcount table has 1000 clusters");

  b = Qcow2Builder();
  b.nb_snapshots = 1;
  b.snapshots_offset = 1ull << 40;
  ExpectRefused(b, "snapshot table");
  b.nb_snapshots = 1u << 20;
  ExpectRefused(b, "too many snapshots");
  b.nb_snapshots = 1;
  b.snapshots_offset = 2 * 65536;  // inside the file: fine
  EXPECT_TRUE(Check(b).ok()) << Check(b);
}

TEST(Qcow2Header, ExtensionsMustStayInTheFirstCluster) {
  Qcow2Builder b;
  b.cluster_bits = 9;  // 512-byte clusters
  b.l1_table_offset = 3 * 512;
  b.refcount_table_offset = 512;
  b.l1_size = 64;  // 512-byte clusters: one L1 entry maps 32 KiB... and more
  b.size = 64 * 32 * kKiB;
  ASSERT_TRUE(Check(b).ok()) << Check(b);
  // Data running past the cluster's end.
  b.extensions = {{0x1111, std::string(512 - 112 - 8 + 1, 'x')}};
  b.end_marker = false;
  ExpectRefused(b, "overruns the first cluster");
  // Exactly filling the cluster: no room (or need) for an end marker.
  b.extensions = {{0x1111, std::string(512 - 112 - 8, 'x')}};
  EXPECT_TRUE(Check(b).ok()) << Check(b);
  // A declared length of 4 GiB.
  b = Qcow2Builder();
  b.extensions = {{0x1111, ""}};
  std::string bytes = b.Bytes();
  PutBe32(bytes, 112 + 4, 0xffffffff);
  absl::StatusOr<Qcow2Header> h = ParseQcow2Header(bytes);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("overruns"), absl::string_view::npos) << h.status();
}

// --- Images made by qemu-img itself ---

class Qcow2FromQemuImg : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(FindExecutable("qemu-img").empty()) << "qemu-img is not installed (qemu-utils)";
    char dir[] = "/tmp/mvirt-zfs-qcow2-XXXXXX";
    dir_ = mkdtemp(dir);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // Runs `qemu-img create -f qcow2 <options> FILE 64M`; returns FILE.
  // Tried up to 5 times: for an encrypted image qemu-img first times its key
  // derivation by the thread's CPU clock, and where that clock is coarse
  // (VMs, containers) it sometimes reads 0 ms and gives up ("Unable to get
  // accurate CPU usage"), which says nothing about the parser under test.
  std::string Create(const std::string& name, const std::string& options) {
    std::string file = dir_ + "/" + name;
    std::string command = "qemu-img create -q -f qcow2 " + options + " " + file + " 64M";
    int status = -1;
    for (int attempt = 0; attempt < 5 && status != 0; ++attempt)
      status = std::system(command.c_str());
    EXPECT_EQ(status, 0) << command;
    return file;
  }
  absl::Status CheckFile(const std::string& file) {
    const uint64_t size = std::filesystem::file_size(file);
    std::ifstream in(file, std::ios::binary);
    std::string head(std::min<uint64_t>(size, kQcow2MaxHeaderBytes), '\0');
    in.read(head.data(), head.size());
    absl::StatusOr<Qcow2Header> h = ParseQcow2Header(head);
    if (!h.ok()) return h.status();
    return CheckQcow2HeaderIsSafe(*h, size, kLimit);
  }
  std::string dir_;
};

TEST_F(Qcow2FromQemuImg, PlainImagesOfEveryKindPass) {
  for (const std::string& options :
       {std::string(""), std::string("-o compat=0.10"), std::string("-o cluster_size=512"),
        std::string("-o cluster_size=2M"), std::string("-o compression_type=zstd"),
        std::string("-o extended_l2=on"), std::string("-o lazy_refcounts=on"),
        std::string("-o refcount_bits=64"), std::string("-o refcount_bits=1"),
        std::string("-o preallocation=metadata")}) {
    std::string file = Create("plain.qcow2", options);
    EXPECT_TRUE(CheckFile(file).ok()) << options << ": " << CheckFile(file);
    std::filesystem::remove(file);
  }
  // With data and an internal snapshot.
  std::string file = Create("snap.qcow2", "");
  ASSERT_EQ(std::system(("qemu-img snapshot -c s1 " + file).c_str()), 0);
  EXPECT_TRUE(CheckFile(file).ok()) << CheckFile(file);
}

TEST_F(Qcow2FromQemuImg, UnsafeImagesAreRefused) {
  std::string base = Create("base.qcow2", "");
  std::string overlay = Create("overlay.qcow2", "-b " + base + " -F qcow2");
  EXPECT_NE(CheckFile(overlay).message().find("backing file"), absl::string_view::npos)
      << CheckFile(overlay);
  std::string external = Create("external.qcow2", "-o data_file=" + dir_ + "/data.raw");
  EXPECT_NE(CheckFile(external).message().find("external data file"), absl::string_view::npos)
      << CheckFile(external);
  std::string encrypted =
      Create("encrypted.qcow2",
             "--object secret,id=s0,data=password "
             "-o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10");
  EXPECT_NE(CheckFile(encrypted).message().find("encrypted"), absl::string_view::npos)
      << CheckFile(encrypted);
  // Every truncation of a real header is refused cleanly too.
  std::ifstream in(base, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), head.size());
  absl::StatusOr<Qcow2Header> h = ParseQcow2Header(head);
  ASSERT_TRUE(h.ok()) << h.status();
  size_t end = h->header_length;
  for (const Qcow2Extension& ext : h->extensions) end += 8 + ((ext.length + 7) & ~7u);
  end += 8;  // the end marker
  for (size_t length = 0; length < end; ++length) {
    EXPECT_FALSE(ParseQcow2Header(head.substr(0, length)).ok()) << length;
  }
}

}  // namespace
}  // namespace mvirt::zfs
