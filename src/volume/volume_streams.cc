// VolumeManager: volumes as ZFS send streams, sent and received (the base
// of replication between hosts).
#include <errno.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/backoff.h"
#include "common/crash_point.h"
#include "common/log.h"
#include "common/names.h"
#include "common/status_util.h"
#include "common/stream_pipe.h"
#include "device/zvol_device.h"
#include "volume/volume_manager.h"
#include "zfs/send_stream.h"

namespace mvirt::zfs {
namespace {

// The stream's first record, read from `fd` and parsed: INVALID_ARGUMENT
// (the message begins with `op`) for a stream that ends before it or is not
// one zvol's stream this ZFS knows; INTERNAL if the read fails.
absl::StatusOr<SendStreamBegin> ReadStreamBegin(const std::string& op, int fd) {
  std::string record(kSendStreamBeginBytes, '\0');
  const ssize_t got = ReadFull(fd, record.data(), record.size());
  if (got < 0) {
    return absl::InternalError(absl::StrCat(op, ": reading the stream failed: errno ", errno));
  }
  if (static_cast<size_t>(got) < kSendStreamBeginBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": the stream ended after ", got, " bytes, before its first ",
                     kSendStreamBeginBytes, "-byte record; nothing was changed"));
  }
  absl::StatusOr<SendStreamBegin> begin = ParseSendStreamBegin(record);
  if (!begin.ok()) return Annotate(begin.status(), op);
  return begin;
}

// The snapshot of `snapshots` with guid `guid`, if any.
const SnapshotProps* WithGuid(const std::vector<SnapshotProps>& snapshots, uint64_t guid) {
  for (const SnapshotProps& s : snapshots) {
    if (s.guid == guid) return &s;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<SendPlan> VolumeManager::PlanSend(const SendVolumeParams& params) {
  const std::string op = absl::StrCat("send volume '", params.volume, "'");
  const bool resuming = !params.resume_token.empty();
  if (resuming && (!params.snapshot.empty() || !params.from_snapshot.empty() ||
                   params.from_guid != 0 || params.raw.has_value())) {
    return absl::InvalidArgumentError(absl::StrCat(
        op,
        ": a resume token says what to send (and whether raw); give no snapshot, base or raw "
        "with it"));
  }
  if (!resuming) {
    if (absl::Status s = ValidateName("snapshot name", params.snapshot); !s.ok()) return s;
    if (!params.from_snapshot.empty()) {
      if (absl::Status s = ValidateName("base snapshot name", params.from_snapshot); !s.ok())
        return s;
      if (params.from_guid != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(op, ": give the base snapshot by its name or by its guid, not both"));
      }
    }
  }
  absl::StatusOr<VolumeProps> volume = GetManaged("send volume", params.volume);
  if (!volume.ok()) return volume.status();
  absl::StatusOr<std::vector<SnapshotProps>> snapshots = zfs_.ListSnapshots(volume->name);
  if (!snapshots.ok()) return Annotate(snapshots.status(), op);

  SendPlan plan;
  plan.volume_id = volume->user_props.at(kIdProperty);
  plan.volume_name = params.volume;
  plan.dataset = volume->name;
  plan.volsize_bytes = volume->volsize;
  plan.volblocksize = volume->volblocksize;
  std::string snapshot_full;
  std::string from_full;
  if (resuming) {
    absl::StatusOr<ResumePoint> point = zfs_.DescribeResumeToken(volume->name, params.resume_token);
    if (!point.ok()) return Annotate(point.status(), op);
    snapshot_full = point->snapshot;
    from_full = point->from;
    plan.raw = point->raw;
    plan.resuming = true;
    plan.resume_token = params.resume_token;
  } else {
    snapshot_full = DatasetNames::Snapshot(volume->name, params.snapshot);
    if (!params.from_snapshot.empty()) {
      from_full = DatasetNames::Snapshot(volume->name, params.from_snapshot);
    }
    plan.raw = params.raw.value_or(volume->encrypted);
    if (volume->encrypted && !plan.raw && !volume->key_loaded) {
      return absl::FailedPreconditionError(
          absl::StrCat(op, ": it is encrypted and its key is not loaded; send it raw (its blocks ",
                       "as they are, still encrypted) or load the key (zfs load-key)"));
    }
  }
  const SnapshotProps* snapshot = nullptr;
  const SnapshotProps* from = nullptr;
  for (const SnapshotProps& s : *snapshots) {
    if (s.name == snapshot_full) snapshot = &s;
    if (!from_full.empty() && s.name == from_full) from = &s;
  }
  if (params.from_guid != 0) from = WithGuid(*snapshots, params.from_guid);
  if (snapshot == nullptr) {
    return absl::NotFoundError(absl::StrCat(op, ": volume has no snapshot '",
                                            DatasetNames::SnapshotNameOf(snapshot_full), "'"));
  }
  if (from == nullptr && (!from_full.empty() || params.from_guid != 0)) {
    return absl::NotFoundError(
        params.from_guid != 0
            ? absl::StrCat(op, ": no snapshot of the volume has guid ", params.from_guid,
                           " (the receiving side's newest snapshot is not here: send in full)")
            : absl::StrCat(op, ": volume has no snapshot '",
                           DatasetNames::SnapshotNameOf(from_full), "'"));
  }
  if (from != nullptr && from->createtxg >= snapshot->createtxg) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": base snapshot '", from->name,
                                                   "' is not older than '", snapshot->name, "'"));
  }
  plan.snapshot = ToSnapshotInfo(*snapshot);
  plan.snapshot_guid = snapshot->guid;
  if (from != nullptr) {
    plan.from_snapshot = ToSnapshotInfo(*from).name;
    plan.from_guid = from->guid;
  }
  if (!resuming) {
    absl::StatusOr<uint64_t> size =
        zfs_.SendSize(snapshot->name, from == nullptr ? std::string() : from->name, plan.raw);
    if (!size.ok()) return Annotate(size.status(), op);
    plan.estimated_bytes = *size;
  }
  return plan;
}

