#include "zfs/send_stream.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "zfs/error_mapping.h"

namespace mvirt::zfs {
namespace {

// The stream format of OpenZFS 2.1 (include/sys/zfs_ioctl.h): a record is a
// 32-bit type, a 32-bit payload length and a 304-byte union, whose BEGIN
// member is laid out as below.
struct BeginLayout {
  uint32_t record_type;  // DRR_BEGIN = 0
  uint32_t payload_length;
  uint64_t magic;
  uint64_t versioninfo;  // bits 0-1: header type; bits 2-31: feature flags
  uint64_t creation_time;
  uint32_t objset_type;  // dmu_objset_type_t
  uint32_t flags;
  uint64_t toguid;
  uint64_t fromguid;
  char toname[256];  // MAXNAMELEN
};
static_assert(offsetof(BeginLayout, magic) == 8);
static_assert(offsetof(BeginLayout, objset_type) == 32);
static_assert(offsetof(BeginLayout, toguid) == 40);
static_assert(offsetof(BeginLayout, toname) == 56);
static_assert(sizeof(BeginLayout) == kSendStreamBeginBytes);

constexpr uint32_t kRecordBegin = 0;
constexpr uint64_t kMagic = 0x2F5bacbacULL;
constexpr uint64_t kSubstream = 1;  // a single dataset's stream (not a package)
constexpr uint32_t kObjsetZvol = 3;
constexpr uint32_t kFlagClone = 1 << 0;
constexpr uint64_t kFeatureRedacted = 1 << 21;
// DMU_BACKUP_FEATURE_MASK of 2.1 (what its kernel receives) without
// REDACTED: SA_SPILL, EMBED_DATA, LZ4, LARGE_BLOCKS, RESUMING, COMPRESSED,
// LARGE_DNODE, RAW, ZSTD, HOLDS, SWITCH_TO_LARGE_BLOCKS.
constexpr uint64_t kKnownFeatures = (1 << 2) | (1 << 16) | (1 << 17) | (1 << 19) | (1 << 20) |
                                    (1 << 22) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26) |
                                    (1 << 27);

absl::Status Refuse(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("not a zvol's send stream: ", why));
}

}  // namespace

absl::StatusOr<SendStreamBegin> ParseSendStreamBegin(absl::string_view record) {
  if (record.size() != kSendStreamBeginBytes) {
    return Refuse(absl::StrCat("it ends after ", record.size(), " bytes, before its first record"));
  }
  BeginLayout raw;
  std::memcpy(&raw, record.data(), sizeof(raw));
  if (raw.magic == __builtin_bswap64(kMagic)) {
    return Refuse("it was made on a machine of the other byte order");
  }
  if (raw.record_type != kRecordBegin || raw.magic != kMagic) {
    return Refuse("its first record is not a BEGIN record (wrong magic number)");
  }
  if ((raw.versioninfo & 3) != kSubstream) {
    return Refuse("it is a package of several streams (zfs send -R or -p), not one dataset's");
  }
  const uint64_t features = (raw.versioninfo >> 2) & 0x3fffffff;
  if (features & kFeatureRedacted) return Refuse("it is a redacted stream");
  if (uint64_t unknown = features & ~kKnownFeatures; unknown != 0) {
    return Refuse(absl::StrFormat("it uses features unknown to ZFS 2.1 (flags 0x%x)", unknown));
  }
  if (raw.objset_type != kObjsetZvol) {
    return Refuse(absl::StrCat("it is of a dataset of type ", raw.objset_type, ", not a zvol (3)"));
  }
  if (std::memchr(raw.toname, '\0', sizeof(raw.toname)) == nullptr) {
    return Refuse("its snapshot name is not terminated");
  }
  SendStreamBegin begin;
  std::memcpy(begin.record.data(), record.data(), record.size());
  begin.toguid = raw.toguid;
  begin.fromguid = raw.fromguid;
  begin.toname = raw.toname;
  begin.features = features;
  begin.clone = (raw.flags & kFlagClone) != 0;
  begin.resuming = (features & kSendFeatureResuming) != 0;
  if (begin.toname.find('@') == std::string::npos) {
    return Refuse(absl::StrCat("its snapshot name '", begin.toname, "' names no snapshot"));
  }
  return begin;
}

std::string MakeSendStreamBegin(uint64_t toguid, uint64_t fromguid, const std::string& toname,
                                uint64_t features) {
  BeginLayout raw{};
  raw.record_type = kRecordBegin;
  raw.magic = kMagic;
  raw.versioninfo = kSubstream | (features << 2);
  raw.objset_type = kObjsetZvol;
  raw.toguid = toguid;
  raw.fromguid = fromguid;
  toname.copy(raw.toname, sizeof(raw.toname) - 1);
  return std::string(reinterpret_cast<const char*>(&raw), sizeof(raw));
}

absl::Status CheckSendBase(const std::string& snapshot, const std::string& from) {
  const size_t at = snapshot.find('@');
  if (at == std::string::npos || at == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("send snapshot '", snapshot, "': not a snapshot name"));
  }
  if (!from.empty() &&
      (from.size() <= at + 1 || from.compare(0, at + 1, snapshot, 0, at + 1) != 0)) {
    return absl::InvalidArgumentError(absl::StrCat("send snapshot '", snapshot, "': '", from,
                                                   "' is not a snapshot of the same dataset"));
  }
  return absl::OkStatus();
}

