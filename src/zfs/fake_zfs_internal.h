// Internal to FakeZfs: dataset-name arithmetic and the messages that LibZfs
// builds outside error_mapping.cc (libzfs's descriptions, the refusals of
// channel_programs.cc), kept word for word.
#ifndef MVIRT_ZFS_ZFS_FAKE_ZFS_INTERNAL_H_
#define MVIRT_ZFS_ZFS_FAKE_ZFS_INTERNAL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs::fake_internal {

// "pool/a/b@s" -> "pool".
inline std::string PoolOf(absl::string_view name) {
  return std::string(name.substr(0, name.find_first_of("/@#")));
}

// "pool/a/b" -> "pool/a"; "" for a pool's root.
inline std::string ParentOf(absl::string_view name) {
  size_t slash = name.rfind('/');
  return slash == absl::string_view::npos ? "" : std::string(name.substr(0, slash));
}

// "pool/a@s" -> "pool/a" (the whole name if there is no `mark`).
inline std::string HeadOf(absl::string_view name, char mark = '@') {
  return std::string(name.substr(0, name.find(mark)));
}

// "pool/a@s" -> "s" ("" if there is no `mark`).
inline std::string TailOf(absl::string_view name, char mark = '@') {
  size_t at = name.find(mark);
  return at == absl::string_view::npos ? "" : std::string(name.substr(at + 1));
}

// True for "pool/a/b" below "pool/a" (not for "pool/a" itself).
inline bool IsBelow(absl::string_view name, absl::string_view ancestor) {
  return name.size() > ancestor.size() && name.substr(0, ancestor.size()) == ancestor &&
         name[ancestor.size()] == '/';
}

// User properties have a ':' in their name ("mvirt:id").
inline bool IsUserProperty(absl::string_view key) {
  return key.find(':') != absl::string_view::npos;
}

// libzfs's descriptions of a failed zfs_open (libzfs_error_description).
inline constexpr char kNoDataset[] = "dataset does not exist";
inline constexpr char kBadType[] = "operation not applicable to datasets of this type";

// A libzfs failure as LibZfs::LastError words it: "<what> '<object>': <desc>".
inline absl::Status LibzfsError(absl::StatusCode code, absl::string_view what,
                                absl::string_view object, absl::string_view description) {
  return absl::Status(code, absl::StrCat(what, " '", object, "': ", description));
}

// channel_programs.cc's Refusal texts for `what` on `dataset` refused by the
// check of `culprit` (a snapshot) or of the dataset itself.
inline std::string SnapshotHeldText(absl::string_view what, absl::string_view dataset,
                                    absl::string_view culprit) {
  return absl::StrCat(what, " '", dataset, "': snapshot '", culprit,
                      "' is held or in use (e.g. being sent)");
}
inline std::string SnapshotClonedText(absl::string_view what, absl::string_view dataset,
                                      absl::string_view culprit) {
  return absl::StrCat(what, " '", dataset, "': snapshot '", culprit, "' has clones");
}
inline std::string DatasetOpenText(absl::string_view what, absl::string_view dataset) {
  return absl::StrCat(what, " '", dataset, "': the dataset is in use (its device is open)");
}
// The kernel's EEXIST on the dataset itself.
inline std::string DatasetExistText(absl::string_view what, absl::string_view dataset) {
  return absl::StrCat(
      what, " '", dataset,
      "': it has a bookmark newer than its latest snapshot, so whether its device is "
      "open cannot be checked in the same transaction; take a snapshot or destroy "
      "the bookmark first");
}

}  // namespace mvirt::zfs::fake_internal

#endif  // MVIRT_ZFS_ZFS_FAKE_ZFS_INTERNAL_H_