absl::StatusOr<SendPlan> VolumeManager::PlanSendTemplate(const std::string& name) {
  const std::string op = absl::StrCat("send template '", name, "'");
  if (absl::Status s = ValidateName("template name", name); !s.ok()) return s;
  absl::StatusOr<VolumeProps> props = GetManagedTemplate(name);
  if (!props.ok()) return props.status();
  absl::StatusOr<SnapshotProps> snapshot =
      zfs_.GetSnapshot(DatasetNames::TemplateSnapshotOf(props->name));
  if (!snapshot.ok()) return Annotate(snapshot.status(), op);
  SendPlan plan;
  plan.template_name = name;
  plan.volume_id = props->user_props.at(kIdProperty);
  plan.dataset = props->name;
  plan.volsize_bytes = props->volsize;
  plan.volblocksize = props->volblocksize;
  plan.snapshot = ToSnapshotInfo(*snapshot);
  plan.snapshot_guid = snapshot->guid;
  plan.raw = props->encrypted;
  absl::StatusOr<uint64_t> size = zfs_.SendSize(snapshot->name, "", plan.raw);
  if (!size.ok()) return Annotate(size.status(), op);
  plan.estimated_bytes = *size;
  return plan;
}

absl::StatusOr<TemplateInfo> VolumeManager::ReceiveTemplate(const ReceiveTemplateParams& params,
                                                            int fd) {
  const std::string& name = params.template_name;
  const std::string op = absl::StrCat("receive template '", name, "'");
  if (absl::Status s = ValidateName("template name", name); !s.ok()) return s;
  if (!params.template_id.empty()) {
    if (absl::Status s = ValidateId(params.template_id); !s.ok()) return Annotate(s, op);
  }
  absl::StatusOr<SendStreamBegin> begin = ReadStreamBegin(op, fd);
  if (!begin.ok()) return begin.status();
  if (begin->incremental() || begin->resuming ||
      DatasetNames::SnapshotNameOf(begin->toname) != DatasetNames::kTemplateSnapshot) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": '", begin->toname, "' is not the full stream of a template (",
                     "SendVolume of a template); nothing was changed"));
  }
  absl::StatusOr<KeyedMutex::Lock> lock = name_locks_.Acquire(TemplateLockKey(name));
  if (!lock.ok()) return Annotate(lock.status(), op);
  if (absl::StatusOr<TemplateInfo> existing = GetTemplate(name); existing.ok()) {
    if (!params.template_id.empty() && existing->id == params.template_id) return existing;
    return absl::AlreadyExistsError(
        absl::StrCat(op, ": a template of that name exists (id ", existing->id, ")"));
  }
  if (absl::Status s = CheckTemplateNameFree(op, name); !s.ok()) return s;
  if (absl::Status s = EnsureReservedDatasets(); !s.ok()) return Annotate(s, op);
  const std::string id = params.template_id.empty() ? NewUuid() : params.template_id;
  const std::string incoming = names_.IncomingTemplate(name, id);
  auto fail = [&](const absl::Status& failure) {
    if (zfs_.Exists(incoming)) {
      if (absl::Status d = zfs_.DestroyWithSnapshots(incoming); !d.ok()) {
        LogError(op, ": could not remove the partial template (removed at the next start): ",
                 d.message());
      }
    }
    return Annotate(failure, op);
  };
  if (zfs_.Exists(incoming)) {  // left by an attempt a crash cut off
    if (absl::Status s = zfs_.DestroyWithSnapshots(incoming); !s.ok()) return Annotate(s, op);
  }
  const UserProps props = {{kIdProperty, id}, {kKindProperty, kKindTemplate}};
  absl::Status received =
      zfs_.ReceiveSnapshot(fd, *begin, DatasetNames::TemplateSnapshotOf(incoming), props);
  if (!received.ok()) return fail(received);
  // Templates have no device (clones do).
  if (absl::Status s = zfs_.SetProperty(incoming, "volmode", "none"); !s.ok()) return fail(s);
  if (absl::Status s = zfs_.Rename(incoming, names_.Template(name)); !s.ok()) return fail(s);
  LogInfo("received template ", names_.Template(name), " (id ", id, ") from ", begin->toname);
  absl::StatusOr<TemplateInfo> info = GetTemplate(name);
  if (info.ok()) PublishTemplate(*info);
  return info;
}

