// The first record of a ZFS send stream (DRR_BEGIN), read by mvirt-zfs
// before it hands a stream to the kernel: to know what the stream is (full
// or incremental, of which snapshot, from which base) and to refuse what it
// must not receive (a stream of another kind than a zvol's, features it
// does not know, a package of several streams) before ZFS sees any of it.
//
// Pure logic (no libzfs headers): the record's layout is the kernel's
// stream format (OpenZFS 2.1 include/sys/zfs_ioctl.h, dmu_replay_record_t),
// mirrored here field by field with its offsets checked at compile time.
#ifndef MVIRT_ZFS_ZFS_SEND_STREAM_H_
#define MVIRT_ZFS_ZFS_SEND_STREAM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

// Bytes of the BEGIN record: a stream's first bytes.
inline constexpr size_t kSendStreamBeginBytes = 312;

// DMU_BACKUP_FEATURE_RESUMING: the stream is the rest of an interrupted one.
inline constexpr uint64_t kSendFeatureResuming = 1 << 20;

struct SendStreamBegin {
  // The record as read, handed to the kernel unchanged (it checksums it).
  std::array<char, kSendStreamBeginBytes> record{};
  uint64_t toguid = 0;    // guid of the snapshot the stream makes
  uint64_t fromguid = 0;  // guid of its base snapshot; 0 for a full stream
  std::string toname;     // the sender's full snapshot name, "pool/vol@snap"
  uint64_t features = 0;  // DMU_BACKUP_FEATURE_* bits
  bool clone = false;     // incremental from a snapshot of another dataset
  bool resuming = false;  // the rest of an interrupted stream

  bool incremental() const { return fromguid != 0; }
};

// Parses a stream's first kSendStreamBeginBytes bytes. INVALID_ARGUMENT,
// saying why, unless they are the BEGIN record of a single zvol's stream in
// this machine's byte order with only features this ZFS (2.1) knows.
absl::StatusOr<SendStreamBegin> ParseSendStreamBegin(absl::string_view record);

// The BEGIN record of a stream of snapshot `toname` (guid `toguid`), full if
// `fromguid` is 0: what FakeZfs sends, and what tests parse.
std::string MakeSendStreamBegin(uint64_t toguid, uint64_t fromguid, const std::string& toname,
                                uint64_t features);

// Zfs::SendSnapshot's argument check, before any ZFS call: INVALID_ARGUMENT
// unless `snapshot` names a snapshot ("pool/v@s") and `from` is "" or a
// snapshot of the same dataset.
absl::Status CheckSendBase(const std::string& snapshot, const std::string& from);

// The status of a send of `snapshot` from `from` that failed with `err`
// (an errno or ZFS_ERR_*), naming what was wrong. `from_exists`: whether
// `from` exists (which snapshot ENOENT means).
absl::Status SendFailure(int err, const std::string& snapshot, const std::string& from,
                         bool from_exists);

// Zfs::ReceiveSnapshot's argument check, before any ZFS call:
// INVALID_ARGUMENT unless `target` names a snapshot and `local_props` is
// empty for an incremental or resuming stream.
absl::Status CheckReceiveTarget(const SendStreamBegin& begin, const std::string& target,
                                const std::map<std::string, std::string>& local_props);

// INVALID_ARGUMENT: a resume token that ResumeSend cannot use, and why.
absl::Status ResumeRefusal(const std::string& dataset, absl::string_view why);

// The base snapshot's name ("" for a full stream) of the send that a resume
// token describes (snapshot `toname` with guid `toguid`, base guid
// `fromguid` or 0), given the snapshots of `dataset` (name, guid): the
// token must name one of them that still has its guid, and one must have
// the base's guid. INVALID_ARGUMENT, NOT_FOUND or FAILED_PRECONDITION as
// Zfs::ResumeSend says.
absl::StatusOr<std::string> ResumeBase(
    const std::string& dataset, const std::vector<std::pair<std::string, uint64_t>>& snapshots,
    const std::string& toname, uint64_t toguid, uint64_t fromguid);

// The status of a receive of `begin`'s stream as `target` that failed with
// `err` (an errno or ZFS_ERR_*), naming what was wrong with the target and
// whether what arrived was kept (`partial_kept`: a failure at the end of a
// receive leaves the partial state, as a cut stream does) or nothing
// changed.
absl::Status ReceiveFailure(int err, const SendStreamBegin& begin, const std::string& target,
                            bool partial_kept);

// The largest packed resume nvlist a token may announce: real tokens are
// well under 1 KiB, and libzfs allocates what the token says before it
// checks anything.
inline constexpr size_t kMaxResumeTokenPayload = 64 * 1024;

// True if `token` has the shape of a ZFS resume token with a payload of at
// most kMaxResumeTokenPayload: checked before libzfs decodes a token that
// a client sent.
bool LooksLikeResumeToken(const std::string& token);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_ZFS_SEND_STREAM_H_
