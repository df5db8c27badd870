#include "import/import_runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/sizes.h"
#include "common/status_util.h"
#include "import/http_fetch.h"
#include "import/image_format.h"
#include "import/qemu_img.h"
#include "import/sha256.h"
#include "import/zvol_writer.h"

namespace mvirt::zfs {
namespace {

constexpr size_t kReadChunk = 4 << 20;

absl::Status ErrnoError(absl::string_view what, const std::string& path, int err = errno) {
  absl::StatusCode code = err == ENOENT ? absl::StatusCode::kNotFound
                          : err == EACCES || err == EPERM ? absl::StatusCode::kPermissionDenied
                                                          : absl::StatusCode::kUnavailable;
  return absl::Status(code, absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

// An open file descriptor, closed on destruction.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// A temporary download: written in order, removed on destruction.
class TempFileSink final : public ByteSink {
 public:
  static absl::StatusOr<std::unique_ptr<TempFileSink>> Create(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError("create temporary file", path);
    return std::unique_ptr<TempFileSink>(new TempFileSink(path, fd));
  }
  ~TempFileSink() override {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  absl::Status Write(absl::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return ErrnoError("write to", path_, n < 0 ? errno : EIO);
      data.remove_prefix(n);
      size_ += n;
    }
    return absl::OkStatus();
  }
  absl::Status Finish() override { return absl::OkStatus(); }  // read back at once, never kept
  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }

 private:
  TempFileSink(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  const std::string path_;
  const int fd_;
  uint64_t size_ = 0;
};

absl::Status ChecksumMismatch(const std::string& expected, const std::string& actual) {
  return absl::InvalidArgumentError(absl::StrCat("SHA-256 mismatch: the source has ", actual,
                                                 ", expected ", expected));
}

class ImportRun final : private HttpBodyReceiver {
 public:
  ImportRun(const ImportSpec& spec, const ImportOptions& options, VolumeManager& volumes,
            CancelToken& cancel, ImportProgress& progress)
      : spec_(spec), options_(options), volumes_(volumes), cancel_(cancel), progress_(progress) {}

  ~ImportRun() override { Discard(); }

  absl::StatusOr<TemplateInfo> Run() {
    absl::StatusOr<TemplateInfo> result = spec_.source.kind == ImportSource::Kind::kLocalFile
                                              ? FromLocalFile()
                                              : FromUrl();
    if (!result.ok()) {
      Discard();
      download_.reset();
      if (cancel_.cancelled()) return absl::CancelledError("cancelled");
    }
    return result;
  }

 private:
  // --- Local files ---

  absl::StatusOr<TemplateInfo> FromLocalFile() {
    const std::string& path = spec_.source.location;
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0) return ErrnoError("open", spec_.source.display);
    if (absl::Status s = CheckOpenedFileAllowed(fd.get(), options_); !s.ok()) return s;
    return FromOpenFile(fd.get(), /*hash=*/!spec_.sha256.empty());
  }

  // Imports the regular file open as `fd`; with `hash`, verifies its
  // SHA-256 against the expected one.
  absl::StatusOr<TemplateInfo> FromOpenFile(int fd, bool hash) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoError("stat", spec_.source.display);
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(spec_.source.display, " is not a regular file"));
    }
    std::string head(kFormatProbeBytes, '\0');
    ssize_t n = ::pread(fd, head.data(), head.size(), 0);
    if (n < 0) return ErrnoError("read", spec_.source.display);
    head.resize(n);
    absl::StatusOr<ImageFormat> format = DetectImageFormat(head);
    if (!format.ok()) return format.status();
    progress_.SetFormat(ImageFormatName(*format));
    if (*format == ImageFormat::kQcow2) {
      progress_.EnterState(ImportState::kConverting);
      if (hash) {
        if (absl::Status s = VerifyFileChecksum(fd, st.st_size); !s.ok()) return s;
      }
      // qemu-img reads the very file opened and checked here.
      return FromQcow2(absl::StrCat("/proc/", ::getpid(), "/fd/", fd));
    }
    return FromRawFile(fd, st.st_size, hash);
  }

  absl::Status VerifyFileChecksum(int fd, uint64_t size) {
    Sha256 hasher;
    std::vector<char> buffer(kReadChunk);
    for (uint64_t offset = 0; offset < size;) {
      if (cancel_.cancelled()) return absl::CancelledError("cancelled");
      ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("read", spec_.source.display);
      if (n == 0) break;
      hasher.Update(absl::string_view(buffer.data(), n));
      offset += n;
    }
    std::string actual = hasher.FinishHex();
    return actual == spec_.sha256 ? absl::OkStatus() : ChecksumMismatch(spec_.sha256, actual);
  }

