#include "import/image_format.h"

#include <array>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mvirt::zfs {
namespace {

struct Magic {
  size_t offset;
  absl::string_view bytes;
  absl::string_view name;
  absl::string_view advice;
};

constexpr absl::string_view kConvert = "convert it to qcow2 or raw first (qemu-img convert)";
constexpr absl::string_view kDecompress = "decompress it first";

// Formats that must not be mistaken for raw disks.
constexpr std::array<Magic, 10> kUnsupported = {{
    {0, "KDMV", "VMDK", kConvert},
    {0, "# Disk DescriptorFile", "VMDK descriptor", kConvert},
    {0, "vhdxfile", "VHDX", kConvert},
    {0x40, absl::string_view("\x7f\x10\xda\xbe", 4), "VDI", kConvert},
    {0, "conectix", "VHD (dynamic)", kConvert},
    {0, absl::string_view("QED\0", 4), "QED", kConvert},
    {0, absl::string_view("LUKS\xba\xbe", 6), "LUKS", "decrypt it first"},
    {0, "\x1f\x8b\x08", "gzip-compressed", kDecompress},
    {0,
     absl::string_view("\xfd"
                       "7zXZ\0",
                       6),
     "xz-compressed", kDecompress},
    {0, absl::string_view("\x28\xb5\x2f\xfd", 4), "zstd-compressed", kDecompress},
}};

}  // namespace

std::string ImageFormatName(ImageFormat format) {
  return format == ImageFormat::kQcow2 ? "qcow2" : "raw";
}

absl::StatusOr<ImageFormat> DetectImageFormat(absl::string_view head) {
  if (absl::StartsWith(head, "QFI\xfb")) return ImageFormat::kQcow2;
  for (const Magic& m : kUnsupported) {
    if (head.size() >= m.offset + m.bytes.size() &&
        head.substr(m.offset, m.bytes.size()) == m.bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("the image is ", m.name,
                       ", which cannot be imported (only raw and qcow2 can); ", m.advice));
    }
  }
  if (absl::StartsWith(head, "BZh") && head.size() >= 10 &&
      head.substr(4, 6) == "\x31\x41\x59\x26\x53\x59") {
    return absl::InvalidArgumentError(
        "the image is bzip2-compressed, which cannot be imported (only raw and qcow2 can); "
        "decompress it first");
  }
  return ImageFormat::kRaw;
}

}  // namespace mvirt::zfs