absl::Status SendFailure(int err, const std::string& snapshot, const std::string& from,
                         bool from_exists) {
  if (err == ENOENT) {
    const std::string& missing = from.empty() || from_exists ? snapshot : from;
    return absl::NotFoundError(
        absl::StrCat("send snapshot '", snapshot, "': '", missing, "' does not exist"));
  }
  if (err == EXDEV) {
    return absl::InvalidArgumentError(absl::StrCat("send snapshot '", snapshot, "': '", from,
                                                   "' is not an earlier snapshot of it"));
  }
  return ZfsErrnoStatus(ZfsOp::kSend, err, "send snapshot", snapshot);
}

absl::Status CheckReceiveTarget(const SendStreamBegin& begin, const std::string& target,
                                const std::map<std::string, std::string>& local_props) {
  const size_t at = target.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == target.size()) {
    return absl::InvalidArgumentError(absl::StrCat("receive '", target, "': not a snapshot name"));
  }
  if ((begin.incremental() || begin.resuming) && !local_props.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "receive '", target, "': properties are set only by the first receive of a full stream"));
  }
  return absl::OkStatus();
}

absl::Status ReceiveFailure(int err, const SendStreamBegin& begin, const std::string& target,
                            bool partial_kept) {
  const std::string dataset = target.substr(0, target.find('@'));
  const std::string prefix = absl::StrCat("receive '", target, "': ");
  // A receive refused at its end (the target written or snapshotted
  // meanwhile) keeps what arrived, as a cut stream does.
  const std::string outcome =
      partial_kept ? absl::StrCat("; what arrived is kept: resume it with the token of '", dataset,
                                  "', or abort it")
                   : std::string("; nothing was changed");
  switch (err) {
    case ETXTBSY:
      return absl::FailedPreconditionError(absl::StrCat(
          prefix, "'", dataset, "' was written since the stream's base snapshot", outcome));
    case ENODEV:
      return absl::FailedPreconditionError(
          absl::StrCat(prefix, "'", dataset, "' has no snapshot with guid ", begin.fromguid,
                       ", the stream's base", outcome));
    case EEXIST:
      return absl::AlreadyExistsError(
          absl::StrCat(prefix, begin.incremental() ? "the snapshot" : "the dataset",
                       " already exists", outcome));
    case ENOENT:
      if (begin.resuming) {
        return absl::NotFoundError(
            absl::StrCat(prefix, "'", dataset, "' holds no interrupted receive to resume"));
      }
      return absl::NotFoundError(absl::StrCat(
          prefix, begin.incremental() ? absl::StrCat("'", dataset, "' does not exist")
                                      : std::string("the parent dataset does not exist")));
    case EBUSY:
      return absl::FailedPreconditionError(absl::StrCat(
          prefix, "'", dataset,
          "' is busy: it holds an interrupted receive (resume or abort it first), or it is "
          "being received, sent or destroyed"));
    case kZfsErrStreamTruncated:
      return absl::AbortedError(absl::StrCat(
          prefix, "the stream ended early; what arrived is kept: resume it with the token of '",
          dataset, "', or abort it"));
    default: {
      absl::Status s = ZfsErrnoStatus(ZfsOp::kReceive, err, "receive", target);
      return partial_kept ? absl::Status(s.code(), absl::StrCat(s.message(), outcome)) : s;
    }
  }
}

bool LooksLikeResumeToken(const std::string& token) {
  // "<version>-<checksum>-<packed length>-<hex of the zlib-compressed
  // packed nvlist>" (dsl_dataset.c, get_receive_resume_stats_impl).
  const std::vector<std::string> parts = absl::StrSplit(token, absl::MaxSplits('-', 3));
  auto hex = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos;
  };
  if (parts.size() != 4 || parts[0] != "1" || !hex(parts[1]) || parts[1].size() > 16 ||
      !hex(parts[2]) || parts[2].size() > 8 || !hex(parts[3]) || parts[3].size() % 2 != 0 ||
      parts[3].size() > 2 * kMaxResumeTokenPayload) {
    return false;
  }
  return std::stoull(parts[2], nullptr, 16) <= kMaxResumeTokenPayload;
}

absl::Status ResumeRefusal(const std::string& dataset, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("resume the send of '", dataset, "': ", why));
}

absl::StatusOr<std::string> ResumeBase(
    const std::string& dataset, const std::vector<std::pair<std::string, uint64_t>>& snapshots,
    const std::string& toname, uint64_t toguid, uint64_t fromguid) {
  const std::string prefix = absl::StrCat("resume the send of '", dataset, "': ");
  if (toname.compare(0, dataset.size() + 1, dataset + "@") != 0) {
    return ResumeRefusal(dataset, absl::StrCat("the token is of '", toname, "'"));
  }
  std::string from;
  bool found = false;
  for (const auto& [name, guid] : snapshots) {
    if (name == toname && guid != toguid) {
      return absl::FailedPreconditionError(absl::StrCat(
          prefix, "'", toname, "' is no longer the snapshot the interrupted send was of"));
    }
    found = found || name == toname;
    if (fromguid != 0 && guid == fromguid) from = name;
  }
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat(prefix, "'", toname, "', the snapshot it was of, no longer exists"));
  }
  if (fromguid != 0 && from.empty()) {
    return absl::NotFoundError(
        absl::StrCat(prefix, "its base snapshot (guid ", fromguid, ") no longer exists"));
  }
  return from;
}

}  // namespace mvirt::zfs
