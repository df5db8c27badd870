#include "pool/block_signatures.h"

#include <blkid/blkid.h>

#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"

namespace mvirt::zfs {
namespace {

struct ProbeFreer {
  void operator()(blkid_probe probe) const { blkid_free_probe(probe); }
};

std::string Value(blkid_probe probe, const char* name) {
  const char* data = nullptr;
  if (blkid_probe_lookup_value(probe, name, &data, nullptr) != 0 || data == nullptr) return "";
  return data;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ProbeSignatures(const std::string& path) {
  std::unique_ptr<blkid_struct_probe, ProbeFreer> probe(
      blkid_new_probe_from_filename(path.c_str()));
  if (!probe) return PosixError(absl::StrCat("probe ", path, " for signatures"), errno);
  blkid_probe_enable_superblocks(probe.get(), 1);
  blkid_probe_set_superblocks_flags(probe.get(), BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
  blkid_probe_enable_partitions(probe.get(), 1);
  blkid_probe_set_partitions_flags(probe.get(), BLKID_PARTS_FORCE_GPT);
  std::vector<std::string> found;
  // blkid_do_probe walks every chain (superblocks, then partition tables),
  // one signature per call: 0 found one, 1 no more, -1 an error.
  for (int rc = blkid_do_probe(probe.get()); rc == 0; rc = blkid_do_probe(probe.get())) {
    if (std::string type = Value(probe.get(), "TYPE"); !type.empty()) {
      std::string usage = Value(probe.get(), "USAGE");
      found.push_back(absl::StrCat(type, " ", usage.empty() ? "signature" : usage));
    } else if (std::string table = Value(probe.get(), "PTTYPE"); !table.empty()) {
      found.push_back(absl::StrCat(table, " partition table"));
    }
  }
  return found;
}

}  // namespace mvirt::zfs