  absl::StatusOr<TemplateInfo> FromRawFile(int fd, uint64_t size, bool hash) {
    progress_.EnterState(ImportState::kWriting);
    if (absl::Status s = CheckImageSize(size); !s.ok()) return s;
    progress_.SetTotal(size);
    if (absl::Status s = CreateStaging(size); !s.ok()) return s;
    absl::StatusOr<std::unique_ptr<ZvolWriter>> writer =
        ZvolWriter::Open(staging_->device, staging_->volsize, staging_->volblocksize);
    if (!writer.ok()) return writer.status();
    Sha256 hasher;
    std::vector<char> buffer(kReadChunk);
    uint64_t offset = 0;
    while (offset < size) {
      if (cancel_.cancelled()) return absl::CancelledError("cancelled");
      ssize_t n = ::pread(fd, buffer.data(), std::min<uint64_t>(buffer.size(), size - offset), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("read", spec_.source.display);
      if (n == 0) {
        return absl::DataLossError(absl::StrCat(spec_.source.display,
                                                " shrank while it was imported"));
      }
      absl::string_view data(buffer.data(), n);
      if (hash) hasher.Update(data);
      if (absl::Status s = (*writer)->Write(data); !s.ok()) return s;
      offset += n;
      progress_.SetWritten(offset);
    }
    if (absl::Status s = (*writer)->Finish(); !s.ok()) return s;
    writer->reset();  // closes the device, which must not be open when it becomes a template
    if (hash) {
      std::string actual = hasher.FinishHex();
      if (actual != spec_.sha256) return ChecksumMismatch(spec_.sha256, actual);
    }
    return Complete();
  }

  absl::StatusOr<TemplateInfo> FromQcow2(const std::string& path) {
    progress_.EnterState(ImportState::kConverting);
    absl::StatusOr<QemuImgInfo> info = InspectQcow2(options_.qemu_img, path, cancel_);
    if (!info.ok()) return info.status();
    if (absl::Status s = CheckQcow2IsSafe(*info, options_.max_image_bytes); !s.ok()) return s;
    if (absl::Status s = CheckQcow2Consistency(options_.qemu_img, path, cancel_); !s.ok()) return s;
    const uint64_t size = info->virtual_size;
    progress_.SetTotal(size);
    if (absl::Status s = CreateStaging(size); !s.ok()) return s;
    absl::Status converted = ConvertQcow2ToDevice(
        options_.qemu_img, path, staging_->device, cancel_, [&](double fraction) {
          progress_.SetWritten(static_cast<uint64_t>(fraction * static_cast<double>(size)));
        });
    if (!converted.ok()) return converted;
    if (absl::Status s = FlushDevice(staging_->device); !s.ok()) return s;
    return Complete();
  }

  // --- URLs ---

  absl::StatusOr<TemplateInfo> FromUrl() {
    HttpFetchOptions fetch;
    fetch.allow_http = options_.allow_http;
    fetch.ca_file = options_.ca_file;
    fetch.connect_timeout = options_.connect_timeout;
    fetch.stall_timeout = options_.stall_timeout;
    fetch.max_redirects = options_.max_redirects;
    fetch.max_bytes = options_.max_image_bytes;
    absl::Status fetched =
        HttpFetch(spec_.source.location, spec_.source.display, fetch, *this, cancel_);
    if (fetched.ok() && sink_ == nullptr) fetched = ChooseSink();  // a body under 512 bytes
    if (fetched.ok()) fetched = sink_->Finish();
    if (!fetched.ok()) return fetched;
    sink_ = nullptr;
    owned_sink_.reset();  // closes the zvol's device (streamed) before it becomes a template
    if (!spec_.sha256.empty()) {
      std::string actual = hasher_.FinishHex();
      if (actual != spec_.sha256) return ChecksumMismatch(spec_.sha256, actual);
    }
    if (streamed_) return Complete();
    // The download is complete: import it as a local file.
    Fd fd(::open(download_->path().c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return ErrnoError("open", download_->path());
    return FromOpenFile(fd.get(), /*hash=*/false);
  }

  absl::Status OnStart(std::optional<uint64_t> content_length) override {
    announced_ = content_length;
    progress_.SetDownloaded(0, content_length.value_or(0));
    return absl::OkStatus();
  }

  absl::Status OnData(absl::string_view data) override {
    if (cancel_.cancelled()) return absl::CancelledError("cancelled");
    if (!spec_.sha256.empty()) hasher_.Update(data);
    received_ += data.size();
    progress_.SetDownloaded(received_, announced_.value_or(0));
    if (sink_ == nullptr) {
      // Hold the first bytes back until the format is known.
      head_.append(data.data(), data.size());
      if (head_.size() < kFormatProbeBytes) return absl::OkStatus();
      return ChooseSink();
    }
    if (absl::Status s = sink_->Write(data); !s.ok()) return s;
    if (streamed_) progress_.SetWritten(received_);
    return absl::OkStatus();
  }

  // Decides from the first bytes where the body goes, then writes them there:
  // a raw image of announced length streams into the zvol; anything else is
  // downloaded first.
  absl::Status ChooseSink() {
    absl::StatusOr<ImageFormat> format = DetectImageFormat(head_);
    if (!format.ok()) return format.status();
    progress_.SetFormat(ImageFormatName(*format));
    if (*format == ImageFormat::kRaw && announced_.has_value()) {
      progress_.EnterState(ImportState::kWriting);
      if (absl::Status s = CheckImageSize(*announced_); !s.ok()) return s;
      progress_.SetTotal(*announced_);
      if (absl::Status s = CreateStaging(*announced_); !s.ok()) return s;
      absl::StatusOr<std::unique_ptr<ZvolWriter>> writer =
          ZvolWriter::Open(staging_->device, staging_->volsize, staging_->volblocksize);
      if (!writer.ok()) return writer.status();
      owned_sink_ = std::move(*writer);
      sink_ = owned_sink_.get();
      streamed_ = true;
    } else {
      progress_.EnterState(ImportState::kDownloading);
      absl::StatusOr<std::unique_ptr<TempFileSink>> file = TempFileSink::Create(
          absl::StrCat(options_.state_dir, "/tmp/", spec_.job_id, ".download"));
      if (!file.ok()) return file.status();
      download_ = std::move(*file);
      sink_ = download_.get();
    }
    absl::Status written = sink_->Write(head_);
    if (written.ok() && streamed_) progress_.SetWritten(received_);
    head_.clear();
    return written;
  }

  // --- Common steps ---

  absl::Status CheckImageSize(uint64_t size) const {
    if (size == 0) return absl::InvalidArgumentError("the image is empty");
    if (size > options_.max_image_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the image is ", size, " bytes (", FormatSize(size), "), above the import limit of ",
          options_.max_image_bytes, " bytes (", FormatSize(options_.max_image_bytes),
          ", --import-max-size)"));
    }
    return absl::OkStatus();
  }

  // The staging zvol for an image of `image_size` bytes (or the larger size
  // the caller asked for).
  absl::Status CreateStaging(uint64_t image_size) {
    uint64_t size = image_size;
    if (spec_.size_bytes.has_value()) {
      if (*spec_.size_bytes < image_size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the requested size ", *spec_.size_bytes, " bytes is smaller than the image (",
            image_size, " bytes, ", FormatSize(image_size), ")"));
      }
      size = *spec_.size_bytes;
    }
    StagingVolumeParams params;
    params.template_name = spec_.template_name;
    params.template_id = spec_.template_id;
    params.job_id = spec_.job_id;
    params.import_source = spec_.source.display;
    params.size_bytes = size;
    absl::StatusOr<StagingVolume> staging = volumes_.CreateStagingVolume(params);
    if (!staging.ok()) return staging.status();
    staging_ = std::move(*staging);
    return absl::OkStatus();
  }

