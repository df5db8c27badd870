// ZfsServiceImpl: the send/receive stream RPCs (see zfs_service.h).
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/call_context.h"
#include "common/log.h"
#include "common/stream_pipe.h"
#include "common/unique_fd.h"
#include "service/call_guard.h"
#include "service/convert.h"
#include "service/zfs_service.h"

namespace mvirt::zfs {
namespace {

// A stream pipe, or INTERNAL naming `op`.
absl::Status MakePipe(const std::string& op, UniqueFd* read_end, UniqueFd* write_end) {
  if (absl::Status s = MakeStreamPipe(read_end, write_end); !s.ok()) {
    return absl::InternalError(absl::StrCat(op, ": ", s.message()));
  }
  return absl::OkStatus();
}

// The current thread's call context, for a thread that works for the call:
// its waits end with the call too.
CallContext InheritedCallContext() {
  const CallContext* call = CallContext::Current();
  return call != nullptr ? *call : CallContext();
}

// The job started, or why not; the audit event names the job.
grpc::Status ReplyJob(CallGuard& guard, const absl::StatusOr<ReplicationJobInfo>& job,
                      ReplicationJob* out) {
  if (!job.ok()) return ToGrpcStatus(job.status());
  ToProto(*job, out);
  guard.NoteObjectId(job->id);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status ZfsServiceImpl::SendVolume(grpc::ServerContext* ctx, const SendVolumeRequest* req,
                                        grpc::ServerWriter<SendVolumeResponse>* writer) {
  // Audited: the volume's data leaves the daemon.
  CallGuard guard(ctx, authorizer_, audit_, "SendVolume",
                  !req->template_name().empty()
                      ? absl::StrCat("template '", req->template_name(), "'")
                      : absl::StrCat("volume '", req->volume_name(), "'",
                                     req->resume_token().empty()
                                         ? absl::StrCat(" snapshot '", req->snapshot_name(), "'")
                                         : " (resumed)"));
  if (!guard.allowed()) return guard.status();
  absl::StatusOr<SendPlan> plan;
  if (!req->template_name().empty()) {
    if (!req->volume_name().empty() || !req->snapshot_name().empty() ||
        !req->from_snapshot().empty() || req->from_guid() != 0 || !req->resume_token().empty() ||
        req->has_raw()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "send template: a template is sent whole (raw if it is encrypted); give "
                          "only template_name");
    }
    plan = volumes_.PlanSendTemplate(req->template_name());
  } else {
    SendVolumeParams params;
    params.volume = req->volume_name();
    params.snapshot = req->snapshot_name();
    params.from_snapshot = req->from_snapshot();
    params.from_guid = req->from_guid();
    params.resume_token = req->resume_token();
    if (req->has_raw()) params.raw = req->raw();
    plan = volumes_.PlanSend(params);
  }
  if (!plan.ok()) return ToGrpcStatus(plan.status());
  guard.NoteObjectId(plan->volume_id);

  SendVolumeResponse first;
  ToProto(*plan, first.mutable_info());
  if (!writer->Write(first)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");

  const std::string op = plan->template_name.empty()
                             ? absl::StrCat("send volume '", req->volume_name(), "'")
                             : absl::StrCat("send template '", req->template_name(), "'");
  UniqueFd read_end, write_end;
  if (absl::Status s = MakePipe(op, &read_end, &write_end); !s.ok()) return ToGrpcStatus(s);
  absl::Status sent;
  std::thread sender([&, context = InheritedCallContext()] {
    ScopedCallContext scope(context);
    sent = volumes_.Send(*plan, write_end.get());
    write_end.Reset();  // EOF for the reader below
  });
  bool client_gone = false;
  absl::Status read_failure;
  // Read straight into the reused message: no copy between.
  SendVolumeResponse message;
  std::string& chunk = *message.mutable_data();
  while (true) {
    ssize_t n = ReadChunk(read_end.get(), kStreamChunkBytes, chunk);
    if (n < 0) {
      read_failure = absl::InternalError(absl::StrCat(op, ": reading the stream: errno ", errno));
      break;
    }
    if (n == 0) break;
    if (!writer->Write(message)) {
      client_gone = true;
      break;
    }
  }
  read_end.Reset();  // a send still writing fails with EPIPE and stops
  sender.join();
  if (client_gone) {
    return grpc::Status(grpc::StatusCode::CANCELLED,
                        absl::StrCat(op, ": the receiver went away; the send stopped"));
  }
  if (!read_failure.ok()) return ToGrpcStatus(read_failure);
  return ToGrpcStatus(sent);
}

grpc::Status ZfsServiceImpl::ReceiveVolume(grpc::ServerContext* ctx,
                                           grpc::ServerReader<ReceiveVolumeRequest>* reader,
                                           ReceiveVolumeResponse* out) {
  // The caller is checked before its first message is read, and again to
  // begin the audit entry, which names the target from that message.
  CallGuard authorized(ctx, authorizer_, audit_, "ReceiveVolume");
  if (!authorized.allowed()) return authorized.status();
  ReceiveVolumeRequest first;
  const bool got_first = reader->Read(&first);
  const bool is_template = !first.target().template_name().empty();
  CallGuard guard(ctx, authorizer_, audit_, "ReceiveVolume",
                  is_template ? absl::StrCat("template '", first.target().template_name(), "'")
                              : absl::StrCat("volume '", first.target().volume_name(), "'"));
  if (!guard.allowed()) return guard.status();
  if (!got_first || !first.has_target()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "receive volume: the first message must name the target (target)");
  }
  if (is_template &&
      (!first.target().volume_name().empty() || !first.target().snapshot_id().empty())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "receive template: give template_name and volume_id (the template's id) "
                        "only");
  }
  ReceiveVolumeParams params;
  params.volume_name = first.target().volume_name();
  params.volume_id = first.target().volume_id();
  params.snapshot_id = first.target().snapshot_id();
  params.last_stream = first.target().last_stream();
  const std::string op =
      is_template ? absl::StrCat("receive template '", first.target().template_name(), "'")
                  : absl::StrCat("receive volume '", params.volume_name, "'");
  absl::StatusOr<TemplateInfo> received_template = absl::UnknownError("not run");

