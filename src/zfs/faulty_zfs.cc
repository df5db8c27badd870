#include "zfs/faulty_zfs.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace mvirt::zfs {

namespace {

constexpr std::array<absl::string_view, 34> kNames = {"GetPool",
                                                      "Exists",
                                                      "GetVolume",
                                                      "ListVolumes",
                                                      "ListSnapshots",
                                                      "CreateVolume",
                                                      "SetVolsize",
                                                      "DestroySnapshots",
                                                      "GetSnapshot",
                                                      "Snapshot",
                                                      "Rollback",
                                                      "Clone",
                                                      "SetProperty",
                                                      "Rename",
                                                      "EnsureHiddenFilesystem",
                                                      "CopySnapshot",
                                                      "DeferDestroySnapshots",
                                                      "DestroyWithSnapshots",
                                                      "ScanVolumes",
                                                      "TakeSnapshots",
                                                      "SendSnapshot",
                                                      "ReceiveSnapshot",
                                                      "ReceiveResumeToken",
                                                      "AbortReceive",
                                                      "ResumeSend",
                                                      "Hold",
                                                      "Release",
                                                      "DescribeResumeToken",
                                                      "SendSize",
                                                      "Holds",
                                                      "GetSpace",
                                                      "ClearUserProperty",
                                                      "ScanVolumesNamed",
                                                      "ReadPoolHistory"};

const std::string& First(const std::vector<std::string>& names) {
  static const std::string* const kNone = new std::string();
  return names.empty() ? *kNone : names.front();
}

}  // namespace

absl::string_view ZfsCallName(ZfsCall call) { return kNames[static_cast<size_t>(call)]; }

bool IsMutation(ZfsCall call) {
  switch (call) {
    case ZfsCall::kGetPool:
    case ZfsCall::kExists:
    case ZfsCall::kGetVolume:
    case ZfsCall::kListVolumes:
    case ZfsCall::kScanVolumes:
    case ZfsCall::kScanVolumesNamed:
    case ZfsCall::kReadPoolHistory:
    case ZfsCall::kListSnapshots:
    case ZfsCall::kGetSnapshot:
    case ZfsCall::kSendSnapshot:
    case ZfsCall::kReceiveResumeToken:
    case ZfsCall::kResumeSend:
    case ZfsCall::kDescribeResumeToken:
    case ZfsCall::kSendSize:
    case ZfsCall::kHolds:
    case ZfsCall::kGetSpace:
      return false;
    default:
      return true;
  }
}

std::string ZfsCallRecord::ToString() const { return absl::StrCat(ZfsCallName(call), " ", arg); }

void FaultyZfs::FailCall(int n, absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_nth_[n] = std::move(status);
}

void FaultyZfs::FailCall(ZfsCall call, int n, absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_nth_of_[{call, n}] = std::move(status);
}

void FaultyZfs::CrashAfterCall(int n) {
  absl::MutexLock lock(&mu_);
  crash_after_ = n;
}

void FaultyZfs::CrashAfterCall(ZfsCall call, int n) {
  absl::MutexLock lock(&mu_);
  crash_after_of_ = std::make_pair(call, n);
}

bool FaultyZfs::crashed() const {
  absl::MutexLock lock(&mu_);
  return crashed_;
}

std::vector<ZfsCallRecord> FaultyZfs::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

void FaultyZfs::Reset() {
  absl::MutexLock lock(&mu_);
  calls_.clear();
  per_call_.clear();
  fail_nth_.clear();
  fail_nth_of_.clear();
  crash_after_ = 0;
  crash_after_of_.reset();
  crashed_ = false;
}

std::optional<absl::Status> FaultyZfs::Enter(ZfsCall call, const std::string& arg) {
  absl::MutexLock lock(&mu_);
  calls_.push_back({call, arg});
  const int n = static_cast<int>(calls_.size());
  const int n_of = ++per_call_[call];
  if (crashed_) {
    return absl::UnavailableError(
        absl::StrCat(ZfsCallName(call), " '", arg, "': the daemon has crashed (FaultyZfs)"));
  }
  if (auto it = fail_nth_.find(n); it != fail_nth_.end()) return it->second;
  if (auto it = fail_nth_of_.find({call, n_of}); it != fail_nth_of_.end()) return it->second;
  return std::nullopt;
}

void FaultyZfs::Leave(ZfsCall call) {
  absl::MutexLock lock(&mu_);
  const int n = static_cast<int>(calls_.size());
  if (crash_after_ == n) crashed_ = true;
  if (crash_after_of_.has_value() && crash_after_of_->first == call &&
      crash_after_of_->second == per_call_[call]) {
    crashed_ = true;
  }
}

template <typename T, typename F>
T FaultyZfs::Call(ZfsCall call, const std::string& arg, F fn) {
  if (std::optional<absl::Status> failure = Enter(call, arg); failure.has_value()) {
    return T(*std::move(failure));
  }
  T result = fn();
  Leave(call);
  return result;
}

