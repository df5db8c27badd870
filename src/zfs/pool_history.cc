// As in libzfs_backend.cc: standard headers first, drop libspl's
// `fallthrough` macro, then abseil and our headers, then libzfs.
#include <cstdint>
#include <string>
#undef fallthrough

#include "absl/strings/str_cat.h"
#include "zfs/libzfs_handles.h"
#include "zfs/nvlist.h"
#include "zfs/pool_history.h"

namespace mvirt::zfs::internal {
namespace {

// Each record of the log is its length (a little-endian uint64) and the
// record packed in the kernel's native nvlist encoding.
uint64_t EncodedSize(nvlist_t* record) {
  size_t packed = 0;
  if (nvlist_size(record, &packed, NV_ENCODE_NATIVE) != 0) return 0;  // then "lost": safe
  return sizeof(uint64_t) + packed;
}

std::string StringOr(nvlist_t* record, const char* key) {
  const char* value = nullptr;
  if (nvlist_lookup_string(record, key, const_cast<char**>(&value)) != 0) return "";
  return value;
}

}  // namespace

absl::StatusOr<PoolHistoryPage> ReadPoolHistoryWith(libzfs_handle_t* h, const std::string& pool,
                                                    const PoolHistoryPosition& from,
                                                    size_t max_events) {
  ZpoolHandle zp(zpool_open_canfail(h, pool.c_str()));
  if (!zp) return absl::NotFoundError(absl::StrCat("pool '", pool, "' is not imported"));
  PoolHistoryPage page;
  page.next.load_guid = zpool_get_prop_int(zp.get(), ZPOOL_PROP_LOAD_GUID, nullptr);
  const bool same_import = from.load_guid == page.next.load_guid;
  const uint64_t offset = same_import ? from.offset : 0;
  uint64_t off = offset;
  uint64_t record_bytes = 0;
  boolean_t eof = B_FALSE;
  while (!eof) {  // zpool_get_history returns about 1 MiB of records per call
    nvlist_t* raw = nullptr;
    if (zpool_get_history(zp.get(), &raw, &off, &eof) != 0) {
      return absl::UnavailableError(
          absl::StrCat("read the history of pool '", pool, "': ", libzfs_error_description(h)));
    }
    Nvlist history(raw);
    nvlist_t** records = nullptr;
    uint_t count = 0;
    if (nvlist_lookup_nvlist_array(history.get(), ZPOOL_HIST_RECORD, &records, &count) != 0) {
      continue;  // no records in this piece
    }
    for (uint_t i = 0; i < count; ++i) {
      nvlist_t* record = records[i];
      record_bytes += EncodedSize(record);
      PoolHistoryEvent event;
      if (nvlist_exists(record, ZPOOL_HIST_INT_NAME)) {
        event = {StringOr(record, ZPOOL_HIST_INT_NAME), StringOr(record, ZPOOL_HIST_DSNAME),
                 StringOr(record, ZPOOL_HIST_INT_STR)};
        if (event.dataset.empty()) continue;  // the pool's own (import, scrub...)
      } else if (nvlist_exists(record, ZPOOL_HIST_CMD)) {
        event = {"", "", StringOr(record, ZPOOL_HIST_CMD), true};
      } else if (!nvlist_exists(record, ZPOOL_HIST_INT_EVENT)) {
        continue;  // an ioctl's record (ZPOOL_HIST_IOCTL): its internal events say what changed
      }            // else the old numeric format: an event without a name, not interpretable
      if (page.events.size() < max_events) {
        page.events.push_back(std::move(event));
      } else {
        page.events_dropped = true;
      }
    }
  }
  page.next.offset = off;
  page.records_lost = off - offset != record_bytes || (!same_import && from.load_guid != 0);
  return page;
}

}  // namespace mvirt::zfs::internal