  UniqueFd read_end, write_end;
  if (absl::Status s = MakePipe(op, &read_end, &write_end); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<ReceiveResult> received = absl::UnknownError("not run");
  std::thread receiver([&, context = InheritedCallContext()] {
    ScopedCallContext scope(context);
    if (is_template) {
      received_template = volumes_.ReceiveTemplate(
          {first.target().template_name(), first.target().volume_id()}, read_end.get());
    } else {
      received = volumes_.Receive(params, read_end.get());
    }
    read_end.Reset();  // a writer below fails with EPIPE and stops
  });
  uint64_t fed = 0;
  bool second_target = false;
  bool receiver_stopped = !WriteFull(write_end.get(), first.data());
  if (!receiver_stopped) fed += first.data().size();
  ReceiveVolumeRequest message;
  while (!receiver_stopped && reader->Read(&message)) {
    if (message.has_target()) {
      second_target = true;
      break;
    }
    if (!WriteFull(write_end.get(), message.data())) {
      receiver_stopped = true;
      break;
    }
    fed += message.data().size();
  }
  // The end of the stream (or of the call: a client that went away leaves
  // a stream cut short, which ZFS keeps for a resume).
  write_end.Reset();
  receiver.join();
  const absl::Status outcome = is_template ? received_template.status() : received.status();
  if (second_target && !outcome.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat(op,
                                     ": only the first message may name the target; the stream "
                                     "was ended there (",
                                     outcome.message(), ")"));
  }
  if (second_target) {
    // ZFS had the whole stream before it: the receive is done, and says so.
    LogWarning(op, ": a second target message after the complete stream was ignored");
  }
  if (is_template) {
    if (!received_template.ok()) return ToGrpcStatus(received_template.status());
    guard.NoteObjectId(received_template->id);
    ToProto(*received_template, out->mutable_template_());
    out->set_received_bytes(fed);
    return grpc::Status::OK;
  }
  if (!received.ok()) return ToGrpcStatus(received.status());
  guard.NoteObjectId(received->volume.id);
  ToProto(received->volume, out->mutable_volume());
  ToProto(received->snapshot, out->mutable_snapshot());
  out->set_received_bytes(fed);
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::GetReceiveState(grpc::ServerContext* ctx,
                                             const GetReceiveStateRequest* req, ReceiveState* out) {
  CallGuard guard(ctx, authorizer_, audit_, "GetReceiveState");
  if (!guard.allowed()) return guard.status();
  absl::StatusOr<ReceiveStateInfo> state = volumes_.GetReceiveState(req->volume_name());
  if (!state.ok()) return ToGrpcStatus(state.status());
  ToProto(*state, out);
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::AbortReceive(grpc::ServerContext* ctx, const AbortReceiveRequest* req,
                                          AbortReceiveResponse* out) {
  CallGuard guard(ctx, authorizer_, audit_, "AbortReceive",
                  absl::StrCat("receive into '", req->volume_name(), "'"));
  if (!guard.allowed()) return guard.status();
  absl::Status aborted = volumes_.AbortReceive(req->volume_name());
  if (!aborted.ok()) return ToGrpcStatus(aborted);
  out->set_aborted(true);
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::ReplicateVolume(grpc::ServerContext* ctx,
                                             const ReplicateVolumeRequest* req,
                                             ReplicationJob* out) {
  CallGuard guard(ctx, authorizer_, audit_, "ReplicateVolume",
                  absl::StrCat("volume '", req->volume_name(), "' to ", req->target()));
  if (!guard.allowed()) return guard.status();
  ReplicateParams params;
  params.volume = req->volume_name();
  params.target = req->target();
  params.upto = req->snapshot_name();
  params.bandwidth_limit = req->bandwidth_limit();
  return ReplyJob(guard, replications_.StartReplication(params), out);
}

grpc::Status ZfsServiceImpl::ReplicateTemplate(grpc::ServerContext* ctx,
                                               const ReplicateTemplateRequest* req,
                                               ReplicationJob* out) {
  CallGuard guard(ctx, authorizer_, audit_, "ReplicateTemplate",
                  absl::StrCat("template '", req->template_name(), "' to ", req->target()));
  if (!guard.allowed()) return guard.status();
  ReplicateTemplateParams params;
  params.template_name = req->template_name();
  params.target = req->target();
  params.bandwidth_limit = req->bandwidth_limit();
  return ReplyJob(guard, replications_.StartTemplateReplication(params), out);
}

grpc::Status ZfsServiceImpl::MigrateVolume(grpc::ServerContext* ctx,
                                           const MigrateVolumeRequest* req, ReplicationJob* out) {
  CallGuard guard(ctx, authorizer_, audit_, "MigrateVolume",
                  absl::StrCat("volume '", req->volume_name(), "' to ", req->target(),
                               req->final() ? " (final step)" : ""));
  if (!guard.allowed()) return guard.status();
  MigrateParams params;
  params.volume = req->volume_name();
  params.target = req->target();
  params.final_step = req->final();
  params.bandwidth_limit = req->bandwidth_limit();
  if (req->small_delta_bytes() > 0) params.small_delta_bytes = req->small_delta_bytes();
  if (req->max_rounds() > 0) params.max_rounds = req->max_rounds();
  return ReplyJob(guard, replications_.StartMigration(params), out);
}

grpc::Status ZfsServiceImpl::GetReplicationJob(grpc::ServerContext* ctx,
                                               const GetReplicationJobRequest* req,
                                               ReplicationJob* out) {
  CallGuard guard(ctx, authorizer_, audit_, "GetReplicationJob");
  if (!guard.allowed()) return guard.status();
  absl::StatusOr<ReplicationJobInfo> job = replications_.Get(req->id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  ToProto(*job, out);
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::ListReplicationJobs(grpc::ServerContext* ctx,
                                                 const ListReplicationJobsRequest*,
                                                 ListReplicationJobsResponse* out) {
  CallGuard guard(ctx, authorizer_, audit_, "ListReplicationJobs");
  if (!guard.allowed()) return guard.status();
  for (const ReplicationJobInfo& job : replications_.List()) ToProto(job, out->add_jobs());
  return grpc::Status::OK;
}

grpc::Status ZfsServiceImpl::CancelReplicationJob(grpc::ServerContext* ctx,
                                                  const CancelReplicationJobRequest* req,
                                                  ReplicationJob* out) {
  CallGuard guard(ctx, authorizer_, audit_, "CancelReplicationJob",
                  absl::StrCat("replication job '", req->id(), "'"));
  if (!guard.allowed()) return guard.status();
  absl::StatusOr<ReplicationJobInfo> job = replications_.Cancel(req->id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  ToProto(*job, out);
  return grpc::Status::OK;
}

}  // namespace mvirt::zfs