absl::StatusOr<PoolProps> FaultyZfs::GetPool(const std::string& pool) {
  return Call<absl::StatusOr<PoolProps>>(ZfsCall::kGetPool, pool,
                                         [&] { return base_.GetPool(pool); });
}

absl::StatusOr<DatasetSpace> FaultyZfs::GetSpace(const std::string& dataset) {
  return Call<absl::StatusOr<DatasetSpace>>(ZfsCall::kGetSpace, dataset,
                                            [&] { return base_.GetSpace(dataset); });
}

bool FaultyZfs::Exists(const std::string& name) {
  if (Enter(ZfsCall::kExists, name).has_value()) return false;
  const bool exists = base_.Exists(name);
  Leave(ZfsCall::kExists);
  return exists;
}

absl::StatusOr<VolumeProps> FaultyZfs::GetVolume(const std::string& name) {
  return Call<absl::StatusOr<VolumeProps>>(ZfsCall::kGetVolume, name,
                                           [&] { return base_.GetVolume(name); });
}

absl::StatusOr<std::vector<VolumeProps>> FaultyZfs::ListVolumes(const std::string& parent) {
  return Call<absl::StatusOr<std::vector<VolumeProps>>>(ZfsCall::kListVolumes, parent,
                                                        [&] { return base_.ListVolumes(parent); });
}

absl::StatusOr<std::vector<VolumeDigest>> FaultyZfs::ScanVolumes(const std::string& parent,
                                                                 const std::string& id_property) {
  return Call<absl::StatusOr<std::vector<VolumeDigest>>>(
      ZfsCall::kScanVolumes, parent, [&] { return base_.ScanVolumes(parent, id_property); });
}

absl::StatusOr<std::vector<VolumeDigest>> FaultyZfs::ScanVolumesNamed(
    const std::string& parent, const std::vector<std::string>& names,
    const std::string& id_property) {
  return Call<absl::StatusOr<std::vector<VolumeDigest>>>(
      ZfsCall::kScanVolumesNamed, First(names),
      [&] { return base_.ScanVolumesNamed(parent, names, id_property); });
}

absl::StatusOr<PoolHistoryPage> FaultyZfs::ReadPoolHistory(const std::string& pool,
                                                           const PoolHistoryPosition& from,
                                                           size_t max_events) {
  return Call<absl::StatusOr<PoolHistoryPage>>(ZfsCall::kReadPoolHistory, pool, [&] {
    return base_.ReadPoolHistory(pool, from, max_events);
  });
}

absl::StatusOr<std::vector<SnapshotProps>> FaultyZfs::ListSnapshots(const std::string& name) {
  return Call<absl::StatusOr<std::vector<SnapshotProps>>>(
      ZfsCall::kListSnapshots, name, [&] { return base_.ListSnapshots(name); });
}

absl::Status FaultyZfs::CreateVolume(const std::string& name, uint64_t volsize,
                                     uint64_t volblocksize, const UserProps& user_props) {
  return Call<absl::Status>(ZfsCall::kCreateVolume, name, [&] {
    return base_.CreateVolume(name, volsize, volblocksize, user_props);
  });
}

absl::Status FaultyZfs::SetVolsize(const std::string& name, uint64_t volsize) {
  return Call<absl::Status>(ZfsCall::kSetVolsize, name,
                            [&] { return base_.SetVolsize(name, volsize); });
}

absl::Status FaultyZfs::DestroySnapshots(const std::vector<std::string>& snapshots) {
  return Call<absl::Status>(ZfsCall::kDestroySnapshots, First(snapshots),
                            [&] { return base_.DestroySnapshots(snapshots); });
}

absl::StatusOr<SnapshotProps> FaultyZfs::GetSnapshot(const std::string& name) {
  return Call<absl::StatusOr<SnapshotProps>>(ZfsCall::kGetSnapshot, name,
                                             [&] { return base_.GetSnapshot(name); });
}

absl::Status FaultyZfs::Snapshot(const std::vector<std::string>& snapshots,
                                 const UserProps& user_props) {
  return Call<absl::Status>(ZfsCall::kSnapshot, First(snapshots),
                            [&] { return base_.Snapshot(snapshots, user_props); });
}

absl::StatusOr<std::vector<SnapshotProps>> FaultyZfs::TakeSnapshots(
    const std::vector<NewSnapshot>& snapshots, const std::string& mark) {
  return Call<absl::StatusOr<std::vector<SnapshotProps>>>(
      ZfsCall::kTakeSnapshots, snapshots.empty() ? std::string() : snapshots.front().name,
      [&] { return base_.TakeSnapshots(snapshots, mark); });
}

absl::Status FaultyZfs::Rollback(const std::string& name, const std::string& snapshot) {
  return Call<absl::Status>(ZfsCall::kRollback, name,
                            [&] { return base_.Rollback(name, snapshot); });
}

