#include "import/import_runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/posix_error.h"
#include "common/sizes.h"
#include "common/status_util.h"
#include "common/unique_fd.h"
#include "import/file_copy.h"
#include "import/free_space.h"
#include "import/http_fetch.h"
#include "import/image_format.h"
#include "import/qcow2_header.h"
#include "import/qemu_img.h"
#include "import/sha256.h"
#include "import/zvol_writer.h"

namespace mvirt::zfs {
namespace {

constexpr size_t kReadChunk = 4 << 20;

// A temporary download: written in order (and read back through fd()),
// removed on destruction.
class TempFileSink final : public ByteSink {
 public:
  static absl::StatusOr<std::unique_ptr<TempFileSink>> Create(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return PosixError(absl::StrCat("create temporary file ", path), errno);
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
      if (n <= 0) return PosixError(absl::StrCat("write to ", path_), n < 0 ? errno : EIO);
      data.remove_prefix(n);
      size_ += n;
    }
    return absl::OkStatus();
  }
  absl::Status Finish() override { return absl::OkStatus(); }  // read back at once, never kept
  // The file was filled to `size` bytes through fd() by someone else.
  void FilledTo(uint64_t size) { size_ = size; }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }

 private:
  TempFileSink(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  const std::string path_;
  const int fd_;
  uint64_t size_ = 0;
};

class ImportRun final : private HttpBodyReceiver {
 public:
  ImportRun(const ImportSpec& spec, const ImportOptions& options, VolumeManager& volumes,
            CancelToken& cancel, ImportProgress& progress)
      : spec_(spec), options_(options), volumes_(volumes), cancel_(cancel), progress_(progress) {}

  ~ImportRun() override { Discard(); }

  absl::StatusOr<TemplateInfo> Run() {
    absl::StatusOr<TemplateInfo> result =
        spec_.source.kind == ImportSource::Kind::kLocalFile ? FromLocalFile() : FromUrl();
    if (!result.ok()) {
      Discard();
      download_.reset();
      if (cancel_.cancelled()) return absl::CancelledError("cancelled");
    }
    return result;
  }

 private:
  // --- Local files ---

  // Reads the file that ResolveImportSource opened (never its path again).
  absl::StatusOr<TemplateInfo> FromLocalFile() {
    if (spec_.source.file == nullptr || !*spec_.source.file) {
      return absl::InternalError(
          absl::StrCat("import ", spec_.source.display, ": the source file is not open"));
    }
    const int fd = spec_.source.file->get();
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      return PosixError(absl::StrCat("stat ", spec_.source.display), errno);
    }
    std::string head(kFormatProbeBytes, '\0');
    ssize_t n = ::pread(fd, head.data(), head.size(), 0);
    if (n < 0) return PosixError(absl::StrCat("read ", spec_.source.display), errno);
    head.resize(n);
    absl::StatusOr<ImageFormat> format = DetectImageFormat(head);
    if (!format.ok()) return Annotate(format.status(), spec_.source.display);
    progress_.SetFormat(ImageFormatName(*format));
    if (*format == ImageFormat::kRaw) return FromRawFile(fd, st.st_size);
    // qemu-img reopens its input several times (info, check, convert):
    // give it a private copy, so that what was checked (and hashed) is what
    // is converted, whoever else can write the import directory.
    if (absl::Status s = CopyToPrivateFile(fd, st.st_size); !s.ok()) return s;
    if (absl::Status s = VerifyChecksum(); !s.ok()) return s;
    return FromQcow2();
  }

