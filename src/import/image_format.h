// Image format detection by content (magic bytes), never by file name.
// Pure logic, unit-tested.
#ifndef MVIRT_ZFS_IMPORT_IMAGE_FORMAT_H_
#define MVIRT_ZFS_IMPORT_IMAGE_FORMAT_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

enum class ImageFormat { kRaw, kQcow2 };

// How many leading bytes DetectImageFormat wants to see (fewer only when the
// whole image is shorter).
inline constexpr size_t kFormatProbeBytes = 512;

// "raw" or "qcow2".
std::string ImageFormatName(ImageFormat format);

// The format of an image whose first bytes are `head`: qcow2 by its magic
// "QFI\xfb", raw otherwise. An image in a format that mvirt-zfs cannot import
// (VMDK, VHDX, VDI, VHD, QED, LUKS, or a gzip/xz/zstd/bzip2 compressed file)
// is INVALID_ARGUMENT naming the format: writing it as raw would produce a
// disk that does not boot and a template that lies about its content.
absl::StatusOr<ImageFormat> DetectImageFormat(absl::string_view head);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_IMAGE_FORMAT_H_