absl::Status FaultyZfs::Clone(const std::string& name, const std::string& origin,
                              const UserProps& user_props) {
  return Call<absl::Status>(ZfsCall::kClone, name,
                            [&] { return base_.Clone(name, origin, user_props); });
}

absl::Status FaultyZfs::ClearUserProperty(const std::string& name, const std::string& key) {
  return Call<absl::Status>(ZfsCall::kClearUserProperty, name,
                            [&] { return base_.ClearUserProperty(name, key); });
}

absl::Status FaultyZfs::SetProperty(const std::string& name, const std::string& key,
                                    const std::string& value) {
  return Call<absl::Status>(ZfsCall::kSetProperty, name,
                            [&] { return base_.SetProperty(name, key, value); });
}

absl::Status FaultyZfs::Rename(const std::string& from, const std::string& to) {
  return Call<absl::Status>(ZfsCall::kRename, from, [&] { return base_.Rename(from, to); });
}

absl::Status FaultyZfs::EnsureHiddenFilesystem(const std::string& name, bool zvol_devices) {
  return Call<absl::Status>(ZfsCall::kEnsureHiddenFilesystem, name,
                            [&] { return base_.EnsureHiddenFilesystem(name, zvol_devices); });
}

absl::Status FaultyZfs::CopySnapshot(const std::string& source, const std::string& target) {
  return Call<absl::Status>(ZfsCall::kCopySnapshot, source,
                            [&] { return base_.CopySnapshot(source, target); });
}

absl::Status FaultyZfs::SendSnapshot(int fd, const std::string& snapshot, const std::string& from,
                                     bool raw) {
  return Call<absl::Status>(ZfsCall::kSendSnapshot, snapshot,
                            [&] { return base_.SendSnapshot(fd, snapshot, from, raw); });
}

absl::Status FaultyZfs::ReceiveSnapshot(int fd, const SendStreamBegin& begin,
                                        const std::string& target, const UserProps& local_props) {
  return Call<absl::Status>(ZfsCall::kReceiveSnapshot, target,
                            [&] { return base_.ReceiveSnapshot(fd, begin, target, local_props); });
}

absl::StatusOr<std::string> FaultyZfs::ReceiveResumeToken(const std::string& name) {
  return Call<absl::StatusOr<std::string>>(ZfsCall::kReceiveResumeToken, name,
                                           [&] { return base_.ReceiveResumeToken(name); });
}

absl::Status FaultyZfs::AbortReceive(const std::string& name) {
  return Call<absl::Status>(ZfsCall::kAbortReceive, name, [&] { return base_.AbortReceive(name); });
}

absl::Status FaultyZfs::ResumeSend(int fd, const std::string& dataset, const std::string& token) {
  return Call<absl::Status>(ZfsCall::kResumeSend, dataset,
                            [&] { return base_.ResumeSend(fd, dataset, token); });
}

absl::StatusOr<ResumePoint> FaultyZfs::DescribeResumeToken(const std::string& dataset,
                                                           const std::string& token) {
  return Call<absl::StatusOr<ResumePoint>>(ZfsCall::kDescribeResumeToken, dataset, [&] {
    return base_.DescribeResumeToken(dataset, token);
  });
}

absl::StatusOr<uint64_t> FaultyZfs::SendSize(const std::string& snapshot, const std::string& from,
                                             bool raw) {
  return Call<absl::StatusOr<uint64_t>>(ZfsCall::kSendSize, snapshot,
                                        [&] { return base_.SendSize(snapshot, from, raw); });
}

absl::Status FaultyZfs::Hold(const std::string& snapshot, const std::string& tag) {
  return Call<absl::Status>(ZfsCall::kHold, snapshot, [&] { return base_.Hold(snapshot, tag); });
}

absl::StatusOr<std::vector<std::string>> FaultyZfs::Holds(const std::string& snapshot) {
  return Call<absl::StatusOr<std::vector<std::string>>>(ZfsCall::kHolds, snapshot,
                                                        [&] { return base_.Holds(snapshot); });
}

absl::Status FaultyZfs::Release(const std::string& snapshot, const std::string& tag) {
  return Call<absl::Status>(ZfsCall::kRelease, snapshot,
                            [&] { return base_.Release(snapshot, tag); });
}

absl::Status FaultyZfs::DeferDestroySnapshots(const std::vector<std::string>& snapshots) {
  return Call<absl::Status>(ZfsCall::kDeferDestroySnapshots, First(snapshots),
                            [&] { return base_.DeferDestroySnapshots(snapshots); });
}

absl::Status FaultyZfs::DestroyWithSnapshots(const std::string& name) {
  return Call<absl::Status>(ZfsCall::kDestroyWithSnapshots, name,
                            [&] { return base_.DestroyWithSnapshots(name); });
}

}  // namespace mvirt::zfs
