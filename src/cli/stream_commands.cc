// volume send|receive|receive-state|abort-receive: a volume's snapshot as a
// ZFS send stream on stdout, and such a stream from stdin made a volume.
#include <errno.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/formatters.h"
#include "cli/output.h"
#include "common/stream_pipe.h"

namespace mvirt::zfs::cli {
namespace {

// Bytes per ReceiveVolume message.
constexpr size_t kChunkBytes = 256 * 1024;

// Shows a transfer's progress on stderr when it is a terminal, at most
// every 200 ms, and clears the line at the end.
class Progress {
 public:
  explicit Progress(std::string what) : what_(std::move(what)) {}
  void Update(uint64_t done, uint64_t total) {
    if (!terminal_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - shown_at_ < std::chrono::milliseconds(200)) return;
    shown_at_ = now;
    std::string line = absl::StrCat(what_, ": ", FormatSizeWithBytes(done));
    if (total > 0) {
      absl::StrAppend(&line, " of about ", FormatSizeWithBytes(total), " (",
                      std::min<uint64_t>(100, done * 100 / total), "%)");
    }
    std::cerr << "\r" << line << "\x1b[K" << std::flush;
  }
  ~Progress() {
    if (terminal_) std::cerr << "\r\x1b[K" << std::flush;
  }