  static absl::Status FlushDevice(const std::string& device) {
    Fd fd(::open(device.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0) return ErrnoError("flush", device);
    return absl::OkStatus();
  }

  absl::StatusOr<TemplateInfo> Complete() {
    if (cancel_.cancelled()) return absl::CancelledError("cancelled");
    absl::StatusOr<TemplateInfo> info = volumes_.CompleteStagingVolume(*staging_);
    if (info.ok()) staging_.reset();  // it is the template now
    return info;
  }

  void Discard() {
    if (!staging_.has_value()) return;
    sink_ = nullptr;  // a ZvolWriter holds the device open
    owned_sink_.reset();
    if (absl::Status s = volumes_.DiscardStagingVolume(*staging_); !s.ok()) LogError(s.message());
    staging_.reset();
  }

  const ImportSpec& spec_;
  const ImportOptions& options_;
  VolumeManager& volumes_;
  CancelToken& cancel_;
  ImportProgress& progress_;

  std::optional<StagingVolume> staging_;
  // Download state (URLs).
  std::optional<uint64_t> announced_;
  uint64_t received_ = 0;
  std::string head_;
  Sha256 hasher_;
  std::unique_ptr<TempFileSink> download_;
  std::unique_ptr<ByteSink> owned_sink_;  // the ZvolWriter of a streamed body
  ByteSink* sink_ = nullptr;              // owned_sink_ or download_
  bool streamed_ = false;
};

}  // namespace

absl::StatusOr<TemplateInfo> RunImport(const ImportSpec& spec, const ImportOptions& options,
                                       VolumeManager& volumes, CancelToken& cancel,
                                       ImportProgress& progress) {
  ImportRun run(spec, options, volumes, cancel, progress);
  return run.Run();
}

}  // namespace mvirt::zfs
