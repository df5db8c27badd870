#include "import/qemu_img.h"

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/sizes.h"
#include "common/subprocess.h"
#include "import/qemu_img_sandbox.h"

namespace mvirt::zfs {
namespace {

constexpr uint64_t kInfoAddressSpace = kGiB;
constexpr uint64_t kInfoCpuSeconds = 30;
constexpr uint64_t kCheckCpuSeconds = 120;
// info and check write no file: whatever tries is stopped (SIGXFSZ).
constexpr uint64_t kInfoFileSize = kMiB;

std::string StringField(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

bool BoolField(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

// What one qemu-img run sees: the image (at kSandboxImage), the target
// device (at kSandboxTarget; "" for none), and its arguments.
struct QemuImgRun {
  const std::string& qemu_img;
  const std::string& image;
  std::string target_device;
  std::vector<std::string> args;
};

// Runs qemu-img in its sandbox with `run.args`, under the limits of
// `options` (its argv is set here), killing it if `cancel` fires; passes its
// stdout to `on_stdout`. CANCELLED if killed for `cancel`;
// FAILED_PRECONDITION if it cannot be run sandboxed.
absl::StatusOr<SubprocessResult> RunQemuImg(
    const QemuImgRun& run, SubprocessOptions options, CancelToken& cancel,
    const std::function<void(absl::string_view)>& on_stdout) {
  absl::StatusOr<QemuImgSandbox> sandbox =
      PrepareQemuImgSandbox(run.qemu_img, run.image, run.target_device);
  if (!sandbox.ok()) return sandbox.status();
  options.argv = QemuImgSandboxArgv(*sandbox, HostRootEntries(), run.args);
  LogDebug("running qemu-img ", run.args[0], " on ", run.image, ": ",
           absl::StrJoin(options.argv, " "));
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(options);
  if (!child.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot run ", options.argv[0], ": ", child.status().message(), " (install bubblewrap)"));
  }
  CancelToken::Registration kill_on_cancel(cancel, [&] { (*child)->Kill(); });
  SubprocessResult result = (*child)->Wait(on_stdout);
  if (cancel.cancelled()) return absl::CancelledError("cancelled");
  return result;
}

// What `qemu-img <command> -f qcow2 --output=json PATH` printed and how it
// ended; run under the limits for untrusted images.
struct JsonRun {
  SubprocessResult result;
  std::string output;
};
absl::StatusOr<JsonRun> RunQemuImgJson(const std::string& qemu_img, const char* command,
                                       const std::string& path, uint64_t cpu_seconds,
                                       CancelToken& cancel) {
  SubprocessOptions options;
  options.max_address_space_bytes = kInfoAddressSpace;
  options.max_cpu_seconds = cpu_seconds;
  options.max_file_size_bytes = kInfoFileSize;
  JsonRun run;
  absl::StatusOr<SubprocessResult> result =
      RunQemuImg({qemu_img, path, "", {command, "-f", "qcow2", "--output=json", kSandboxImage}},
                 options, cancel, [&](absl::string_view s) {
                   if (run.output.size() < (1 << 20)) run.output.append(s.data(), s.size());
                 });
  if (!result.ok()) return result.status();
  run.result = std::move(*result);
  return run;
}

}  // namespace

absl::StatusOr<QemuImgInfo> ParseQemuImgInfo(absl::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                             /*allow_exceptions=*/false);
  if (!doc.is_object()) return absl::InvalidArgumentError("qemu-img info printed no JSON object");
  auto size = doc.find("virtual-size");
  if (size == doc.end() || !size->is_number_unsigned()) {
    return absl::InvalidArgumentError("qemu-img info reported no virtual size");
  }
  QemuImgInfo info;
  info.format = StringField(doc, "format");
  info.virtual_size = size->get<uint64_t>();
  info.backing_file = StringField(doc, "backing-filename");
  info.encrypted = BoolField(doc, "encrypted");
  auto specific = doc.find("format-specific");
  if (specific != doc.end() && specific->is_object()) {
    auto data = specific->find("data");
    if (data != specific->end() && data->is_object()) {
      info.data_file = StringField(*data, "data-file");
      info.corrupt = BoolField(*data, "corrupt");
      info.encrypted = info.encrypted || data->contains("encrypt");
    }
  }
  return info;
}

absl::StatusOr<QemuImgCheck> ParseQemuImgCheck(absl::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                             /*allow_exceptions=*/false);
  // "check-errors" is always there; the counts only when not zero.
  if (!doc.is_object() || !doc.contains("check-errors")) {
    return absl::InvalidArgumentError("qemu-img check printed no result");
  }
  auto count = [&](const char* key) -> uint64_t {
    auto it = doc.find(key);
    return it != doc.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
  };
  return QemuImgCheck{count("corruptions"), count("check-errors"), count("leaks")};
}

absl::Status CheckQcow2IsSafe(const QemuImgInfo& info, uint64_t max_virtual_size) {
  if (info.format != "qcow2") {
    return absl::InvalidArgumentError(
        absl::StrCat("qemu-img reads the image as '", info.format, "', not qcow2"));
  }
  if (!info.backing_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the qcow2 image has a backing file ('", info.backing_file,
        "'); only self-contained images are imported (qemu-img convert it without one first)"));
  }
  if (!info.data_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the qcow2 image has an external data file ('",
                                                   info.data_file, "'); it is not imported"));
  }
  if (info.encrypted) return absl::InvalidArgumentError("the qcow2 image is encrypted");
  if (info.corrupt) return absl::InvalidArgumentError("the qcow2 image is marked corrupt");
  if (info.virtual_size == 0)
    return absl::InvalidArgumentError("the qcow2 image is empty (virtual size 0)");
  if (info.virtual_size > max_virtual_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the qcow2 image's virtual size ", info.virtual_size, " bytes (",
        FormatSize(info.virtual_size), ") exceeds the import limit of ", max_virtual_size,
        " bytes (", FormatSize(max_virtual_size), ", --import-max-size)"));
  }
  return absl::OkStatus();
}

