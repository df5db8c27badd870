// Downloads over HTTPS with libcurl (the only code that includes curl.h):
// certificate verification on, bounded connect time, a stall timeout, a
// redirect limit, a size limit, and cancellation.
#ifndef MVIRT_ZFS_IMPORT_HTTP_FETCH_H_
#define MVIRT_ZFS_IMPORT_HTTP_FETCH_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/cancel_token.h"
#include "import/destination_policy.h"

namespace mvirt::zfs {

struct HttpFetchOptions {
  bool allow_http = false;  // also http:// (and redirects to it)
  std::string ca_file;      // PEM CA bundle; empty: the system's
  absl::Duration connect_timeout = absl::Seconds(30);
  // Aborted when slower than 1 KiB/s for this long.
  absl::Duration stall_timeout = absl::Seconds(60);
  int max_redirects = 5;
  uint64_t max_bytes = 0;  // a longer body is refused; 0 = no limit
  // Every connection (the first, and after each redirect) must pass it.
  DestinationPolicy destinations;
};

// Receives a response body in order.
class HttpBodyReceiver {
 public:
  virtual ~HttpBodyReceiver() = default;
  // Called once before the first byte of the body (or at the end, for an
  // empty body) with the length the server announced, if any. A non-OK
  // status aborts the download with that status.
  virtual absl::Status OnStart(std::optional<uint64_t> content_length) = 0;
  // The next piece of the body. A non-OK status aborts the download.
  virtual absl::Status OnData(absl::string_view data) = 0;
};

// What logs, job records and events show of `url`: scheme, host, port and
// path, with any user and password replaced by "***@" and any query
// (which may carry a token) by "?***". INVALID_ARGUMENT if libcurl cannot
// parse `url` or it names no host.
absl::StatusOr<std::string> DisplayUrl(const std::string& url);

// Makes libcurl ready for use from many threads; call once at start-up
// before other threads run (HttpFetch also calls it, once).
void InitHttp();

// GETs `url` (credentials in it are used, never logged) and feeds the body
// to `receiver`. OK once the whole body arrived. Otherwise: the receiver's
// own status; CANCELLED if `cancel` fired; INVALID_ARGUMENT for a body
// above max_bytes; NOT_FOUND for HTTP 404/410; UNAVAILABLE for network, TLS
// and other HTTP errors and timeouts. Messages name `display_url`.
absl::Status HttpFetch(const std::string& url, const std::string& display_url,
                       const HttpFetchOptions& options, HttpBodyReceiver& receiver,
                       CancelToken& cancel);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_HTTP_FETCH_H_
