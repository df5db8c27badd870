// Where an import reads its image from, and the policy deciding which sources
// a caller may name. A root daemon must not read arbitrary host files or
// fetch over plain HTTP for a caller.
#ifndef MVIRT_ZFS_IMPORT_IMPORT_SOURCE_H_
#define MVIRT_ZFS_IMPORT_IMPORT_SOURCE_H_

#include <string>

#include "absl/status/statusor.h"
#include "import/import_options.h"

namespace mvirt::zfs {

struct ImportSource {
  enum class Kind { kLocalFile, kUrl };
  Kind kind = Kind::kLocalFile;
  // kLocalFile: the canonical path (symlinks resolved). kUrl: the URL.
  std::string location;
  // What logs, job records and events show: a path as given; a URL without
  // its credentials and query (see DisplayUrl).
  std::string display;
};

// Checks `source` (as a caller sent it) against `options`:
//  - an absolute path must resolve (symlinks and ".." included) to a regular
//    file inside one of options.import_dirs: PERMISSION_DENIED if it lies
//    outside (without revealing whether it exists), NOT_FOUND if it does not
//    exist inside, INVALID_ARGUMENT if it is not a regular file;
//  - https://HOST/... is accepted; http:// only with options.allow_http
//    (else PERMISSION_DENIED); other schemes, relative paths, an empty source
//    or control characters: INVALID_ARGUMENT.
absl::StatusOr<ImportSource> ResolveImportSource(const std::string& source,
                                                 const ImportOptions& options);

// Opens the regular file `path` (a location from ResolveImportSource) for
// reading: without following a symbolic link anywhere on the path, without
// blocking on a FIFO, and checked (CheckOpenedFileAllowed) on the opened
// file. Returns the descriptor, which the caller closes.
absl::StatusOr<int> OpenImportFile(const std::string& path, const ImportOptions& options);

// OK if the file open as `fd` lies inside options.import_dirs (checked on the
// open file itself, so a symlink swapped in after ResolveImportSource cannot
// redirect the read); PERMISSION_DENIED otherwise.
absl::Status CheckOpenedFileAllowed(int fd, const ImportOptions& options);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_IMPORT_SOURCE_H_
