// Where an import reads its image from, and the policy deciding which sources
// a caller may name. A root daemon must not read arbitrary host files or
// fetch over plain HTTP for a caller.
//
// A local file is opened once, here, and the open file is what is checked
// and later read: nothing can swap the path in between.
#ifndef MVIRT_ZFS_IMPORT_IMPORT_SOURCE_H_
#define MVIRT_ZFS_IMPORT_IMPORT_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "import/import_options.h"

namespace mvirt::zfs {

struct ImportSource {
  enum class Kind { kLocalFile, kUrl };
  Kind kind = Kind::kLocalFile;
  // kLocalFile: the path as given, lexically normalized (informational: the
  // file is read through `file`, never through this path). kUrl: the URL.
  std::string location;
  // What logs, job records and events show: a path as given; a URL without
  // its credentials and query (see DisplayUrl).
  std::string display;
  // kLocalFile: the source file, open for blocking reads. Copies share it;
  // the last one closes it. Null for a URL.
  std::shared_ptr<const UniqueFd> file;
};

// How a local path is opened below its import directory: kAuto uses
// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) and
// falls back to kWalk on kernels without it (ENOSYS, before Linux 5.6);
// kWalk opens one component at a time with openat(O_NOFOLLOW) from the
// directory's descriptor. Both refuse every symlink below the directory.
enum class PathResolver { kAuto, kWalk };

// Checks `source` (as a caller sent it) against `options`:
//  - an absolute path must lie inside one of options.import_dirs as written
//    (after lexically_normal; symlinks are not resolved), else
//    PERMISSION_DENIED "outside the import directories", without looking at
//    the file. It is then opened below that directory (the directory itself
//    may be a symlink set up by the administrator) with `resolver`:
//    PERMISSION_DENIED if a symbolic link lies on the way below the
//    directory, or if the file has other hard links (one could lead out of
//    the directory); NOT_FOUND if it does not exist; INVALID_ARGUMENT if it
//    is not a regular file (a FIFO does not block). The opened file is in
//    ImportSource::file. No message names any path but `source` and the
//    import directories;
//  - https://HOST/... is accepted; http:// only with options.allow_http
//    (else PERMISSION_DENIED); other schemes, relative paths, an empty source
//    or control characters: INVALID_ARGUMENT.
absl::StatusOr<ImportSource> ResolveImportSource(const std::string& source,
                                                 const ImportOptions& options,
                                                 PathResolver resolver = PathResolver::kAuto);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_IMPORT_SOURCE_H_
