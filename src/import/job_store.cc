#include "import/job_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/names.h"

namespace mvirt::zfs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kSuffix[] = ".json";
constexpr char kTempSuffix[] = ".json.tmp";

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

json TemplateToJson(const TemplateInfo& t) {
  return json{{"id", t.id},
              {"name", t.name},
              {"snapshot_path", t.snapshot_path},
              {"source_volume", t.source_volume},
              {"import_source", t.import_source},
              {"size_bytes", t.size_bytes},
              {"created_at", t.created_at},
              {"clone_count", t.clone_count}};
}

TemplateInfo TemplateFromJson(const json& j) {
  TemplateInfo t;
  t.id = j.at("id").get<std::string>();
  t.name = j.at("name").get<std::string>();
  t.snapshot_path = j.at("snapshot_path").get<std::string>();
  t.source_volume = j.value("source_volume", "");
  t.import_source = j.value("import_source", "");
  t.size_bytes = j.at("size_bytes").get<uint64_t>();
  t.created_at = j.at("created_at").get<int64_t>();
  t.clone_count = j.value("clone_count", 0u);
  return t;
}

}  // namespace

std::string ImportJobToJson(const ImportJobInfo& job) {
  json j = {{"id", job.id},
            {"template_name", job.template_name},
            {"template_id", job.template_id},
            {"source", job.source},
            {"state", std::string(ImportStateName(job.state))},
            {"bytes_written", job.bytes_written},
            {"total_bytes", job.total_bytes},
            {"downloaded_bytes", job.downloaded_bytes},
            {"download_total_bytes", job.download_total_bytes},
            {"format", job.format},
            {"sha256", job.sha256},
            {"created_at", job.created_at}};
  if (job.size_bytes) j["size_bytes"] = *job.size_bytes;
  if (job.error) j["error"] = *job.error;
  if (job.template_info) j["template"] = TemplateToJson(*job.template_info);
  if (job.completed_at) j["completed_at"] = *job.completed_at;
  return j.dump(2);
}

absl::StatusOr<ImportJobInfo> ImportJobFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  try {
    ImportJobInfo job;
    job.id = j.at("id").get<std::string>();
    if (absl::Status s = ValidateId(job.id); !s.ok()) return s;
    job.template_name = j.at("template_name").get<std::string>();
    job.template_id = j.at("template_id").get<std::string>();
    job.source = j.at("source").get<std::string>();
    std::optional<ImportState> state = ParseImportState(j.at("state").get<std::string>());
    if (!state) return absl::InvalidArgumentError("unknown state");
    job.state = *state;
    job.bytes_written = j.at("bytes_written").get<uint64_t>();
    job.total_bytes = j.at("total_bytes").get<uint64_t>();
    job.downloaded_bytes = j.value("downloaded_bytes", uint64_t{0});
    job.download_total_bytes = j.value("download_total_bytes", uint64_t{0});
    job.format = j.value("format", "");
    job.sha256 = j.value("sha256", "");
    job.created_at = j.at("created_at").get<int64_t>();
    if (j.contains("size_bytes")) job.size_bytes = j["size_bytes"].get<uint64_t>();
    if (j.contains("error")) job.error = j["error"].get<std::string>();
    if (j.contains("template")) job.template_info = TemplateFromJson(j["template"]);
    if (j.contains("completed_at")) job.completed_at = j["completed_at"].get<int64_t>();
    return job;
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed job record: ", e.what()));
  }
}

std::string JobStore::PathOf(const std::string& id) const {
  return absl::StrCat(directory_, "/", id, kSuffix);
}

absl::Status JobStore::Open() {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("create job directory ", directory_, ": ", ec.message()));
  }
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    if (absl::EndsWith(entry.path().filename().string(), kTempSuffix)) fs::remove(entry.path(), ec);
  }
  return absl::OkStatus();
}

std::vector<ImportJobInfo> JobStore::LoadAll() const {
  std::vector<ImportJobInfo> jobs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!absl::EndsWith(name, kSuffix) || absl::EndsWith(name, kTempSuffix)) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<ImportJobInfo> job = ImportJobFromJson(text.str());
    if (!job.ok()) {
      LogWarning("ignoring job record ", entry.path().string(), ": ", job.status().message());
      continue;
    }
    jobs.push_back(std::move(*job));
  }
  return jobs;
}

absl::Status JobStore::Save(const ImportJobInfo& job) {
  const std::string path = PathOf(job.id);
  const std::string temp = absl::StrCat(directory_, "/", job.id, kTempSuffix);
  const std::string text = ImportJobToJson(job);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("write job record", temp);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  errno = err;
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    absl::Status status = ErrnoError("write job record", path);
    ::unlink(temp.c_str());
    return status;
  }
  int dir = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return absl::OkStatus();
}

absl::Status JobStore::Remove(const std::string& id) {
  const std::string path = PathOf(id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("remove job record", path);
  return absl::OkStatus();
}

}  // namespace mvirt::zfs