  // Copies the file open as `fd` into a temporary file (DOWNLOADING), if
  // it fits.
  absl::Status CopyToPrivateFile(int fd, uint64_t size) {
    progress_.EnterState(ImportState::kDownloading);
    if (absl::Status s = CheckImageSize(size); !s.ok()) return s;
    if (absl::Status s = CheckRoomForDownload(size); !s.ok()) return s;
    if (absl::Status s = CreateDownload(); !s.ok()) return s;
    progress_.SetDownloaded(0, size);
    auto on_progress = [&](uint64_t done) { progress_.SetDownloaded(done, size); };
    if (spec_.sha256.empty()) {
      // Nothing to hash on the way: the kernel copies (sharing the blocks
      // where the file system can), unless it cannot between these files.
      absl::Status copied = CopyFileInKernel(
          fd, download_->fd(), size, [&] { return cancel_.cancelled(); }, on_progress);
      if (copied.ok()) {
        download_->FilledTo(size);
        return download_->Finish();
      }
      if (absl::IsDataLoss(copied)) return Shrank();
      if (absl::IsCancelled(copied)) return copied;
      if (!absl::IsUnimplemented(copied)) {
        return Annotate(copied, absl::StrCat("copy ", spec_.source.display));
      }
      LogDebug("import ", spec_.source.display, ": copied through this process (", copied.message(),
               ")");
    }
    if (absl::Status s = Pump(fd, size, *download_, on_progress); !s.ok()) return s;
    return download_->Finish();
  }

