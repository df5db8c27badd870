#include "import/http_fetch.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/sizes.h"

namespace mvirt::zfs {
namespace {

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

// What the callbacks share with HttpFetch.
struct Transfer {
  CURL* curl = nullptr;
  HttpBodyReceiver* receiver = nullptr;
  CancelToken* cancel = nullptr;
  uint64_t max_bytes = 0;
  const DestinationPolicy* destinations = nullptr;
  std::string display_url;
  bool started = false;
  uint64_t received = 0;
  absl::Status failure;  // why a callback aborted the transfer

  absl::Status Start() {
    started = true;
    std::optional<uint64_t> announced = AnnouncedLength();
    if (announced && max_bytes > 0 && *announced > max_bytes) return TooLarge(announced);
    return receiver->OnStart(announced);
  }

  // The body is (announced to be) larger than max_bytes.
  absl::Status TooLarge(std::optional<uint64_t> announced) const {
    std::string size = announced
                           ? absl::StrCat(" (", *announced, " bytes, ", FormatSize(*announced), ")")
                           : absl::StrCat(" (more than ", received - 1, " bytes)");
    return absl::InvalidArgumentError(absl::StrCat(
        "download ", display_url, ": the image", size, " is larger than the import limit of ",
        max_bytes, " bytes (", FormatSize(max_bytes), ", --import-max-size)"));
  }

  std::optional<uint64_t> AnnouncedLength() const {
    curl_off_t length = -1;
    if (curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
        length >= 0) {
      return static_cast<uint64_t>(length);
    }
    return std::nullopt;
  }
};

size_t OnBody(char* data, size_t size, size_t count, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  size_t n = size * count;
  if (!t->started) t->failure = t->Start();
  if (t->failure.ok()) {
    t->received += n;
    if (t->max_bytes > 0 && t->received > t->max_bytes) {
      t->failure = t->TooLarge(std::nullopt);
    } else {
      t->failure = t->receiver->OnData(absl::string_view(data, n));
    }
  }
  return t->failure.ok() ? n : CURL_WRITEFUNC_ERROR;
}

// The host of the URL being fetched now (the latest redirect's), or "".
std::string CurrentHost(CURL* curl) {
  char* url = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || url == nullptr)
    return "";
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(), curl_url_cleanup);
  char* host = nullptr;
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(parsed.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK || host == nullptr) {
    return "";
  }
  std::string out = host;
  curl_free(host);
  if (out.size() >= 2 && out.front() == '[' && out.back() == ']')
    out = out.substr(1, out.size() - 2);
  return out;
}

// libcurl asks this for every socket it connects: the destination policy
// decides on the address it is about to connect to.
curl_socket_t OnOpenSocket(void* arg, curlsocktype purpose, struct curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(arg);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  IpAddress ip;
  if (address->family == AF_INET && address->addrlen >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address->addr);
    std::memcpy(ip.bytes.data(), &in->sin_addr, 4);
  } else if (address->family == AF_INET6 && address->addrlen >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address->addr);
    ip.v6 = true;
    std::memcpy(ip.bytes.data(), &in6->sin6_addr, 16);
  } else {
    t->failure = absl::PermissionDeniedError(
        absl::StrCat("download ", t->display_url, ": only IPv4 and IPv6 connections are allowed"));
    return CURL_SOCKET_BAD;
  }
  if (absl::Status s = CheckDestination(*t->destinations, CurrentHost(t->curl), ip); !s.ok()) {
    t->failure =
        absl::Status(s.code(), absl::StrCat("download ", t->display_url, ": ", s.message()));
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

int OnProgress(void* arg, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  // Called at least once a second, also while the transfer stalls.
  return static_cast<Transfer*>(arg)->cancel->cancelled() ? 1 : 0;
}

}  // namespace

