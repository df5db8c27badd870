// qemu-img, the standard tool for qcow2 images, run as a child process:
// inspecting an untrusted image before use, and converting it into a zvol.
// Every run is inside a bubblewrap sandbox (qemu_img_sandbox.h) that holds
// only the image, the target device and what qemu-img needs to run; it is
// FAILED_PRECONDITION if it cannot be sandboxed (no bwrap, no qemu-img).
// The in-process header check (qcow2_header.h) runs before any of them.
// Parsing its output is pure logic, unit-tested.
#ifndef MVIRT_ZFS_IMPORT_QEMU_IMG_H_
#define MVIRT_ZFS_IMPORT_QEMU_IMG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/cancel_token.h"

namespace mvirt::zfs {

// What `qemu-img info --output=json` says about an image.
struct QemuImgInfo {
  std::string format;
  uint64_t virtual_size = 0;
  std::string backing_file;  // empty if none
  std::string data_file;     // external data file; empty if none
  bool encrypted = false;
  bool corrupt = false;
};

// Parses `qemu-img info --output=json`. INVALID_ARGUMENT if it is not the
// JSON object qemu-img writes.
absl::StatusOr<QemuImgInfo> ParseQemuImgInfo(absl::string_view json);

// OK if the image is safe to convert: qcow2, no backing file and no external
// data file (either would make qemu-img read other host files), not
// encrypted, not marked corrupt, and a virtual size in 1..max_virtual_size.
// INVALID_ARGUMENT naming the problem otherwise.
absl::Status CheckQcow2IsSafe(const QemuImgInfo& info, uint64_t max_virtual_size);

// What `qemu-img check --output=json` found.
struct QemuImgCheck {
  uint64_t corruptions = 0;
  uint64_t check_errors = 0;  // the check itself could not read something
  uint64_t leaks = 0;         // unreferenced clusters: harmless
};

// Parses `qemu-img check --output=json`. INVALID_ARGUMENT if it is not the
// JSON object qemu-img writes.
absl::StatusOr<QemuImgCheck> ParseQemuImgCheck(absl::string_view json);

// Reads the progress that `qemu-img convert -p` prints ("    (42.50/100%)\r")
// from its stdout, in pieces as they arrive.
class QemuImgProgressParser {
 public:
  // The latest complete progress report seen so far, as a fraction 0..1,
  // if `chunk` completed one.
  std::optional<double> Feed(absl::string_view chunk);

 private:
  std::string pending_;
};

// `qemu-img info -f qcow2 --output=json PATH`, under resource limits (1 GiB
// of address space, 30 s of CPU, no file written: a hostile image must not
// exhaust the host),
// killed at once if `cancel` fires (then CANCELLED). INVALID_ARGUMENT if
// qemu-img cannot read the image (truncated, not qcow2).
absl::StatusOr<QemuImgInfo> InspectQcow2(const std::string& qemu_img, const std::string& path,
                                         CancelToken& cancel);

// `qemu-img check -f qcow2 --output=json PATH` under the same limits as
// InspectQcow2: OK if the image's metadata is consistent (leaked clusters
// are harmless). INVALID_ARGUMENT for a corrupt or truncated image, whose
// missing clusters qemu-img convert would silently read as zeros; CANCELLED
// if `cancel` fires.
absl::Status CheckQcow2Consistency(const std::string& qemu_img, const std::string& path,
                                   CancelToken& cancel);

// `qemu-img convert -p -f qcow2 -O raw -n --target-is-zero -t none -W PATH
// DEVICE`: writes the image's data into the fresh (all-zero) zvol `device`,
// skipping zero blocks, with O_DIRECT and a final flush. Reports progress
// (0..1) through `on_progress`. Killed at once if `cancel` fires (then
// CANCELLED); INTERNAL with qemu-img's message if it fails.
absl::Status ConvertQcow2ToDevice(const std::string& qemu_img, const std::string& path,
                                  const std::string& device, CancelToken& cancel,
                                  const std::function<void(double)>& on_progress);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_QEMU_IMG_H_
