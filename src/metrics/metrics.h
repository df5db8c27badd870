// Metrics: the daemon's Prometheus metrics (prometheus-cpp), in Prometheus
// conventions: base units (seconds, bytes), `_total` for counters, labels of
// low cardinality (RPC method names from the service descriptors, gRPC code
// names, import states).
//
// Per call:   mvirt_zfs_grpc_requests_total{method,code}
//             mvirt_zfs_grpc_request_duration_seconds{method} (histogram)
// Devices:    mvirt_zfs_device_wait_duration_seconds{op="ready"|"gone"}
// At scrape:  the pool's figures, counts of volumes, snapshots, templates,
//             import jobs by state, their bytes written, watch subscribers:
//             read through the Census function given at construction (at
//             most once per `census_max_age`; scrapes in between reuse it).
// Audit:      mvirt_zfs_audit_events_dropped_total{sink="log"|"mvirt-log"},
//             mvirt_zfs_audit_events_forwarded_total (taken by mvirt-log),
//             mvirt_zfs_audit_forward_queue (waiting for it).
//
// Thread-safe. Serve() exposes it over HTTP (civetweb, prometheus-cpp's
// pull exposer) at /metrics.
#ifndef MVIRT_ZFS_METRICS_METRICS_H_
#define MVIRT_ZFS_METRICS_METRICS_H_

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace prometheus {
class Exposer;
}

namespace mvirt::zfs {

// What the scrape reports about the pool and the daemon's objects. A field
// left unset is not reported (e.g. the pool could not be read).
struct MetricsCensus {
  // The pool (GetPoolStats): sizes in bytes.
  std::optional<uint64_t> pool_size_bytes, pool_used_bytes, pool_available_bytes,
      pool_provisioned_bytes;
  std::optional<double> pool_compression_ratio;
  // The space guard's reserve (bytes kept free) and provisioned / size.
  std::optional<uint64_t> pool_reserve_bytes;
  std::optional<double> pool_overcommit_ratio;
  // The pool's own figures: percent allocated and free-space fragmentation
  // (unset when the pool cannot tell), and each top-level vdev: ONLINE?
  std::optional<uint64_t> pool_capacity_percent, pool_fragmentation_percent;
  std::map<std::string, bool> pool_vdevs_online;
  std::optional<uint64_t> volumes, snapshots, templates;
  // Import jobs the daemon knows, by state name ("RUNNING", ...; give every
  // state, 0 included, so that no series vanishes), and the bytes they
  // wrote into the pool.
  std::map<std::string, uint64_t> import_jobs;
  std::optional<uint64_t> import_written_bytes;
};

// The audit trail's figures (counters since start).
struct AuditFigures {
  uint64_t log_dropped = 0;  // events whose log line was dropped (queue full)
  // With --log-endpoint: events mvirt-log took, dropped before it, waiting.
  std::optional<uint64_t> forwarded, forward_dropped, forward_queued;
};

class Metrics {
 public:
  using Census = std::function<MetricsCensus()>;
  // Reads whether the pool is served (1) or not (0) at scrape time.
  using Serving = std::function<bool()>;
  using Subscribers = std::function<uint64_t()>;
  using Audit = std::function<AuditFigures()>;

  struct Sources {
    Census census;            // may be empty: no pool figures
    Serving serving;          // may be empty
    Subscribers subscribers;  // may be empty
    Audit audit;              // may be empty
    absl::Duration census_max_age = absl::Seconds(10);
  };

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One finished RPC: its full method name ("/mvirt.zfs.ZfsService/GetVolume")
  // and gRPC status code. Methods no service of this process declares are
  // counted as method "unknown", so clients cannot grow the label set.
  void RecordCall(absl::string_view full_method, int grpc_code, absl::Duration duration);
  // One wait for a zvol device: `op` is "ready" or "gone".
  void RecordDeviceWait(absl::string_view op, absl::Duration duration);
  // Snapshots a run of the snapshot scheduler handled, by `result`: "taken",
  // "pruned", "kept_protected", "refused" (space guard) or "failed".
  void RecordSnapshotPolicy(absl::string_view result, uint64_t count);

  // Where the scrape-time figures come from; until set, they are not
  // reported. The functions run on the scraping thread.
  void SetSources(Sources sources);

  // Everything, in Prometheus' text format (what /metrics serves).
  std::string Text() const;

  // Serves /metrics on `address` ("127.0.0.1:9851", "[::1]:0"); returns the
  // port bound (useful with port 0). UNAVAILABLE if it cannot listen. At
  // most once.
  absl::StatusOr<int> Serve(const std::string& address);
  // Stops serving; returns once no scrape runs (so the sources may go).
  void StopServing();

 private:
  class Collector;
  prometheus::Counter& CallCounter(const std::string& method, const std::string& code)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  prometheus::Histogram& CallHistogram(const std::string& method)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Refreshes the scrape-time gauges (called by the collector).
  void Refresh();

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Histogram>& device_waits_;
  prometheus::Family<prometheus::Gauge>& pool_bytes_;
  prometheus::Family<prometheus::Gauge>& compression_ratio_;
  prometheus::Family<prometheus::Gauge>& overcommit_ratio_;
  prometheus::Family<prometheus::Gauge>& pool_percent_;
  prometheus::Family<prometheus::Gauge>& vdev_online_;
  prometheus::Family<prometheus::Gauge>& pool_serving_;
  prometheus::Family<prometheus::Gauge>& objects_;
  prometheus::Family<prometheus::Gauge>& import_jobs_;
  prometheus::Family<prometheus::Gauge>& import_written_;
  prometheus::Family<prometheus::Gauge>& subscribers_;
  prometheus::Family<prometheus::Counter>& audit_dropped_;
  prometheus::Family<prometheus::Counter>& audit_forwarded_;
  prometheus::Family<prometheus::Gauge>& audit_queue_;
  prometheus::Family<prometheus::Counter>& snapshot_policy_;
  // What the audit counters said at the last scrape (counters only grow
  // by the difference).
  AuditFigures audit_seen_ ABSL_GUARDED_BY(refresh_mu_);

  Mutex mu_;
  std::map<std::pair<std::string, std::string>, prometheus::Counter*> call_counters_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, prometheus::Histogram*> call_histograms_ ABSL_GUARDED_BY(mu_);
  // Serializes scrapes, so that two do not refresh the gauges at once.
  Mutex refresh_mu_;
  Sources sources_ ABSL_GUARDED_BY(refresh_mu_);
  std::optional<absl::Time> census_taken_ ABSL_GUARDED_BY(refresh_mu_);

  std::shared_ptr<Collector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_METRICS_METRICS_H_