  // Feeds the first `size` bytes of the file open as `fd` to `sink` (and to
  // the hash, if a checksum is expected), reporting the bytes done so far.
  absl::Status Pump(int fd, uint64_t size, ByteSink& sink,
                    const std::function<void(uint64_t)>& on_progress) {
    std::vector<char> buffer(kReadChunk);
    // Holes of a sparse source are not read (they are zeros by definition)
    // unless every byte must go through the checksum. A file system that
    // cannot tell holes makes every byte data.
    const bool skip_holes = spec_.sha256.empty();
    uint64_t offset = 0;
    uint64_t data_end = 0;  // the current data region ends here (known when > offset)
    while (offset < size) {
      if (cancel_.cancelled()) return absl::CancelledError("cancelled");
      if (skip_holes && data_end <= offset) {
        const DataRegion region = NextDataRegion(fd, offset, size);
        if (region.start > offset) {
          if (absl::Status s = sink.WriteZeros(region.start - offset); !s.ok()) return s;
          offset = region.start;
          on_progress(offset);
          continue;
        }
        data_end = region.end;
      }
      const uint64_t limit = skip_holes ? data_end : size;
      ssize_t n =
          ::pread(fd, buffer.data(), std::min<uint64_t>(buffer.size(), limit - offset), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return PosixError(absl::StrCat("read ", spec_.source.display), errno);
      if (n == 0) return Shrank();
      absl::string_view data(buffer.data(), n);
      if (!spec_.sha256.empty()) hasher_.Update(data);
      if (absl::Status s = sink.Write(data); !s.ok()) return s;
      offset += n;
      on_progress(offset);
    }
    if (skip_holes) {
      absl::Status s = CheckStillAtLeast(fd, size);
      if (absl::IsDataLoss(s)) return Shrank();
      if (!s.ok()) return Annotate(s, spec_.source.display);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<TemplateInfo> FromRawFile(int fd, uint64_t size) {
    progress_.EnterState(ImportState::kWriting);
    if (absl::Status s = CheckImageSize(size); !s.ok()) return s;
    progress_.SetTotal(size);
    if (absl::Status s = CreateStaging(size); !s.ok()) return s;
    absl::StatusOr<std::unique_ptr<ZvolWriter>> writer =
        ZvolWriter::Open(staging_->device, staging_->volsize, staging_->volblocksize);
    if (!writer.ok()) return writer.status();
    if (absl::Status s =
            Pump(fd, size, **writer, [&](uint64_t done) { progress_.SetWritten(done); });
        !s.ok()) {
      return s;
    }
    if (absl::Status s = (*writer)->Finish(); !s.ok()) return s;
    writer->reset();  // closes the device, which must not be open when it becomes a template
    if (absl::Status s = VerifyChecksum(); !s.ok()) return s;
    return Complete();
  }

  // Converts the private copy in download_.
  absl::StatusOr<TemplateInfo> FromQcow2() {
    progress_.EnterState(ImportState::kConverting);
    // In-process first: nothing hostile reaches qemu-img, whose own checks
    // (info, check) then are a second layer.
    if (absl::Status s = CheckQcow2Header(); !s.ok()) return s;
    const std::string& path = download_->path();
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
    fetch.destinations.allowed_hosts = options_.allow_hosts;
    fetch.destinations.allowed_networks = options_.allow_networks;
    absl::Status fetched =
        HttpFetch(spec_.source.location, spec_.source.display, fetch, *this, cancel_);
    if (fetched.ok() && sink_ == nullptr) fetched = ChooseSink();  // a body under 512 bytes
    if (fetched.ok()) fetched = sink_->Finish();
    if (!fetched.ok()) return fetched;
    sink_ = nullptr;
    if (download_ != nullptr) {  // qcow2: downloaded, now converted
      if (absl::Status s = VerifyChecksum(); !s.ok()) return s;
      return FromQcow2();
    }
    writer_.reset();  // closes the zvol's device before it becomes a template
    if (!announced_.has_value()) {
      // Now the length is known: size the volume to it.
      if (absl::Status s = CheckImageSize(received_); !s.ok()) return s;
      progress_.SetTotal(received_);
      progress_.SetWritten(received_);
      uint64_t size = std::max(received_, spec_.size_bytes.value_or(0));
      if (absl::Status s = volumes_.TrimStagingVolume(*staging_, size); !s.ok()) return s;
    }
    if (absl::Status s = VerifyChecksum(); !s.ok()) return s;
    return Complete();
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
    return WriteToSink(data);
  }

  absl::Status WriteToSink(absl::string_view data) {
    if (absl::Status s = sink_->Write(data); !s.ok()) return s;
    // With no announced length the total is unknown: only the download
    // counts until the end.
    if (writer_ != nullptr && announced_.has_value())
      progress_.SetWritten(writer_->bytes_accepted());
    return absl::OkStatus();
  }

  // Decides from the first bytes where the body goes, then writes them
  // there: a raw image streams into a zvol (of the announced length, or of
  // the largest allowed size, trimmed at the end); qcow2 is downloaded first.
  absl::Status ChooseSink() {
    absl::StatusOr<ImageFormat> format = DetectImageFormat(head_);
    if (!format.ok()) return Annotate(format.status(), spec_.source.display);
    progress_.SetFormat(ImageFormatName(*format));
    if (*format == ImageFormat::kRaw) {
      progress_.EnterState(ImportState::kWriting);
      uint64_t size = 0;
      if (announced_.has_value()) {
        if (absl::Status s = CheckImageSize(*announced_); !s.ok()) return s;
        progress_.SetTotal(*announced_);
        size = *announced_;
      } else {
        absl::StatusOr<uint64_t> capacity = volumes_.MaxVolumeSize();
        if (!capacity.ok()) return capacity.status();
        size = std::min(options_.max_image_bytes, *capacity);
      }
      if (absl::Status s = CreateStaging(size); !s.ok()) return s;
      absl::StatusOr<std::unique_ptr<ZvolWriter>> writer =
          ZvolWriter::Open(staging_->device, staging_->volsize, staging_->volblocksize);
      if (!writer.ok()) return writer.status();
      writer_ = std::move(*writer);
      sink_ = writer_.get();
    } else {
      progress_.EnterState(ImportState::kDownloading);
      if (announced_.has_value()) {
        if (absl::Status s = CheckRoomForDownload(*announced_); !s.ok()) return s;
      }
      if (absl::Status s = CreateDownload(); !s.ok()) return s;
      sink_ = download_.get();
    }
    std::string head = std::move(head_);
    head_.clear();
    return WriteToSink(head);
  }

  // --- Common steps ---

  std::string DownloadDir() const { return absl::StrCat(options_.state_dir, "/tmp"); }

  absl::Status CheckRoomForDownload(uint64_t size) const {
    return Annotate(CheckFreeSpaceFor(DownloadDir(), size), spec_.source.display);
  }

  absl::Status CreateDownload() {
    absl::StatusOr<std::unique_ptr<TempFileSink>> file =
        TempFileSink::Create(absl::StrCat(DownloadDir(), "/", spec_.job_id, ".download"));
    if (!file.ok()) return file.status();
    download_ = std::move(*file);
    return absl::OkStatus();
  }

  absl::Status CheckImageSize(uint64_t size) const {
    if (size == 0)
      return absl::InvalidArgumentError(absl::StrCat(spec_.source.display, " is empty"));
    if (size > options_.max_image_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec_.source.display, ": the image is ", size, " bytes (", FormatSize(size),
                       "), above the import limit of ", options_.max_image_bytes, " bytes (",
                       FormatSize(options_.max_image_bytes), ", --import-max-size)"));
    }
    return absl::OkStatus();
  }

  // Parses and checks the qcow2 header of the private copy.
  absl::Status CheckQcow2Header() const {
    const uint64_t size = download_->size();
    std::string head(std::min<uint64_t>(size, kQcow2MaxHeaderBytes), '\0');
    size_t done = 0;
    while (done < head.size()) {
      ssize_t n = ::pread(download_->fd(), head.data() + done, head.size() - done, done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return PosixError(absl::StrCat("read ", download_->path()), errno);
      if (n == 0) break;
      done += n;
    }
    head.resize(done);
    absl::StatusOr<Qcow2Header> header = ParseQcow2Header(head);
    if (!header.ok()) return header.status();
    return CheckQcow2HeaderIsSafe(*header, size, options_.max_image_bytes);
  }

  absl::Status VerifyChecksum() {
    if (spec_.sha256.empty()) return absl::OkStatus();
    std::string actual = hasher_.FinishHex();
    if (actual == spec_.sha256) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("SHA-256 mismatch: ", spec_.source.display,
                                                   " has ", actual, ", expected ", spec_.sha256));
  }

  absl::Status Shrank() const {
    return absl::DataLossError(absl::StrCat(spec_.source.display, " shrank while it was imported"));
  }

  // The staging zvol for an image of `image_size` bytes, or of the larger
  // size the caller asked for.
  absl::Status CreateStaging(uint64_t image_size) {
    StagingVolumeParams params;
    params.template_name = spec_.template_name;
    params.template_id = spec_.template_id;
    params.job_id = spec_.job_id;
    params.import_source = spec_.source.display;
    params.size_bytes = std::max(image_size, spec_.size_bytes.value_or(0));
    absl::StatusOr<StagingVolume> staging = volumes_.CreateStagingVolume(params);
    if (!staging.ok()) return staging.status();
    staging_ = std::move(*staging);
    return absl::OkStatus();
  }

  static absl::Status FlushDevice(const std::string& device) {
    UniqueFd fd(::open(device.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::fsync(fd.get()) != 0) return PosixError(absl::StrCat("flush ", device), errno);
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
    sink_ = nullptr;
    writer_.reset();  // holds the device open
    if (absl::Status s = volumes_.DiscardStagingVolume(*staging_); !s.ok()) LogError(s.message());
    staging_.reset();
  }

  const ImportSpec& spec_;
  const ImportOptions& options_;
  VolumeManager& volumes_;
  CancelToken& cancel_;
  ImportProgress& progress_;

  std::optional<StagingVolume> staging_;
  Sha256 hasher_;                           // of the source's bytes, if a checksum is expected
  std::unique_ptr<TempFileSink> download_;  // a private copy of a qcow2 source
  // Download state (URLs).
  std::optional<uint64_t> announced_;
  uint64_t received_ = 0;
  std::string head_;
  std::unique_ptr<ZvolWriter> writer_;  // a raw body streaming into the zvol
  ByteSink* sink_ = nullptr;            // writer_ or download_
};

}  // namespace

absl::StatusOr<TemplateInfo> RunImport(const ImportSpec& spec, const ImportOptions& options,
                                       VolumeManager& volumes, CancelToken& cancel,
                                       ImportProgress& progress) {
  ImportRun run(spec, options, volumes, cancel, progress);
  return run.Run();
}

}  // namespace mvirt::zfs