 private:
  const std::string what_;
  const bool terminal_ = ::isatty(STDERR_FILENO) == 1;
  std::chrono::steady_clock::time_point shown_at_;
};

struct SendArgs {
  std::string volume;
  std::string snapshot;
  std::string from;
  uint64_t from_guid = 0;
  std::string resume_token;
  bool raw = false;
};

int RunSend(const GlobalOptions& options, const SendArgs& args) {
  if (::isatty(STDOUT_FILENO) == 1) {
    PrintError("volume send writes a binary stream: redirect stdout to a file or a pipe");
    return kExitUsage;
  }
  SendVolumeRequest request;
  request.set_volume_name(args.volume);
  request.set_snapshot_name(args.snapshot);
  request.set_from_snapshot(args.from);
  request.set_from_guid(args.from_guid);
  request.set_resume_token(args.resume_token);
  if (args.raw) request.set_raw(true);
  ZfsClient client(options.connection);
  grpc::ClientContext context;  // no deadline: as long as the stream takes
  std::unique_ptr<grpc::ClientReader<SendVolumeResponse>> reader =
      client.stub().SendVolume(&context, request);
  Progress progress(absl::StrCat("sending ", args.volume));
  SendVolumeResponse message;
  uint64_t total = 0, sent = 0;
  while (reader->Read(&message)) {
    if (message.has_info()) total = message.info().estimated_bytes();
    if (!WriteFull(STDOUT_FILENO, message.data())) {
      context.TryCancel();
      reader->Finish();
      PrintError(absl::StrCat("volume send: writing to stdout failed (errno ", errno, ")"));
      return kExitRpcError;
    }
    sent += message.data().size();
    progress.Update(sent, total);
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return ReportRpcError(status, options.connection);
  return kExitOk;
}

void AddSendCommand(CLI::App& volume, CommandContext& context) {
  auto args = std::make_shared<SendArgs>();
  CLI::App* command =
      volume.add_subcommand("send", "Write a snapshot of a volume to stdout as a ZFS send stream");
  command->add_option("NAME", args->volume, "Volume name")->required();
  command->add_option("SNAPSHOT", args->snapshot, "Snapshot to send (none with --resume-token)");
  command->add_option("--from", args->from, "Send only what changed since this earlier snapshot")
      ->type_name("SNAPSHOT");
  command
      ->add_option("--from-guid", args->from_guid,
                   "Send only what changed since the snapshot with this guid")
      ->type_name("GUID");
  command
      ->add_option("--resume-token", args->resume_token,
                   "Send the rest of an interrupted receive (its token: volume receive-state)")
      ->type_name("TOKEN");
  command->add_flag("--raw", args->raw,
                    "Send the blocks as they are on disk (zfs send -w) even for a volume that "
                    "is not encrypted (an encrypted one is always sent raw)");
  command->footer(
      "The stream is what `zfs send -Lec` writes for the snapshot (`-Lecw` for an encrypted\n"
      "volume: it arrives encrypted, and its key is needed to read it there): `volume\n"
      "receive` (or `zfs receive`) makes it a volume again. Progress is shown on stderr\n"
      "when it is a terminal. No --timeout applies.");
  SetAction(command, context,
            [&options = context.options, args] { return RunSend(options, *args); });
}

struct ReceiveArgs {
  std::string volume;
  std::string id;
  std::string snapshot_id;
  bool last_stream = false;
};

void PrintReceived(const ReceiveVolumeResponse& response, std::ostream& out) {
  out << "received snapshot " << response.snapshot().name() << " ("
      << FormatSizeWithBytes(response.received_bytes()) << " of stream)\n";
  PrintVolume(response.volume(), out);
}

int RunReceive(const GlobalOptions& options, const ReceiveArgs& args) {
  if (::isatty(STDIN_FILENO) == 1) {
    PrintError("volume receive reads a binary stream: redirect stdin from a file or a pipe");
    return kExitUsage;
  }
  ZfsClient client(options.connection);
  grpc::ClientContext context;  // no deadline: as long as the stream takes
  ReceiveVolumeResponse response;
  std::unique_ptr<grpc::ClientWriter<ReceiveVolumeRequest>> writer =
      client.stub().ReceiveVolume(&context, &response);
  ReceiveVolumeRequest first;
  first.mutable_target()->set_volume_name(args.volume);
  first.mutable_target()->set_volume_id(args.id);
  first.mutable_target()->set_snapshot_id(args.snapshot_id);
  first.mutable_target()->set_last_stream(args.last_stream);
  bool open = writer->Write(first);
  Progress progress(absl::StrCat("receiving ", args.volume));
  uint64_t read_total = 0;
  ReceiveVolumeRequest message;  // reused: stdin is read straight into it
  std::string& chunk = *message.mutable_data();
  while (open) {
    ssize_t n = ReadChunk(STDIN_FILENO, kChunkBytes, chunk);
    if (n < 0) {
      // The daemon keeps what arrived for a resume; say so by its status.
      context.TryCancel();
      writer->Finish();
      PrintError(absl::StrCat("volume receive: reading stdin failed (errno ", errno, ")"));
      return kExitRpcError;
    }
    if (n == 0) break;
    open = writer->Write(message);  // false: the daemon ended the call (its status says why)
    read_total += static_cast<uint64_t>(n);
    progress.Update(read_total, 0);
  }
  if (open) writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return ReportRpcError(status, options.connection);
  return PrintMessage(options, response, PrintReceived);
}

void AddReceiveCommand(CLI::App& volume, CommandContext& context) {
  auto args = std::make_shared<ReceiveArgs>();
  CLI::App* command = volume.add_subcommand(
      "receive", "Make a volume (or its next snapshot) from a ZFS send stream on stdin");
  command->add_option("NAME", args->volume, "Volume name")->required();
  command->add_option("--id", args->id, "Id of the new volume (a full stream; default: new)")
      ->type_name("UUID");
  command
      ->add_option("--snapshot-id", args->snapshot_id, "Id of the received snapshot (default: new)")
      ->type_name("UUID");
  command->add_flag("--last", args->last_stream,
                    "The volume stops being a replica: hold none of its snapshots as a base");
  command->footer(
      "A full stream makes the new volume NAME; an incremental one adds its snapshot to\n"
      "the existing volume NAME, whose device must not be open. A stream cut short is\n"
      "kept: `volume receive-state NAME` shows the token that `volume send\n"
      "--resume-token` continues from, `volume abort-receive NAME` drops it.\n"
      "The received snapshot is held (zfs hold mvirt-zfs:replication-base) as the base\n"
      "of the next increment, and the volume's older snapshots are released.");
  SetAction(command, context,
            [&options = context.options, args] { return RunReceive(options, *args); });
}

void PrintReceiveState(const ReceiveState& state, std::ostream& out) {
  if (state.resume_token().empty()) {
    out << "no interrupted receive into " << state.volume_name() << "\n";
    return;
  }
  out << "interrupted receive into " << state.volume_name()
      << (state.creating() ? " (a new volume)" : " (a new snapshot)") << "\n"
      << "resume token: " << state.resume_token() << "\n";
}

void AddReceiveStateCommands(CLI::App& volume, CommandContext& context) {
  auto name = std::make_shared<std::string>();
  CLI::App* state = volume.add_subcommand(
      "receive-state", "Show the resume token of an interrupted receive into a volume name");
  state->add_option("NAME", *name, "Volume name")->required();
  SetAction(state, context, [&options = context.options, name] {
    GetReceiveStateRequest request;
    request.set_volume_name(*name);
    return CallAndPrint(options, &ZfsService::Stub::GetReceiveState, request, PrintReceiveState);
  });

  auto abort_name = std::make_shared<std::string>();
  CLI::App* abort = volume.add_subcommand(
      "abort-receive", "Drop what an interrupted receive into a volume name kept");
  abort->add_option("NAME", *abort_name, "Volume name")->required();
  SetAction(abort, context, [&options = context.options, abort_name] {
    AbortReceiveRequest request;
    request.set_volume_name(*abort_name);
    return CallAndPrint(options, &ZfsService::Stub::AbortReceive, request,
                        [&](const AbortReceiveResponse&, std::ostream& out) {
                          out << "dropped the interrupted receive into " << *abort_name << "\n";
                        });
  });
}

}  // namespace

void AddVolumeStreamCommands(CLI::App& volume, CommandContext& context) {
  AddSendCommand(volume, context);
  AddReceiveCommand(volume, context);
  AddReceiveStateCommands(volume, context);
}

}  // namespace mvirt::zfs::cli