absl::Status VolumeManager::Send(const SendPlan& plan, int fd) {
  absl::Status sent =
      plan.resuming
          ? zfs_.ResumeSend(fd, plan.dataset, plan.resume_token)
          : zfs_.SendSnapshot(fd, DatasetNames::Snapshot(plan.dataset, plan.snapshot.name),
                              plan.from_snapshot.empty()
                                  ? std::string()
                                  : DatasetNames::Snapshot(plan.dataset, plan.from_snapshot),
                              plan.raw);
  if (sent.ok()) {
    LogInfo("sent ", plan.dataset, "@", plan.snapshot.name,
            plan.from_snapshot.empty() ? "" : absl::StrCat(" from @", plan.from_snapshot),
            plan.resuming ? " (resumed)" : "", plan.raw ? " (raw)" : "");
  }
  return sent;
}

absl::StatusOr<ReceiveResult> VolumeManager::Receive(const ReceiveVolumeParams& params, int fd) {
  const std::string& name = params.volume_name;
  const std::string op = absl::StrCat("receive volume '", name, "'");
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  if (!params.volume_id.empty()) {
    if (absl::Status s = ValidateId(params.volume_id); !s.ok()) return Annotate(s, op);
  }
  if (!params.snapshot_id.empty()) {
    if (absl::Status s = ValidateId(params.snapshot_id); !s.ok()) return Annotate(s, op);
  }
  absl::StatusOr<SendStreamBegin> begin = ReadStreamBegin(op, fd);
  if (!begin.ok()) return begin.status();
  const std::string snapshot = DatasetNames::SnapshotNameOf(begin->toname);
  if (absl::Status s = ValidateName("snapshot name", snapshot); !s.ok()) {
    return Annotate(s, absl::StrCat(op, ": the stream's snapshot '", begin->toname, "'"));
  }

  absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(name);
  if (!lock.ok()) return Annotate(lock.status(), op);
  const std::string dataset = names_.Volume(name);
  const std::string staging = names_.Receiving(name);
  // Touched when it starts and when it ends (however it ends).
  TouchReceive(name);
  struct TouchAtEnd {
    VolumeManager* self;
    const std::string& name;
    ~TouchAtEnd() { self->TouchReceive(name); }
  } touch_at_end{this, name};

  // The volume that ends up holding the snapshot, and the snapshot's id.
  auto finish = [&](const std::string& volume_dataset) -> absl::StatusOr<ReceiveResult> {
    const std::string full = DatasetNames::Snapshot(volume_dataset, snapshot);
    absl::StatusOr<SnapshotProps> snap = zfs_.GetSnapshot(full);
    if (!snap.ok()) return Annotate(snap.status(), op);
    if (!IsManaged(snap->user_props)) {
      const std::string id = params.snapshot_id.empty() ? NewUuid() : params.snapshot_id;
      if (absl::Status s = zfs_.SetProperty(full, kIdProperty, id); !s.ok()) {
        return Annotate(s, op);
      }
      snap->user_props[kIdProperty] = id;
    }
    if (absl::Status s = MarkReplicationBase(volume_dataset, full, params.last_stream); !s.ok()) {
      return Annotate(s, absl::StrCat(op,
                                      ": received, but the base hold failed (a retry of the "
                                      "receive holds it)"));
    }
    ReceiveResult result;
    result.snapshot = ToSnapshotInfo(*snap);
    return result;
  };
  // A refusal that says what to do about an interrupted receive into `at`.
  auto waiting = [&](const std::string& at) {
    return absl::FailedPreconditionError(
        absl::StrCat(op, ": an interrupted receive into '", at,
                     "' waits; resume it (the sender needs its token: GetReceiveState) or drop it "
                     "(AbortReceive)"));
  };
  // A receive that failed: what it left, and what to do.
  auto failed = [&](const absl::Status& status, const std::string& at) -> absl::Status {
    absl::StatusOr<std::string> token =
        zfs_.Exists(at) ? zfs_.ReceiveResumeToken(at) : absl::StatusOr<std::string>("");
    if (token.ok() && !token->empty()) {
      return absl::AbortedError(absl::StrCat(
          op, ": ", status.message(), "; what arrived is kept: resume it with the token from ",
          "GetReceiveState, or drop it with AbortReceive"));
    }
    return Annotate(status, op);
  };

  if (!begin->incremental()) {
    // A full stream: a new volume, received under .mvirt/receiving.
    absl::StatusOr<VolumeProps> existing = LookUpNewName(dataset);
    if (existing.ok()) {
      absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(dataset);
      const bool same =
          IsManaged(existing->user_props) && snaps.ok() &&
          WithGuid(*snaps, begin->toguid) != nullptr &&
          (params.volume_id.empty() || existing->user_props.at(kIdProperty) == params.volume_id);
      if (!same) {
        return absl::AlreadyExistsError(absl::StrCat(
            op,
            ": a volume or dataset of that name exists (a full stream makes a new volume; "
            "an incremental one updates an existing volume)"));
      }
      absl::StatusOr<ReceiveResult> done = finish(dataset);  // a retry of a complete receive
      if (!done.ok()) return done.status();
      absl::StatusOr<VolumeInfo> volume = Get(name);
      if (!volume.ok()) return volume.status();
      done->volume = *volume;
      return done;
    }
    if (!absl::IsNotFound(existing.status()) && !absl::IsInvalidArgument(existing.status())) {
      return Annotate(existing.status(), op);
    }
    if (existing.status().code() == absl::StatusCode::kInvalidArgument) {
      return absl::AlreadyExistsError(
          absl::StrCat(op, ": dataset '", dataset, "' exists and is not a volume"));
    }
    std::string id = params.volume_id;
    if (zfs_.Exists(staging)) {
      absl::StatusOr<std::string> token = zfs_.ReceiveResumeToken(staging);
      if (!token.ok()) return Annotate(token.status(), op);
      absl::StatusOr<VolumeProps> staged = zfs_.GetVolume(staging);
      if (!staged.ok()) return Annotate(staged.status(), op);
      auto staged_id = staged->user_props.find(kIdProperty);
      if (staged_id != staged->user_props.end() && !params.volume_id.empty() &&
          staged_id->second != params.volume_id) {
        return absl::FailedPreconditionError(
            absl::StrCat(op, ": an interrupted receive of volume id ", staged_id->second,
                         " waits under that name (AbortReceive drops it)"));
      }
      if (!begin->resuming && !token->empty()) return waiting(name);
      if (begin->resuming && token->empty()) {
        // Complete already (a crash before the rename): finish it below.
        absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(staging);
        if (!snaps.ok() || WithGuid(*snaps, begin->toguid) == nullptr) {
          return absl::FailedPreconditionError(
              absl::StrCat(op, ": the stream resumes a receive, but no receive into '", name,
                           "' was interrupted"));
        }
      }
      if (!begin->resuming && token->empty()) {
        // Left complete by a crash before its rename: received again.
        if (absl::Status s = zfs_.DestroyWithSnapshots(staging); !s.ok()) return Annotate(s, op);
      }
      if (begin->resuming && staged_id != staged->user_props.end()) id = staged_id->second;
    } else if (begin->resuming) {
      return absl::FailedPreconditionError(
          absl::StrCat(op, ": the stream resumes a receive, but no receive into '", name,
                       "' was interrupted (it completed, or was dropped: send in full)"));
    }
    std::optional<KeyedMutex::Lock> id_lock;
    if (!id.empty()) {
      absl::StatusOr<KeyedMutex::Lock> locked = name_locks_.Acquire(IdLockKey(id));
      if (!locked.ok()) return Annotate(locked.status(), op);
      id_lock.emplace(std::move(*locked));
      if (absl::Status s = CheckIdUnused("receive volume", id, dataset); !s.ok()) return s;
    } else {
      id = NewUuid();
    }
    if (!zfs_.Exists(staging)) {
      if (absl::Status s = EnsureReservedDatasets(); !s.ok()) return Annotate(s, op);
      const UserProps props = {{kIdProperty, id}, {kKindProperty, kKindVolume}};
      absl::Status received =
          zfs_.ReceiveSnapshot(fd, *begin, DatasetNames::Snapshot(staging, snapshot), props);
      if (!received.ok()) return failed(received, staging);
    } else if (begin->resuming) {
      absl::StatusOr<std::string> token = zfs_.ReceiveResumeToken(staging);
      if (token.ok() && !token->empty()) {
        absl::Status received =
            zfs_.ReceiveSnapshot(fd, *begin, DatasetNames::Snapshot(staging, snapshot), {});
        if (!received.ok()) return failed(received, staging);
      }
    }
    CrashPoint("receive/received");
    absl::StatusOr<ReceiveResult> done = finish(staging);
    if (!done.ok()) return done.status();
    if (absl::Status s = zfs_.Rename(staging, dataset); !s.ok()) {
      return Annotate(s, absl::StrCat(op, ": received, but not moved into place (it waits in '",
                                      staging, "'; AbortReceive drops it)"));
    }
    LogInfo("received volume ", dataset, " (id ", id, ") from ", begin->toname);
    absl::StatusOr<VolumeInfo> volume = FinishNewVolume(op, dataset);
    if (!volume.ok()) return volume.status();
    done->volume = *volume;
    for (const SnapshotInfo& s : volume->snapshots) {
      if (s.name == snapshot) done->snapshot = s;
    }
    return done;
  }

  // An incremental stream: a new snapshot of an existing volume.
  absl::StatusOr<VolumeProps> volume = GetManaged("receive volume", name);
  if (!volume.ok()) return volume.status();
  const std::string& volume_id = volume->user_props.at(kIdProperty);
  if (!params.volume_id.empty() && params.volume_id != volume_id) {
    return absl::FailedPreconditionError(absl::StrCat(op, ": the stream is for volume id ",
                                                      params.volume_id, ", but this volume is id ",
                                                      volume_id, "; nothing was changed"));
  }
  absl::StatusOr<std::vector<SnapshotProps>> snaps = zfs_.ListSnapshots(dataset);
  if (!snaps.ok()) return Annotate(snaps.status(), op);
  if (WithGuid(*snaps, begin->toguid) != nullptr) {  // a retry of a complete receive
    absl::StatusOr<ReceiveResult> done = finish(dataset);
    if (!done.ok()) return done.status();
    absl::StatusOr<VolumeInfo> info = ToVolumeInfo(*volume);
    if (!info.ok()) return info.status();
    done->volume = *info;
    return done;
  }
  absl::StatusOr<std::string> token = zfs_.ReceiveResumeToken(dataset);
  if (!token.ok()) return Annotate(token.status(), op);
  if (!token->empty() && !begin->resuming) return waiting(name);
  if (token->empty() && begin->resuming) {
    return absl::FailedPreconditionError(
        absl::StrCat(op, ": the stream resumes a receive, but no receive into '", name,
                     "' was interrupted (it completed, or was dropped: send the increment again)"));
  }
  // ZFS would change the data under whoever has the device open.
  const std::string path = ZvolDevicePath(dataset);
  if (std::vector<DeviceHolder> holders = LastingHolders(path); !holders.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(op, ": device ", path, " is in use by ", DescribeHolders(holders),
                     "; an incremental receive would change its data under it. Stop its users "
                     "first. Nothing was changed"));
  }
  absl::Status received =
      zfs_.ReceiveSnapshot(fd, *begin, DatasetNames::Snapshot(dataset, snapshot), {});
  if (!received.ok()) return failed(received, dataset);
  CrashPoint("receive/received");
  absl::StatusOr<ReceiveResult> done = finish(dataset);
  if (!done.ok()) return done.status();
  LogInfo("received ", dataset, "@", snapshot, " from ", begin->toname);
  absl::StatusOr<VolumeProps> after = zfs_.GetVolume(dataset);
  if (!after.ok()) return Annotate(after.status(), op);
  absl::StatusOr<VolumeInfo> info = ToVolumeInfo(*after);
  if (!info.ok()) return info.status();
  PublishVolume(*info);
  done->volume = *info;
  return done;
}

