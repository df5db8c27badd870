// FaultyZfs: a Zfs that passes every call to another one, except those it
// is told to fail, and that can "crash" (after LevelDB's ErrorEnv and
// FaultInjectionTestEnv). It records every call, so that a test can list
// the steps of a multi-step operation and then fail or crash at each one.
//
//   FakeZfs fake;  FaultyZfs zfs(fake);
//   ... run the operation once; zfs.calls() lists its steps ...
//   zfs.FailCall(3, absl::UnavailableError("injected"));  // the 3rd call
//   zfs.CrashAfterCall(5);  // calls after the 5th do nothing
//
// An injected failure does not reach the wrapped Zfs (a refused ioctl:
// nothing changed). After a crash every call fails with UNAVAILABLE without
// reaching it, so the wrapped Zfs keeps what a restarted daemon would find.
// Exists, which has no status, answers false when failed or crashed (as
// lzc_exists does when its ioctl fails).
//
// Calls are counted from construction or the last Reset(), from 1. Thread-
// safe; the counting is meaningful for one thread at a time.
#ifndef MVIRT_ZFS_ZFS_FAULTY_ZFS_H_
#define MVIRT_ZFS_ZFS_FAULTY_ZFS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {

// The methods of Zfs.
enum class ZfsCall {
  kGetPool,
  kExists,
  kGetVolume,
  kListVolumes,
  kListSnapshots,
  kCreateVolume,
  kSetVolsize,
  kDestroySnapshots,
  kGetSnapshot,
  kSnapshot,
  kRollback,
  kClone,
  kSetProperty,
  kRename,
  kEnsureHiddenFilesystem,
  kCopySnapshot,
  kDeferDestroySnapshots,
  kDestroyWithSnapshots,
  kScanVolumes,
  kTakeSnapshots,
  kSendSnapshot,
  kReceiveSnapshot,
  kReceiveResumeToken,
  kAbortReceive,
  kResumeSend,
  kHold,
  kRelease,
  kDescribeResumeToken,
  kSendSize,
  kHolds,
  kGetSpace,
  kClearUserProperty,
  kScanVolumesNamed,
  kReadPoolHistory,
};

// "CreateVolume", ...
absl::string_view ZfsCallName(ZfsCall call);
// True for the calls that change ZFS (not GetPool, Exists, Get*, List*).
bool IsMutation(ZfsCall call);

// One call: the method and its first argument (the first name of a list).
struct ZfsCallRecord {
  ZfsCall call;
  std::string arg;
  // "Rename pool/.mvirt/creating/a-1"
  std::string ToString() const;
  bool operator==(const ZfsCallRecord& other) const {
    return call == other.call && arg == other.arg;
  }
};

class FaultyZfs final : public Zfs {
 public:
  // `base` must outlive this wrapper.
  explicit FaultyZfs(Zfs& base) : base_(base) {}

  // The `n`th call counted over all methods fails with `status`.
  void FailCall(int n, absl::Status status);
  // The `n`th call of method `call` fails with `status`.
  void FailCall(ZfsCall call, int n, absl::Status status);
  // Once the `n`th call counted over all methods has completed (passed
  // through), every later call fails with UNAVAILABLE.
  void CrashAfterCall(int n);
  // Once the `n`th call of method `call` has completed, every later call
  // fails with UNAVAILABLE.
  void CrashAfterCall(ZfsCall call, int n);

  // True once a crash happened.
  bool crashed() const;
  // Every call since the last Reset, failed ones included, in order.
  std::vector<ZfsCallRecord> calls() const;
  // Forgets the faults, the crash and the calls; counting restarts at 1.
  void Reset();

