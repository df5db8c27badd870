#include "replication/replicator.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_util.h"
#include "common/stream_pipe.h"
#include "common/unique_fd.h"
#include "replication/replication_plan.h"

namespace mvirt::zfs {
namespace {

constexpr size_t kChunkBytes = 1024 * 1024;

// The absl::Status of a failed call to the target, saying so.
absl::Status FromTarget(const grpc::Status& status, absl::string_view what) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": the target says: ", status.error_message()));
}

SnapshotInfo FromProto(const Snapshot& s) {
  SnapshotInfo info;
  info.id = s.id();
  info.name = s.name();
  info.guid = s.guid();
  return info;
}

}  // namespace

Replicator::Replicator(VolumeManager& volumes, std::shared_ptr<grpc::Channel> peer,
                       bool last_streams)
    : volumes_(volumes), peer_(ZfsService::NewStub(std::move(peer))), last_streams_(last_streams) {}

absl::StatusOr<std::optional<std::vector<SnapshotInfo>>> Replicator::TargetSnapshots(
    const std::string& name) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  GetVolumeRequest request;
  request.set_name(name);
  Volume volume;
  grpc::Status status = peer_->GetVolume(&ctx, request, &volume);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return std::nullopt;
  if (!status.ok()) return FromTarget(status, absl::StrCat("read volume '", name, "'"));
  std::vector<SnapshotInfo> out;
  for (const Snapshot& s : volume.snapshots()) out.push_back(FromProto(s));
  return out;
}

absl::StatusOr<std::string> Replicator::TargetResumeToken(const std::string& name) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  GetReceiveStateRequest request;
  request.set_volume_name(name);
  ReceiveState state;
  grpc::Status status = peer_->GetReceiveState(&ctx, request, &state);
  if (!status.ok())
    return FromTarget(status, absl::StrCat("read the receive state of '", name, "'"));
  return state.resume_token();
}

absl::Status Replicator::Replicate(const std::string& volume, const std::string& upto,
                                   uint64_t bandwidth_limit, CancelToken& cancel,
                                   const ReplicationObserver& observer, uint64_t* sent_bytes) {
  int64_t unsent = 0;
  absl::Status result =
      ReplicateOnce(volume, upto, bandwidth_limit, cancel, observer, sent_bytes, &unsent);
  if (result.ok() || cancel.cancelled()) return result;
  // A receive of an earlier attempt (a cancelled job, a cut connection) may
  // have saved its partial state only after this attempt looked for it; the
  // target then refused the new stream. Resume it and go on, once.
  absl::StatusOr<std::string> token = TargetResumeToken(volume);
  if (!token.ok() || token->empty()) return result;
  LogInfo("replicate ", volume, ": the target now holds an interrupted receive; resuming it");
  // The retry announces what is left anew.
  if (observer.more_to_send && unsent > 0) observer.more_to_send(-unsent);
  return ReplicateOnce(volume, upto, bandwidth_limit, cancel, observer, sent_bytes, &unsent);
}