std::vector<DeviceHolder> VolumeManager::LastingHolders(const std::string& path) {
  std::vector<DeviceHolder> holders;
  for (Backoff backoff; backoff.Next();) {
    holders = devices_.Holders(path);
    if (holders.empty()) break;
  }
  return holders;
}

absl::Status VolumeManager::RequireDeviceClosed(absl::string_view op, const std::string& name) {
  absl::StatusOr<VolumeProps> volume = GetManaged(op, name);
  if (!volume.ok()) return volume.status();
  const std::string path = ZvolDevicePath(volume->name);
  std::vector<DeviceHolder> holders = LastingHolders(path);
  if (holders.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(op, " '", name, "': device ", path,
                                                    " is in use by ", DescribeHolders(holders),
                                                    "; stop the VM first"));
}

void VolumeManager::SweepFinishedReceives() {
  const std::string dir = names_.Area(ReservedArea::kReceiving);
  if (!zfs_.Exists(dir)) return;
  absl::StatusOr<std::vector<VolumeProps>> zvols = zfs_.ListVolumes(dir);
  if (!zvols.ok()) {
    LogWarning("clean-up of ", dir, ": ", zvols.status().message());
    return;
  }
  for (const VolumeProps& v : *zvols) {
    // An interrupted receive waits for its resume (or AbortReceive); one
    // that completed but was not renamed into place (a crash) is received
    // again by the sender's retry.
    absl::StatusOr<std::string> token = zfs_.ReceiveResumeToken(v.name);
    if (!token.ok()) continue;
    if (!token->empty()) {
      TouchReceive(v.name.substr(v.name.rfind('/') + 1));
      continue;
    }
    if (absl::Status s = zfs_.DestroyWithSnapshots(v.name); !s.ok()) {
      LogWarning("clean-up of ", v.name, ": ", s.message());
    } else {
      LogInfo("cleaned up ", v.name, " (received, never moved into place)");
    }
  }
}

