#include "metrics/metrics.h"

#include <google/protobuf/descriptor.h>
#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>

#include <exception>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/status_util.h"

namespace mvirt::zfs {
namespace {

// Seconds; RPCs range from a cached read (ms) to a clone that waits for
// udev or a delete of a large tree (tens of seconds).
const prometheus::Histogram::BucketBoundaries kCallBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
const prometheus::Histogram::BucketBoundaries kDeviceWaitBuckets = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

// "/pkg.Service/Method" -> "pkg.Service/Method" if this process's generated
// descriptors declare that method, else "unknown".
std::string MethodLabel(absl::string_view full_method) {
  if (full_method.size() < 2 || full_method[0] != '/') return "unknown";
  absl::string_view path = full_method.substr(1);
  const size_t slash = path.find('/');
  if (slash == absl::string_view::npos) return "unknown";
  const std::string dotted = absl::StrCat(path.substr(0, slash), ".", path.substr(slash + 1));
  if (google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(dotted) == nullptr) {
    return "unknown";
  }
  return std::string(path);
}

}  // namespace

// What the exposer scrapes: refreshes the scrape-time gauges, then collects
// the registry.
class Metrics::Collector : public prometheus::Collectable {
 public:
  explicit Collector(Metrics* metrics) : metrics_(metrics) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    metrics_->Refresh();
    return metrics_->registry_->Collect();
  }

 private:
  Metrics* const metrics_;
};

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("mvirt_zfs_grpc_requests_total")
                    .Help("RPCs finished, by method and gRPC status code")
                    .Register(*registry_)),
      durations_(prometheus::BuildHistogram()
                     .Name("mvirt_zfs_grpc_request_duration_seconds")
                     .Help("Time from an RPC's start to its status, by method")
                     .Register(*registry_)),
      device_waits_(prometheus::BuildHistogram()
                        .Name("mvirt_zfs_device_wait_duration_seconds")
                        .Help("Waits for a zvol's /dev/zvol link to be ready or gone")
                        .Register(*registry_)),
      pool_bytes_(prometheus::BuildGauge()
                      .Name("mvirt_zfs_pool_bytes")
                      .Help("The pool's space: size (used + available), used, available, "
                            "provisioned (the managed volumes' volsize summed), and reserve (the "
                            "free space the space guard keeps)")
                      .Register(*registry_)),
      compression_ratio_(prometheus::BuildGauge()
                             .Name("mvirt_zfs_pool_compression_ratio")
                             .Help("compressratio of the pool's root dataset")
                             .Register(*registry_)),
      overcommit_ratio_(prometheus::BuildGauge()
                            .Name("mvirt_zfs_pool_overcommit_ratio")
                            .Help("Provisioned volume size over the pool's size (the space "
                                  "guard's --max-overcommit compares this)")
                            .Register(*registry_)),
      pool_percent_(prometheus::BuildGauge()
                        .Name("mvirt_zfs_pool_percent")
                        .Help("The pool's own figures (zpool list): capacity (allocated) and "
                              "fragmentation (of free space), in percent")
                        .Register(*registry_)),
      vdev_online_(prometheus::BuildGauge()
                       .Name("mvirt_zfs_pool_vdev_online")
                       .Help("1 while a top-level vdev is ONLINE, else 0 (DEGRADED, FAULTED, "
                             "OFFLINE, UNAVAIL, REMOVED)")
                       .Register(*registry_)),
      pool_serving_(prometheus::BuildGauge()
                        .Name("mvirt_zfs_pool_serving")
                        .Help("1 while the pool is imported and ONLINE or DEGRADED (health "
                              "SERVING), else 0")
                        .Register(*registry_)),
      objects_(prometheus::BuildGauge()
                   .Name("mvirt_zfs_objects")
                   .Help("Managed volumes, their snapshots, and templates")
                   .Register(*registry_)),
      import_jobs_(prometheus::BuildGauge()
                       .Name("mvirt_zfs_import_jobs")
                       .Help("Import jobs the daemon knows, by state")
                       .Register(*registry_)),
      import_written_(prometheus::BuildGauge()
                          .Name("mvirt_zfs_import_written_bytes")
                          .Help("Bytes the known import jobs wrote into the pool")
                          .Register(*registry_)),
      subscribers_(prometheus::BuildGauge()
                       .Name("mvirt_zfs_watch_subscribers")
                       .Help("Watch streams open")
                       .Register(*registry_)),
      audit_dropped_(prometheus::BuildCounter()
                         .Name("mvirt_zfs_audit_events_dropped_total")
                         .Help("Audit events dropped before reaching a sink: the daemon's log "
                               "(its queue was full) or mvirt-log (queue full, refused, or left "
                               "at exit)")
                         .Register(*registry_)),
      audit_forwarded_(prometheus::BuildCounter()
                           .Name("mvirt_zfs_audit_events_forwarded_total")
                           .Help("Audit events mvirt-log took (--log-endpoint)")
                           .Register(*registry_)),
      audit_queue_(prometheus::BuildGauge()
                       .Name("mvirt_zfs_audit_forward_queue")
                       .Help("Audit events waiting to be sent to mvirt-log")
                       .Register(*registry_)),
      snapshot_policy_(prometheus::BuildCounter()
                           .Name("mvirt_zfs_snapshot_policy_snapshots_total")
                           .Help("Snapshots the snapshot scheduler took, pruned, kept beyond "
                                 "keep (clones or holds depend on them), could not take "
                                 "(refused: the space guard; failed: another reason)")
                           .Register(*registry_)),
      collector_(std::make_shared<Collector>(this)) {
  for (const char* result : {"taken", "pruned", "kept_protected", "refused", "failed"}) {
    snapshot_policy_.Add({{"result", result}});
  }
}