absl::Status Replicator::ReplicateOnce(const std::string& volume, const std::string& upto,
                                       uint64_t bandwidth_limit, CancelToken& cancel,
                                       const ReplicationObserver& observer, uint64_t* sent_bytes,
                                       int64_t* unsent) {
  auto step = [&](const std::string& text) {
    if (observer.step) observer.step(text);
  };
  *unsent = 0;
  // An interrupted receive on the target goes first: it blocks any other.
  absl::StatusOr<std::string> token = TargetResumeToken(volume);
  if (!token.ok()) return token.status();
  if (!token->empty()) {
    SendVolumeParams params;
    params.volume = volume;
    params.resume_token = *token;
    absl::StatusOr<SendPlan> plan = volumes_.PlanSend(params);
    if (!plan.ok()) return plan.status();
    step(absl::StrCat("resuming ", plan->snapshot.name));
    if (absl::Status s = SendStream(*plan, bandwidth_limit, cancel, observer, sent_bytes); !s.ok())
      return s;
  }
  absl::StatusOr<VolumeInfo> source = volumes_.Get(volume);
  if (!source.ok()) return source.status();
  absl::StatusOr<std::optional<std::vector<SnapshotInfo>>> target = TargetSnapshots(volume);
  if (!target.ok()) return target.status();
  absl::StatusOr<std::vector<ReplicationStep>> steps =
      PlanReplication(volume, source->snapshots, *target, upto);
  if (!steps.ok()) return steps.status();
  // Every stream is planned (and its size estimated) before the first goes.
  std::vector<SendPlan> plans;
  for (const ReplicationStep& s : *steps) {
    SendVolumeParams params;
    params.volume = volume;
    params.snapshot = s.snapshot;
    params.from_snapshot = s.from;
    absl::StatusOr<SendPlan> plan = volumes_.PlanSend(params);
    if (!plan.ok()) return plan.status();
    if (observer.more_to_send) observer.more_to_send(static_cast<int64_t>(plan->estimated_bytes));
    *unsent += static_cast<int64_t>(plan->estimated_bytes);
    plans.push_back(std::move(*plan));
  }
  for (const SendPlan& plan : plans) {
    if (cancel.cancelled()) return absl::CancelledError("replication cancelled");
    step(plan.from_snapshot.empty()
             ? absl::StrCat("sending ", plan.snapshot.name, " in full")
             : absl::StrCat("sending ", plan.snapshot.name, " from ", plan.from_snapshot));
    uint64_t sent = 0;
    absl::Status s = SendStream(plan, bandwidth_limit, cancel, observer, &sent);
    if (sent_bytes != nullptr) *sent_bytes += sent;
    // A stream counts as sent in full once it is done, part of it if not.
    *unsent -= s.ok() ? static_cast<int64_t>(plan.estimated_bytes)
                      : std::min<int64_t>(static_cast<int64_t>(sent),
                                          static_cast<int64_t>(plan.estimated_bytes));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Replicator::ReplicateTemplate(const std::string& name, uint64_t bandwidth_limit,
                                           CancelToken& cancel,
                                           const ReplicationObserver& observer) {
  absl::StatusOr<SendPlan> plan = volumes_.PlanSendTemplate(name);
  if (!plan.ok()) return plan.status();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  ListTemplatesResponse templates;
  grpc::Status listed = peer_->ListTemplates(&ctx, ListTemplatesRequest(), &templates);
  if (!listed.ok()) return FromTarget(listed, "list templates");
  for (const Template& t : templates.templates()) {
    if (t.name() != name) continue;
    if (t.id() == plan->volume_id) return absl::OkStatus();  // there already
    return absl::FailedPreconditionError(absl::StrCat(
        "replicate template '", name, "': the target has another template of that name (id ",
        t.id(), ", here ", plan->volume_id, "); delete it there first"));
  }
  if (observer.more_to_send) observer.more_to_send(static_cast<int64_t>(plan->estimated_bytes));
  if (observer.step) observer.step(absl::StrCat("sending template ", name));
  return SendStream(*plan, bandwidth_limit, cancel, observer, nullptr);
}

absl::Status Replicator::SendStream(const SendPlan& plan, uint64_t bandwidth_limit,
                                    CancelToken& cancel, const ReplicationObserver& observer,
                                    uint64_t* sent_bytes) {
  const std::string what =
      plan.template_name.empty()
          ? absl::StrCat("replicate '", plan.volume_name, "@", plan.snapshot.name, "'")
          : absl::StrCat("replicate template '", plan.template_name, "'");
  UniqueFd read_end, write_end;
  if (absl::Status s = MakeStreamPipe(&read_end, &write_end); !s.ok()) {
    return absl::InternalError(absl::StrCat(what, ": ", s.message()));
  }
  grpc::ClientContext ctx;  // no deadline: as long as the stream takes
  CancelToken::Registration on_cancel(cancel, [&ctx] { ctx.TryCancel(); });
  ReceiveVolumeResponse response;
  std::unique_ptr<grpc::ClientWriter<ReceiveVolumeRequest>> writer =
      peer_->ReceiveVolume(&ctx, &response);
  ReceiveVolumeRequest first;
  if (plan.template_name.empty()) {
    first.mutable_target()->set_volume_name(plan.volume_name);
    first.mutable_target()->set_snapshot_id(plan.snapshot.id);
    first.mutable_target()->set_last_stream(last_streams_);
  } else {
    first.mutable_target()->set_template_name(plan.template_name);
  }
  first.mutable_target()->set_volume_id(plan.volume_id);
  bool open = writer->Write(first);

  absl::Status sent;
  std::thread sender([&] {
    sent = volumes_.Send(plan, write_end.get());
    write_end.Reset();
  });
  const auto started = std::chrono::steady_clock::now();
  uint64_t total = 0;
  absl::Status read_failure;
  // The stream is read straight into the message, which is reused: one
  // copy less per chunk than reading into a buffer and copying that in.
  ReceiveVolumeRequest message;
  std::string& chunk = *message.mutable_data();
  while (open) {
    ssize_t n = ReadChunk(read_end.get(), kChunkBytes, chunk);
    if (n < 0) {
      read_failure = absl::InternalError(absl::StrCat(what, ": reading the stream: errno ", errno));
      break;
    }
    if (n == 0) break;
    open = writer->Write(message);
    total += static_cast<uint64_t>(n);
    if (sent_bytes != nullptr) *sent_bytes += static_cast<uint64_t>(n);
    if (observer.sent) observer.sent(static_cast<uint64_t>(n));
    if (bandwidth_limit > 0) {
      // Wait until the average rate is back at the limit.
      const auto due =
          started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(static_cast<double>(total) /
                                                      static_cast<double>(bandwidth_limit)));
      while (std::chrono::steady_clock::now() < due && !cancel.cancelled()) {
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            due - std::chrono::steady_clock::now(), std::chrono::milliseconds(100)));
      }
    }
  }
  read_end.Reset();  // a send still writing stops with EPIPE
  sender.join();
  // A send that failed here (not because the target stopped reading) must
  // not look like the stream's end to the target: the call is cancelled,
  // and the send's failure is the one reported.
  const bool send_failed = !sent.ok() && !absl::IsCancelled(sent);
  if (send_failed || !read_failure.ok()) {
    ctx.TryCancel();
  } else if (open) {
    writer->WritesDone();
  }
  grpc::Status received = writer->Finish();
  if (send_failed) return Annotate(sent, what);
  if (!read_failure.ok()) return read_failure;
  // The target's word next: it may have what this stream makes already
  // (a retry) and answer OK without reading it, or refuse it, which ends
  // the send here with EPIPE.
  if (!received.ok()) {
    if (cancel.cancelled()) {
      return absl::CancelledError(
          absl::StrCat(what, ": cancelled; the target keeps what arrived for the next attempt"));
    }
    return FromTarget(received, what);
  }
  LogInfo(what, ": done (", total, " bytes)");
  if (observer.snapshot_sent) observer.snapshot_sent(plan.snapshot.name);
  return absl::OkStatus();
}

}  // namespace mvirt::zfs