void VolumeManager::TouchReceive(const std::string& name) {
  MutexLock lock(&receive_touch_mu_);
  receive_touched_[name] = absl::Now();
}

void VolumeManager::SweepAbandonedReceives(absl::Duration idle) {
  bool first = false;
  {
    MutexLock lock(&receive_touch_mu_);
    first = !volumes_scanned_for_receives_;
    volumes_scanned_for_receives_ = true;
  }
  if (first) {
    // Interrupted increments of volumes, left before this daemon started:
    // their clock starts now (one read per volume, so not on the start-up
    // path; nothing is dropped before `idle` from here).
    if (absl::StatusOr<std::vector<VolumeDigest>> volumes =
            zfs_.ScanVolumes(options_.pool, kIdProperty);
        volumes.ok()) {
      for (const VolumeDigest& v : *volumes) {
        if (v.id.empty()) continue;
        absl::StatusOr<std::string> token = zfs_.ReceiveResumeToken(v.name);
        if (token.ok() && !token->empty()) TouchReceive(names_.VolumeNameOf(v.name));
      }
    }
  }
  std::vector<std::string> expired;
  {
    MutexLock lock(&receive_touch_mu_);
    const absl::Time now = absl::Now();
    for (const auto& [name, touched] : receive_touched_) {
      if (now - touched >= idle) expired.push_back(name);
    }
  }
  for (const std::string& name : expired) {
    const std::string op = absl::StrCat("drop the abandoned receive into '", name, "'");
    absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(name);
    if (!lock.ok()) continue;
    {
      // Touched while this waited for the lock (a receive ran): not yet.
      MutexLock touch_lock(&receive_touch_mu_);
      auto it = receive_touched_.find(name);
      if (it == receive_touched_.end() || absl::Now() - it->second < idle) continue;
      receive_touched_.erase(it);
    }
    absl::Status dropped = AbortReceiveLocked(op, name);
    if (dropped.ok()) {
      LogWarning("dropped the interrupted receive into '", name, "': untouched for ",
                 absl::FormatDuration(idle), " (--abandon-receive-after)");
    } else if (!absl::IsNotFound(dropped)) {  // NOT_FOUND: completed or dropped since
      LogWarning(dropped.message());
      TouchReceive(name);  // tried again after another `idle`
    }
  }
}