std::optional<double> QemuImgProgressParser::Feed(absl::string_view chunk) {
  pending_.append(chunk.data(), chunk.size());
  std::optional<double> latest;
  // Reports look like "    (12.34/100%)" followed by '\r' or '\n'.
  size_t end;
  while ((end = pending_.find("/100%)")) != std::string::npos) {
    size_t open = pending_.rfind('(', end);
    double percent = 0;
    if (open != std::string::npos &&
        absl::SimpleAtod(absl::string_view(pending_).substr(open + 1, end - open - 1), &percent) &&
        percent >= 0 && percent <= 100) {
      latest = percent / 100.0;
    }
    pending_.erase(0, end + 6);
  }
  if (pending_.size() > 4096) pending_.erase(0, pending_.size() - 64);  // noise, keep a tail
  return latest;
}

absl::StatusOr<QemuImgInfo> InspectQcow2(const std::string& qemu_img, const std::string& path,
                                         CancelToken& cancel) {
  absl::StatusOr<JsonRun> run = RunQemuImgJson(qemu_img, "info", path, kInfoCpuSeconds, cancel);
  if (!run.ok()) return run.status();
  if (!run->result.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("qemu-img cannot read the qcow2 image (", run->result.Describe(), ")"));
  }
  return ParseQemuImgInfo(run->output);
}

absl::Status CheckQcow2Consistency(const std::string& qemu_img, const std::string& path,
                                   CancelToken& cancel) {
  absl::StatusOr<JsonRun> run = RunQemuImgJson(qemu_img, "check", path, kCheckCpuSeconds, cancel);
  if (!run.ok()) return run.status();
  const SubprocessResult& result = run->result;
  absl::StatusOr<QemuImgCheck> check = ParseQemuImgCheck(run->output);
  // Exit codes: 0 consistent, 3 only leaks, 2 corrupt, 1 the check failed.
  if (check.ok() && (result.exit_code == 0 || result.exit_code == 3) && check->corruptions == 0 &&
      check->check_errors == 0) {
    return absl::OkStatus();
  }
  if (check.ok() && (check->corruptions > 0 || check->check_errors > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the qcow2 image is corrupt or truncated (qemu-img check: ", check->corruptions,
        " corruptions, ", check->check_errors, " errors)"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("qemu-img cannot check the qcow2 image (", result.Describe(), ")"));
}

absl::Status ConvertQcow2ToDevice(const std::string& qemu_img, const std::string& path,
                                  const std::string& device, CancelToken& cancel,
                                  const std::function<void(double)>& on_progress) {
  // -n: the zvol exists; --target-is-zero: it is fresh, so zero blocks are
  // skipped and it stays thin; -t none: O_DIRECT and a flush at the end
  // (the default cache mode does no fdatasync); -W: out-of-order writes.
  QemuImgRun run{qemu_img,
                 path,
                 device,
                 {"convert", "-p", "-f", "qcow2", "-O", "raw", "-n", "--target-is-zero", "-t",
                  "none", "-W", kSandboxImage, kSandboxTarget}};
  QemuImgProgressParser parser;
  absl::StatusOr<SubprocessResult> result =
      RunQemuImg(run, SubprocessOptions(), cancel, [&](absl::string_view s) {
        if (std::optional<double> fraction = parser.Feed(s)) on_progress(*fraction);
      });
  if (!result.ok()) return result.status();
  if (!result->ok()) {
    return absl::InternalError(absl::StrCat("qemu-img convert failed (", result->Describe(), ")"));
  }
  on_progress(1.0);
  return absl::OkStatus();
}

}  // namespace mvirt::zfs