Metrics::~Metrics() { StopServing(); }

void Metrics::SetSources(Sources sources) {
  MutexLock lock(&refresh_mu_);
  sources_ = std::move(sources);
  census_taken_.reset();
}

void Metrics::StopServing() {
  exposer_.reset();  // civetweb joins its threads: no scrape runs past this
}

prometheus::Counter& Metrics::CallCounter(const std::string& method, const std::string& code) {
  prometheus::Counter*& counter = call_counters_[{method, code}];
  if (counter == nullptr) counter = &requests_.Add({{"method", method}, {"code", code}});
  return *counter;
}

prometheus::Histogram& Metrics::CallHistogram(const std::string& method) {
  prometheus::Histogram*& histogram = call_histograms_[method];
  if (histogram == nullptr) histogram = &durations_.Add({{"method", method}}, kCallBuckets);
  return *histogram;
}

void Metrics::RecordCall(absl::string_view full_method, int grpc_code, absl::Duration duration) {
  const std::string method = MethodLabel(full_method);
  MutexLock lock(&mu_);
  CallCounter(method, StatusCodeName(grpc_code)).Increment();
  CallHistogram(method).Observe(absl::ToDoubleSeconds(duration));
}

void Metrics::RecordDeviceWait(absl::string_view op, absl::Duration duration) {
  // Family::Add returns the existing series for labels it has seen.
  device_waits_.Add({{"op", std::string(op)}}, kDeviceWaitBuckets)
      .Observe(absl::ToDoubleSeconds(duration));
}

void Metrics::RecordSnapshotPolicy(absl::string_view result, uint64_t count) {
  snapshot_policy_.Add({{"result", std::string(result)}}).Increment(static_cast<double>(count));
}

void Metrics::Refresh() {
  MutexLock lock(&refresh_mu_);
  if (sources_.serving) pool_serving_.Add({}).Set(sources_.serving() ? 1 : 0);
  if (sources_.subscribers) {
    subscribers_.Add({}).Set(static_cast<double>(sources_.subscribers()));
  }
  if (sources_.audit) {
    const AuditFigures a = sources_.audit();
    auto grow = [](prometheus::Family<prometheus::Counter>& family,
                   const prometheus::Labels& labels, uint64_t now, uint64_t& seen) {
      prometheus::Counter& counter = family.Add(labels);  // reported from 0 on
      if (now > seen) counter.Increment(static_cast<double>(now - seen));
      seen = now;
    };
    grow(audit_dropped_, {{"sink", "log"}}, a.log_dropped, audit_seen_.log_dropped);
    if (a.forwarded) {
      uint64_t& seen_forwarded = audit_seen_.forwarded.emplace(audit_seen_.forwarded.value_or(0));
      grow(audit_forwarded_, {}, *a.forwarded, seen_forwarded);
      uint64_t& seen_dropped =
          audit_seen_.forward_dropped.emplace(audit_seen_.forward_dropped.value_or(0));
      grow(audit_dropped_, {{"sink", "mvirt-log"}}, a.forward_dropped.value_or(0), seen_dropped);
      audit_queue_.Add({}).Set(static_cast<double>(a.forward_queued.value_or(0)));
    }
  }
  const absl::Time now = absl::Now();
  if (!sources_.census || (census_taken_ && now - *census_taken_ < sources_.census_max_age)) {
    return;
  }
  census_taken_ = now;
  const MetricsCensus c = sources_.census();
  auto set = [](prometheus::Family<prometheus::Gauge>& family, const prometheus::Labels& labels,
                const auto& value) {
    if (value) family.Add(labels).Set(static_cast<double>(*value));
  };
  set(pool_bytes_, {{"kind", "size"}}, c.pool_size_bytes);
  set(pool_bytes_, {{"kind", "used"}}, c.pool_used_bytes);
  set(pool_bytes_, {{"kind", "available"}}, c.pool_available_bytes);
  set(pool_bytes_, {{"kind", "provisioned"}}, c.pool_provisioned_bytes);
  set(pool_bytes_, {{"kind", "reserve"}}, c.pool_reserve_bytes);
  set(compression_ratio_, {}, c.pool_compression_ratio);
  set(overcommit_ratio_, {}, c.pool_overcommit_ratio);
  set(pool_percent_, {{"kind", "capacity"}}, c.pool_capacity_percent);
  set(pool_percent_, {{"kind", "fragmentation"}}, c.pool_fragmentation_percent);
  for (const auto& [vdev, online] : c.pool_vdevs_online) {
    vdev_online_.Add({{"vdev", vdev}}).Set(online ? 1 : 0);
  }
  set(objects_, {{"kind", "volume"}}, c.volumes);
  set(objects_, {{"kind", "snapshot"}}, c.snapshots);
  set(objects_, {{"kind", "template"}}, c.templates);
  for (const auto& [state, count] : c.import_jobs) import_jobs_.Add({{"state", state}}).Set(count);
  set(import_written_, {}, c.import_written_bytes);
}

std::string Metrics::Text() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collector_->Collect());
  return out.str();
}

absl::StatusOr<int> Metrics::Serve(const std::string& address) {
  if (exposer_ != nullptr) return absl::FailedPreconditionError("metrics are served already");
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(collector_);
  std::vector<int> ports = exposer_->GetListeningPorts();
  if (ports.empty()) return absl::UnavailableError(absl::StrCat("no port bound for ", address));
  return ports.front();
}

}  // namespace mvirt::zfs