absl::StatusOr<ReceiveStateInfo> VolumeManager::GetReceiveState(const std::string& name) {
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  const std::string op = absl::StrCat("read the receive state of '", name, "'");
  ReceiveStateInfo state;
  state.volume_name = name;
  for (const std::string& at : {names_.Receiving(name), names_.Volume(name)}) {
    if (!zfs_.Exists(at)) continue;
    absl::StatusOr<std::string> token = zfs_.ReceiveResumeToken(at);
    // Gone meanwhile (a receive that completed was renamed): no token there.
    if (absl::IsNotFound(token.status())) continue;
    if (!token.ok()) return Annotate(token.status(), op);
    if (token->empty()) continue;
    state.resume_token = *token;
    state.creating = at == names_.Receiving(name);
    TouchReceive(name);  // someone means to resume it
    break;
  }
  return state;
}

absl::Status VolumeManager::AbortReceive(const std::string& name) {
  if (absl::Status s = ValidateName("volume name", name); !s.ok()) return s;
  const std::string op = absl::StrCat("abort the receive into '", name, "'");
  absl::StatusOr<KeyedMutex::Lock> lock = LockVolume(name);
  if (!lock.ok()) return Annotate(lock.status(), op);
  return AbortReceiveLocked(op, name);
}

absl::Status VolumeManager::AbortReceiveLocked(const std::string& op, const std::string& name) {
  const std::string staging = names_.Receiving(name);
  if (zfs_.Exists(staging)) {
    // Interrupted, or complete and not renamed (a crash): neither is a
    // volume yet, so both go.
    absl::StatusOr<std::string> token = zfs_.ReceiveResumeToken(staging);
    if (!token.ok()) return Annotate(token.status(), op);
    absl::Status dropped =
        token->empty() ? zfs_.DestroyWithSnapshots(staging) : zfs_.AbortReceive(staging);
    if (!dropped.ok()) return Annotate(dropped, op);
    LogInfo("dropped the interrupted receive ", staging);
    return absl::OkStatus();
  }
  const std::string dataset = names_.Volume(name);
  if (zfs_.Exists(dataset)) {
    absl::StatusOr<std::string> token = zfs_.ReceiveResumeToken(dataset);
    if (!token.ok()) return Annotate(token.status(), op);
    if (!token->empty()) {
      if (absl::Status s = zfs_.AbortReceive(dataset); !s.ok()) return Annotate(s, op);
      LogInfo("dropped the interrupted receive into ", dataset);
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(absl::StrCat(op, ": no interrupted receive into '", name, "'"));
}

}  // namespace mvirt::zfs