  absl::StatusOr<PoolProps> GetPool(const std::string& pool) override;
  absl::StatusOr<DatasetSpace> GetSpace(const std::string& dataset) override;
  absl::Status ClearUserProperty(const std::string& name, const std::string& key) override;
  bool Exists(const std::string& name) override;
  absl::StatusOr<VolumeProps> GetVolume(const std::string& name) override;
  absl::StatusOr<std::vector<VolumeProps>> ListVolumes(const std::string& parent) override;
  absl::StatusOr<std::vector<VolumeDigest>> ScanVolumes(const std::string& parent,
                                                        const std::string& id_property) override;
  absl::StatusOr<std::vector<VolumeDigest>> ScanVolumesNamed(
      const std::string& parent, const std::vector<std::string>& names,
      const std::string& id_property) override;
  absl::StatusOr<PoolHistoryPage> ReadPoolHistory(const std::string& pool,
                                                  const PoolHistoryPosition& from,
                                                  size_t max_events) override;
  absl::StatusOr<std::vector<SnapshotProps>> ListSnapshots(const std::string& name) override;
  absl::Status CreateVolume(const std::string& name, uint64_t volsize, uint64_t volblocksize,
                            const UserProps& user_props) override;
  absl::Status SetVolsize(const std::string& name, uint64_t volsize) override;
  absl::Status DestroySnapshots(const std::vector<std::string>& snapshots) override;
  absl::StatusOr<SnapshotProps> GetSnapshot(const std::string& name) override;
  absl::Status Snapshot(const std::vector<std::string>& snapshots,
                        const UserProps& user_props) override;
  absl::StatusOr<std::vector<SnapshotProps>> TakeSnapshots(
      const std::vector<NewSnapshot>& snapshots, const std::string& mark) override;
  absl::Status Rollback(const std::string& name, const std::string& snapshot) override;
  absl::Status Clone(const std::string& name, const std::string& origin,
                     const UserProps& user_props) override;
  absl::Status SetProperty(const std::string& name, const std::string& key,
                           const std::string& value) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status EnsureHiddenFilesystem(const std::string& name, bool zvol_devices) override;
  absl::Status CopySnapshot(const std::string& source, const std::string& target) override;
  absl::Status SendSnapshot(int fd, const std::string& snapshot, const std::string& from,
                            bool raw) override;
  absl::Status ReceiveSnapshot(int fd, const SendStreamBegin& begin, const std::string& target,
                               const UserProps& local_props) override;
  absl::StatusOr<std::string> ReceiveResumeToken(const std::string& name) override;
  absl::Status AbortReceive(const std::string& name) override;
  absl::Status ResumeSend(int fd, const std::string& dataset, const std::string& token) override;
  absl::StatusOr<ResumePoint> DescribeResumeToken(const std::string& dataset,
                                                  const std::string& token) override;
  absl::StatusOr<uint64_t> SendSize(const std::string& snapshot, const std::string& from,
                                    bool raw) override;
  absl::Status Hold(const std::string& snapshot, const std::string& tag) override;
  absl::Status Release(const std::string& snapshot, const std::string& tag) override;
  absl::StatusOr<std::vector<std::string>> Holds(const std::string& snapshot) override;
  absl::Status DeferDestroySnapshots(const std::vector<std::string>& snapshots) override;
  absl::Status DestroyWithSnapshots(const std::string& name) override;

 private:
  // Counts and records a call; the status it must fail with, if any.
  std::optional<absl::Status> Enter(ZfsCall call, const std::string& arg);
  // After a call passed through: crashes if this was the chosen one.
  void Leave(ZfsCall call);
  // Runs `fn` unless the call must fail.
  template <typename T, typename F>
  T Call(ZfsCall call, const std::string& arg, F fn);

  Zfs& base_;
  mutable absl::Mutex mu_;
  std::vector<ZfsCallRecord> calls_ ABSL_GUARDED_BY(mu_);
  std::map<ZfsCall, int> per_call_ ABSL_GUARDED_BY(mu_);  // calls of each method so far
  std::map<int, absl::Status> fail_nth_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<ZfsCall, int>, absl::Status> fail_nth_of_ ABSL_GUARDED_BY(mu_);
  int crash_after_ ABSL_GUARDED_BY(mu_) = 0;  // 0: none
  std::optional<std::pair<ZfsCall, int>> crash_after_of_ ABSL_GUARDED_BY(mu_);
  bool crashed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_ZFS_FAULTY_ZFS_H_
