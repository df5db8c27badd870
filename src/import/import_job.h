// The plain value types of an image import: its state machine and its
// record, as ImportManager keeps it, JobStore saves it and template events
// carry it. No protos; the gRPC layer converts them (src/service/convert.h).
#ifndef MVIRT_ZFS_IMPORT_IMPORT_JOB_H_
#define MVIRT_ZFS_IMPORT_IMPORT_JOB_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "volume/volume_types.h"

namespace mvirt::zfs {

// PENDING -> [DOWNLOADING] -> CONVERTING (qcow2) | WRITING (raw) -> COMPLETED,
// or FAILED / CANCELLED from any state before COMPLETED.
enum class ImportState {
  kPending,
  kDownloading,  // fetching into a temporary file (nothing written yet)
  kConverting,   // qemu-img inspects the qcow2 image and writes it
  kWriting,      // raw data streamed into the zvol
  kCompleted,
  kFailed,
  kCancelled,
};

// True for COMPLETED, FAILED and CANCELLED.
bool IsFinished(ImportState state);
// "PENDING", "DOWNLOADING", ...
absl::string_view ImportStateName(ImportState state);
// The inverse of ImportStateName; nullopt for anything else.
std::optional<ImportState> ParseImportState(absl::string_view name);

// The record of an image import (kept by ImportManager and JobStore, carried
// by template events).
struct ImportJobInfo {
  std::string id;
  std::string template_name;
  std::string template_id;  // the id the template gets (its events carry it)
  std::string source;       // as the caller gave it, URL credentials redacted
  ImportState state = ImportState::kPending;
  // Bytes of the image's disk written into the zvol (zero blocks count: the
  // fresh zvol holds them already) out of the disk's size; total is 0 until
  // known. Never decreasing; never written > total.
  uint64_t bytes_written = 0;
  uint64_t total_bytes = 0;
  // DOWNLOADING: bytes received, out of the length the server announced (0
  // if it announced none).
  uint64_t downloaded_bytes = 0;
  uint64_t download_total_bytes = 0;
  std::string format;                  // "raw" or "qcow2" once detected
  std::optional<uint64_t> size_bytes;  // the size the caller asked for
  std::string sha256;                  // the expected digest, if given
  std::optional<std::string> error;    // FAILED: why
  // COMPLETED: the template as it was when the import completed.
  std::optional<TemplateInfo> template_info;
  int64_t created_at = 0;               // Unix seconds
  std::optional<int64_t> completed_at;  // when it finished
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_IMPORT_JOB_H_
