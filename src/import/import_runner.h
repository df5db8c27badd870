// RunImport: one image import from start to end, on the calling thread.
//
// The format comes from the first bytes of the source (file or body):
//   raw   -> WRITING: stream the bytes into a staging zvol (of the image's
//            size; for a body of unknown length, of the largest allowed
//            size, trimmed to the length at the end)
//   qcow2 -> DOWNLOADING: a private copy in <state_dir>/tmp (from a local
//            file too: qemu-img then reads exactly what was checked), if it
//            fits there with a margin (free_space.h), then
//            CONVERTING: the header checked in-process (qcow2_header.h),
//            then qemu-img info and check (refuse unsafe, corrupt or
//            truncated images), qemu-img convert into the staging zvol;
//            qemu-img only ever runs sandboxed (qemu_img_sandbox.h)
// then: flush, verify the expected SHA-256 of the source (if any), and
// CompleteStagingVolume (snapshot + rename into templates/).
//
// On any failure or cancellation nothing is left behind: the staging zvol
// and the temporary file are removed before it returns.
#ifndef MVIRT_ZFS_IMPORT_IMPORT_RUNNER_H_
#define MVIRT_ZFS_IMPORT_IMPORT_RUNNER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/cancel_token.h"
#include "import/import_job.h"
#include "import/import_options.h"
#include "import/import_source.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {

// What one import is asked to do (already validated).
struct ImportSpec {
  std::string job_id;
  std::string template_name;
  std::string template_id;
  // A local source is read through source.file, never reopened by path.
  ImportSource source;
  std::optional<uint64_t> size_bytes;  // at least this large (else the image's size)
  std::string sha256;                  // expected digest, lowercase hex; empty: none
};

// How a running import reports what it does (the import manager turns it
// into job state and events). Called from the import's thread.
class ImportProgress {
 public:
  virtual ~ImportProgress() = default;
  virtual void EnterState(ImportState state) = 0;
  virtual void SetFormat(const std::string& format) = 0;
  // Bytes received so far, and the length the server announced (0: none).
  virtual void SetDownloaded(uint64_t bytes, uint64_t announced) = 0;
  // The size of the disk image being written, once known (called once).
  virtual void SetTotal(uint64_t total_bytes) = 0;
  // Bytes of the disk image written so far.
  virtual void SetWritten(uint64_t bytes) = 0;
};

// Runs `spec` to its end. Returns the completed template, or why it failed:
// CANCELLED once `cancel` fired, INVALID_ARGUMENT for an image that cannot
// be imported (format, unsafe qcow2, too large, checksum mismatch),
// RESOURCE_EXHAUSTED if the private copy of a qcow2 would not fit,
// FAILED_PRECONDITION if qemu-img cannot run sandboxed, UNAVAILABLE for
// download and I/O errors, and the ZFS errors of the volume layer.
absl::StatusOr<TemplateInfo> RunImport(const ImportSpec& spec, const ImportOptions& options,
                                       VolumeManager& volumes, CancelToken& cancel,
                                       ImportProgress& progress);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_IMPORT_RUNNER_H_
