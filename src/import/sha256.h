// SHA-256 of a byte stream (OpenSSL's libcrypto behind a small class), and
// the validation of expected digests callers send.
#ifndef MVIRT_ZFS_IMPORT_SHA256_H_
#define MVIRT_ZFS_IMPORT_SHA256_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view data);
  // The digest of everything passed to Update, as 64 lowercase hex digits.
  // Call once; the object is spent afterwards.
  std::string FinishHex();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// OK if `hex` is 64 hex digits (either case); INVALID_ARGUMENT otherwise.
absl::Status ValidateSha256Hex(absl::string_view hex);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_SHA256_H_
