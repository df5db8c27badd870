// Replicator: sends a volume's snapshots from this daemon's VolumeManager to
// the daemon at the other end of a channel (its ReceiveVolume), as planned
// by PlanReplication from both sides' snapshots.
#ifndef MVIRT_ZFS_REPLICATION_REPLICATOR_H_
#define MVIRT_ZFS_REPLICATION_REPLICATOR_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/cancel_token.h"
#include "mvirt_zfs.grpc.pb.h"
#include "volume/volume_manager.h"

namespace mvirt::zfs {

// Told of a replication's progress, from its thread. Each may be empty.
struct ReplicationObserver {
  // Bytes added to the total (ZFS's estimates), or taken back (negative)
  // when an attempt ended before sending what it had announced.
  std::function<void(int64_t)> more_to_send;
  std::function<void(uint64_t)> sent;  // bytes just sent
  std::function<void(const std::string&)> step;
  std::function<void(const std::string&)> snapshot_sent;
};

class Replicator {
 public:
  // `volumes` must outlive the replicator. With `last_streams` (a
  // migration's final step) the target keeps no replication-base hold on
  // the volume (see ReceiveTarget.last_stream); otherwise the newest
  // snapshot it received is held there.
  Replicator(VolumeManager& volumes, std::shared_ptr<grpc::Channel> peer,
             bool last_streams = false);

  // Brings the target's volume of the same name up to snapshot `upto`
  // ("": the newest): first the rest of an interrupted receive there, if
  // any, then every stream PlanReplication names, each with the sender's
  // volume and snapshot ids. At most `bandwidth_limit` bytes per second
  // (0: no limit). Returns once the target has `upto`; CANCELLED once
  // `cancel` fires (the target keeps what arrived, and the next call
  // resumes it); else the first failure of either side, saying which.
  // `sent_bytes`, if given, counts the stream bytes this call sent.
  absl::Status Replicate(const std::string& volume, const std::string& upto,
                         uint64_t bandwidth_limit, CancelToken& cancel,
                         const ReplicationObserver& observer, uint64_t* sent_bytes = nullptr);

 private:
  // Sends template `name` to the target, in full, unless the target has it
  // (same id) already; a template of that name with another id there:
  // FAILED_PRECONDITION. Not resumable: a cut stream is sent again.
 public:
  absl::Status ReplicateTemplate(const std::string& name, uint64_t bandwidth_limit,
                                 CancelToken& cancel, const ReplicationObserver& observer);

 private:
  // One attempt of Replicate; `unsent` is what it announced (more_to_send)
  // and did not send when it returns.
  absl::Status ReplicateOnce(const std::string& volume, const std::string& upto,
                             uint64_t bandwidth_limit, CancelToken& cancel,
                             const ReplicationObserver& observer, uint64_t* sent_bytes,
                             int64_t* unsent);
  // The target's snapshots of volume `name`, or nullopt if it has no such
  // volume.
  absl::StatusOr<std::optional<std::vector<SnapshotInfo>>> TargetSnapshots(const std::string& name);
  // The token of an interrupted receive into `name` on the target, or "".
  absl::StatusOr<std::string> TargetResumeToken(const std::string& name);
  // Sends the stream of `plan` into the target's ReceiveVolume.
  absl::Status SendStream(const SendPlan& plan, uint64_t bandwidth_limit, CancelToken& cancel,
                          const ReplicationObserver& observer, uint64_t* sent_bytes);

  VolumeManager& volumes_;
  std::unique_ptr<ZfsService::Stub> peer_;
  const bool last_streams_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_REPLICATION_REPLICATOR_H_