absl::StatusOr<std::string> DisplayUrl(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(), curl_url_cleanup);
  if (!parsed) return absl::ResourceExhaustedError("cannot parse a URL (curl_url)");
  // Only the scheme-less check is relaxed: "HTTPS://x" is fine, "x" is not.
  if (CURLUcode rc = curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0); rc != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("source is not a valid URL: ", curl_url_strerror(rc)));
  }
  auto part = [&](CURLUPart which) -> std::string {
    char* value = nullptr;
    if (curl_url_get(parsed.get(), which, &value, 0) != CURLUE_OK || value == nullptr) return "";
    std::string out = value;
    curl_free(value);
    return out;
  };
  std::string host = part(CURLUPART_HOST);
  if (host.empty()) return absl::InvalidArgumentError("source URL names no host");
  std::string out = absl::StrCat(part(CURLUPART_SCHEME), "://");
  if (!part(CURLUPART_USER).empty() || !part(CURLUPART_PASSWORD).empty()) out += "***@";
  absl::StrAppend(&out, host);
  if (std::string port = part(CURLUPART_PORT); !port.empty()) absl::StrAppend(&out, ":", port);
  absl::StrAppend(&out, part(CURLUPART_PATH));
  if (!part(CURLUPART_QUERY).empty()) out += "?***";
  return out;
}

void InitHttp() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

absl::Status HttpFetch(const std::string& url, const std::string& display_url,
                       const HttpFetchOptions& options, HttpBodyReceiver& receiver,
                       CancelToken& cancel) {
  InitHttp();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return absl::ResourceExhaustedError("cannot start a download (curl_easy_init)");
  Transfer transfer;
  transfer.curl = curl.get();
  transfer.receiver = &receiver;
  transfer.cancel = &cancel;
  transfer.max_bytes = options.max_bytes;
  transfer.destinations = &options.destinations;
  transfer.display_url = display_url;
  char error[CURL_ERROR_SIZE] = {};
  const char* protocols = options.allow_http ? "https,http" : "https";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, static_cast<long>(options.max_redirects));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.ca_file.empty()) {
    // Instead of the system's CAs, not beside them: drop the default CA
    // directory libcurl was built with too.
    curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
  }
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options.connect_timeout)));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(absl::ToInt64Seconds(options.stall_timeout)));
  if (options.max_bytes > 0) {
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  }
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
  curl_easy_setopt(c, CURLOPT_USERAGENT, "mvirt-zfs/" MVIRT_ZFS_VERSION);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &transfer);
  // Proxies from the environment would hide the real destination.
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);

  CURLcode code = curl_easy_perform(c);
  if (code == CURLE_OK && !transfer.started) transfer.failure = transfer.Start();  // empty body
  if (!transfer.failure.ok()) return transfer.failure;
  if (cancel.cancelled()) return absl::CancelledError("cancelled");
  if (code == CURLE_OK) return absl::OkStatus();

  const std::string what = absl::StrCat("download ", display_url, ": ");
  std::string detail = error[0] != '\0' ? error : curl_easy_strerror(code);
  long http_status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http_status);
  switch (code) {
    case CURLE_HTTP_RETURNED_ERROR:
      if (http_status == 404 || http_status == 410) {
        return absl::NotFoundError(absl::StrCat(what, "HTTP ", http_status, " (not found)"));
      }
      return absl::UnavailableError(absl::StrCat(what, "HTTP ", http_status));
    case CURLE_FILESIZE_EXCEEDED:
      return transfer.TooLarge(transfer.AnnouncedLength());
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::PermissionDeniedError(absl::StrCat(what, detail, " (only https is allowed",
                                                      options.allow_http ? ", and http" : "",
                                                      ", also for redirects)"));
    case CURLE_TOO_MANY_REDIRECTS:
      return absl::UnavailableError(
          absl::StrCat(what, "more than ", options.max_redirects, " redirects"));
    case CURLE_URL_MALFORMAT:
      return absl::InvalidArgumentError(absl::StrCat(what, detail));
    default:
      return absl::UnavailableError(absl::StrCat(what, detail));
  }
}

}  // namespace mvirt::zfs
