// The operations benchmark: what the daemon costs on top of ZFS. For each
// operation, in the same run and interleaved round by round, three ways:
//   daemon  the gRPC call, over one persistent channel (as mvirt calls it);
//   cli     the `zfs` processes a shell-out daemon would run for it;
//   floor   the raw libzfs_core/libzfs call in this process (zfs_floor.h),
//           with the same /dev/zvol link wait where the daemon waits.
// Then the pool is filled (floor calls) to the next scale and it all runs
// again; then reads and creates by 1, 4 and 16 concurrent clients, and
// creates watched by 100 WatchVolumes subscribers. Prints a table per scale
// and writes every figure as JSON.
//
// Usage (root, a daemon serving POOL; see bench/ops.sh):
//   bench_ops --pool P --endpoint unix:/path [--scales 10,100] [--rounds 15]
//             [--json FILE] [--daemon-pid PID] [--concurrency-seconds 5]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli_way.h"
#include "common/mutex.h"
#include "common/names.h"
#include "mvirt_zfs.grpc.pb.h"
#include "zfs_floor.h"

namespace mvirt::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Stub = ::mvirt::zfs::ZfsService::Stub;
namespace pb = ::mvirt::zfs;
using ::mvirt::zfs::Mutex;
using ::mvirt::zfs::MutexLock;

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kVolumeSize = 64 * kMiB;
constexpr int kSnapshotsPerVolume = 10;
// The columns a shell-out daemon lists to answer what the daemon answers.
constexpr char kVolumeColumns[] =
    "name,volsize,volblocksize,used,referenced,logicalreferenced,refreservation,compressratio,"
    "creation,createtxg,guid,origin,mvirt:id,mvirt:kind";
constexpr char kSnapshotColumns[] =
    "name,used,referenced,creation,createtxg,guid,userrefs,volsize,clones,mvirt:id";

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void CheckCall(const grpc::Status& status, const std::string& what) {
  if (!status.ok())
    Die(absl::StrCat(what, ": gRPC ", status.error_code(), " ", status.error_message()));
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  return context;
}

// One operation measured three ways: each function does round `i` in full
// and is timed as a whole.
struct Operation {
  std::string name;
  std::function<void(int)> daemon, cli, floor;
  std::function<void()> after;  // untimed cleanup once all rounds ran
  bool is_list = false;         // fewer rounds at large scales
};

struct OperationResult {
  std::string name;
  int rounds = 0;
  double daemon_ms = 0, cli_ms = 0, floor_ms = 0;
};

struct ThroughputResult {
  std::string workload;
  int clients = 0;
  double ops_per_second = 0;
  double cpu_busy = -1;  // the machine's CPUs meanwhile, 0..1 (/proc/stat); -1 unknown
};

// The machine's CPU time so far (/proc/stat's first line): busy and total
// jiffies, or nullopt if unreadable.
std::optional<std::pair<uint64_t, uint64_t>> CpuJiffies() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  uint64_t busy = 0, total = 0, value = 0;
  if (!(stat >> cpu) || cpu != "cpu") return std::nullopt;
  for (int field = 0; field < 8 && stat >> value; ++field) {  // user..steal
    total += value;
    if (field != 3 && field != 4) busy += value;  // not idle, not iowait
  }
  return std::make_pair(busy, total);
}

struct FanoutResult {
  int subscribers = 0;
  int creates = 0;
  double create_ms = 0;    // p50 of the CreateVolume calls while they watch
  double delivery_ms = 0;  // p50, from a call's start to its event at the last subscriber
  double slowest_ms = 0;   // the worst of those
};

struct ScaleResult {
  int volumes = 0;
  std::vector<OperationResult> operations;
  std::vector<ThroughputResult> throughput;
  FanoutResult fanout;
  double concurrent_list_ms = 0;  // --footprint-only: 4 ListVolumes at once, the slowest
  long rss_kib = -1;
};

long DaemonRssKib(int pid) {
  if (pid <= 0) return -1;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

class OpsBench {
 public:
  // `only`: the operations to time (names that start with one of them);
  // empty: all.
  OpsBench(std::string pool, std::string endpoint, int rounds, std::vector<std::string> only)
      : pool_(std::move(pool)),
        endpoint_(std::move(endpoint)),
        rounds_(rounds),
        only_(std::move(only)),
        stub_(NewStub()) {}

  // Volumes the daemon manages in the pool before any filling.
  int FixtureCount() const { return 9; }

  void MakeFixtures() {
    CreateVolume("fx-base");
    for (int s = 0; s < kSnapshotsPerVolume; ++s) CreateSnapshot("fx-base", absl::StrCat("s", s));
    CreateVolume("fx-snap");
    for (int m = 0; m < 4; ++m) CreateVolume(absl::StrCat("fx-m", m));
    CreateVolume("fx-rb");
    CreateSnapshot("fx-rb", "r");
    CreateVolume("fx-rs");
    CreateVolume("fx-tmplsrc");
    CreateSnapshot("fx-tmplsrc", "gold");
    pb::PromoteSnapshotRequest promote;
    promote.set_volume_name("fx-tmplsrc");
    promote.set_snapshot_name("gold");
    promote.set_template_name("fx-tmpl");
    pb::Template tmpl;
    CheckCall(stub_->PromoteSnapshotToTemplate(Context().get(), promote, &tmpl), "promote");
    template_snapshot_ = tmpl.snapshot_path();
  }

  // Adds floor-made volumes of kSnapshotsPerVolume snapshots each until the
  // daemon manages `volumes` volumes (fixtures included).
  void FillTo(int volumes) {
    std::vector<std::string> added;
    for (int n = filled_ + FixtureCount(); n < volumes; ++n) {
      const std::string dataset = absl::StrFormat("%s/fill-%05d", pool_, filled_++);
      floor_.CreateVolume(dataset, 16 * kMiB, VolumeMarks(zfs::NewUuid()));
      added.push_back(dataset);
    }
    for (int s = 0; s < kSnapshotsPerVolume && !added.empty(); ++s) {
      for (size_t at = 0; at < added.size(); at += 500) {  // one txg per batch
        std::vector<std::string> batch;
        for (size_t k = at; k < std::min(added.size(), at + 500); ++k) {
          batch.push_back(absl::StrCat(added[k], "@f", s));
        }
        floor_.Snapshot(batch);
      }
    }
    RunTool({"udevadm", "settle", "--timeout=600"});
  }

  ScaleResult RunScale(int volumes) {
    ScaleResult result;
    result.volumes = volumes;
    const std::string tag = absl::StrCat("s", volumes);
    for (const Operation& op : Operations(tag)) {
      if (!Selected(op.name)) continue;
      int rounds = op.is_list && volumes >= 1000 ? 3 : op.is_list && volumes >= 100 ? 5 : rounds_;
      std::vector<double> d, c, f;
      for (int i = 0; i < rounds; ++i) {
        d.push_back(Time([&] { op.daemon(i); }));
        c.push_back(Time([&] { op.cli(i); }));
        f.push_back(Time([&] { op.floor(i); }));
      }
      if (op.after) op.after();
      result.operations.push_back({op.name, rounds, Median(d), Median(c), Median(f)});
      std::fprintf(stderr, "  %-30s %9.1f %9.1f %9.1f ms\n", op.name.c_str(), Median(d), Median(c),
                   Median(f));
    }
    return result;
  }

  // `clients` threads, each with its own channel, for `seconds`: each does
  // `work(client, i)` over and over. Returns calls per second of them all.
  // With `cpu_busy`, also the share of the machine's CPU time that was busy
  // meanwhile.
  double Throughput(int clients, double seconds, const std::function<void(Stub&, int, int)>& work,
                    double* cpu_busy = nullptr) {
    const auto cpu_before = CpuJiffies();
    std::atomic<long> calls{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    auto start = Clock::now();
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        std::unique_ptr<Stub> stub = NewStub();
        for (int i = 0; !stop.load(); ++i) {
          work(*stub, c, i);
          calls.fetch_add(1);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop.store(true);
    for (std::thread& t : threads) t.join();
    const auto cpu_after = CpuJiffies();
    if (cpu_busy != nullptr && cpu_before && cpu_after && cpu_after->second > cpu_before->second) {
      *cpu_busy = static_cast<double>(cpu_after->first - cpu_before->first) /
                  static_cast<double>(cpu_after->second - cpu_before->second);
    }
    return calls.load() / std::chrono::duration<double>(Clock::now() - start).count();
  }

  std::vector<ThroughputResult> RunThroughput(int volumes, double seconds) {
    std::vector<ThroughputResult> out;
    for (int clients : {1, 4, 16}) {
      double reads_busy = -1, mutations_busy = -1;
      double reads = Throughput(
          clients, seconds,
          [](Stub& stub, int, int) {
            pb::GetVolumeRequest request;
            request.set_name("fx-base");
            pb::Volume reply;
            CheckCall(stub.GetVolume(Context().get(), request, &reply), "get volume");
          },
          &reads_busy);
      out.push_back({"GetVolume", clients, reads, reads_busy});
      // Each client creates and deletes volumes of its own names.
      double mutations = Throughput(
          clients, seconds,
          [volumes](Stub& stub, int c, int i) {
            const std::string name = absl::StrCat("tp-s", volumes, "-c", c, "-", i);
            pb::CreateVolumeRequest create;
            create.set_name(name);
            create.set_size_bytes(kVolumeSize);
            pb::Volume made;
            CheckCall(stub.CreateVolume(Context().get(), create, &made), "create " + name);
            pb::DeleteVolumeRequest remove;
            remove.set_name(name);
            pb::DeleteVolumeResponse removed;
            CheckCall(stub.DeleteVolume(Context().get(), remove, &removed), "delete " + name);
          },
          &mutations_busy);
      out.push_back({"CreateVolume+DeleteVolume", clients, mutations, mutations_busy});
      std::fprintf(stderr, "  %2d clients: %.1f GetVolume/s, %.2f create+delete/s\n", clients,
                   reads, mutations);
    }
    return out;
  }

  // `clients` ListVolumes calls at once, each on its own channel (the most
  // memory the daemon needs at once); returns the slowest call's ms.
  double ConcurrentLists(int clients) {
    std::vector<std::thread> threads;
    std::vector<double> ms(clients);
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        std::unique_ptr<Stub> stub = NewStub();
        pb::ListVolumesResponse reply;
        ms[c] = Time([&] {
          CheckCall(stub->ListVolumes(Context().get(), pb::ListVolumesRequest(), &reply), "list");
        });
      });
    }
    for (std::thread& t : threads) t.join();
    return *std::max_element(ms.begin(), ms.end());
  }

  // `subscribers` WatchVolumes streams (each with its own channel, as
  // separate node agents) while `creates` volumes are created one after the
  // other: how long until every subscriber has each new volume's event.
  FanoutResult RunFanout(int volumes, int subscribers, int creates) {
    pb::ListVolumesRequest list;
    pb::ListVolumesResponse existing;
    CheckCall(stub_->ListVolumes(Context().get(), list, &existing), "list");
    const size_t initial = existing.volumes_size();
    Mutex mu;
    std::map<std::string, std::vector<Clock::time_point>> arrivals;  // name -> one per subscriber
    std::atomic<int> ready{0};
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::vector<std::thread> readers;
    for (int i = 0; i < subscribers; ++i)
      contexts.push_back(std::make_unique<grpc::ClientContext>());
    for (int i = 0; i < subscribers; ++i) {
      readers.emplace_back([&, i] {
        std::unique_ptr<Stub> stub = NewStub();
        auto reader = stub->WatchVolumes(contexts[i].get(), pb::WatchVolumesRequest());
        pb::VolumeEvent event;
        size_t seen = 0;
        if (initial == 0) ready.fetch_add(1);
        while (reader->Read(&event)) {
          if (++seen == initial) ready.fetch_add(1);  // the current state came first
          if (!event.has_volume() || event.volume().name().rfind("fan-", 0) != 0) continue;
          MutexLock lock(&mu);
          arrivals[event.volume().name()].push_back(Clock::now());
        }
        reader->Finish();
      });
    }
    const auto ready_deadline = Clock::now() + std::chrono::minutes(10);
    while (ready.load() < subscribers) {
      if (Clock::now() > ready_deadline) Die("the watchers did not all get the current state");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::vector<double> calls, deliveries;
    std::vector<std::string> names;
    for (int c = 0; c < creates; ++c) {
      const std::string name = absl::StrCat("fan-s", volumes, "-", c);
      names.push_back(name);
      const Clock::time_point start = Clock::now();
      CreateVolume(name);
      calls.push_back(Millis(Clock::now() - start));
      const auto deadline = Clock::now() + std::chrono::minutes(2);
      while (true) {
        {
          MutexLock lock(&mu);
          const std::vector<Clock::time_point>& got = arrivals[name];
          if (static_cast<int>(got.size()) >= subscribers) {
            deliveries.push_back(Millis(*std::max_element(got.begin(), got.end()) - start));
            break;
          }
        }
        if (Clock::now() > deadline) Die("subscribers did not all get the event of " + name);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    for (auto& context : contexts) context->TryCancel();
    for (std::thread& t : readers) t.join();
    for (const std::string& name : names) DeleteVolume(name);
    FanoutResult result{subscribers, creates, Median(calls), Median(deliveries),
                        *std::max_element(deliveries.begin(), deliveries.end())};
    std::fprintf(stderr, "  fan-out to %d subscribers: create %.1f ms, last delivery %.1f ms\n",
                 subscribers, result.create_ms, result.delivery_ms);
    return result;
  }

  void GetPoolStats() {
    pb::PoolStats reply;
    CheckCall(stub_->GetPoolStats(Context().get(), pb::GetPoolStatsRequest(), &reply),
              "pool stats");
  }

 private:
  std::unique_ptr<Stub> NewStub() const {
    return pb::ZfsService::NewStub(
        grpc::CreateChannel(endpoint_, grpc::InsecureChannelCredentials()));
  }

  static double Time(const std::function<void()>& f) {
    auto start = Clock::now();
    f();
    return Millis(Clock::now() - start);
  }

  std::string Dataset(const std::string& name) const { return pool_ + "/" + name; }

  void CreateVolume(const std::string& name, const std::string& id = "") {
    pb::CreateVolumeRequest request;
    request.set_name(name);
    request.set_size_bytes(kVolumeSize);
    request.set_id(id);
    pb::Volume reply;
    CheckCall(stub_->CreateVolume(Context().get(), request, &reply), "create " + name);
  }

  void CreateSnapshot(const std::string& volume, const std::string& snapshot) {
    pb::CreateSnapshotRequest request;
    request.set_volume_name(volume);
    request.set_snapshot_name(snapshot);
    pb::Snapshot reply;
    CheckCall(stub_->CreateSnapshot(Context().get(), request, &reply),
              "snapshot " + volume + "@" + snapshot);
  }

  void DeleteVolume(const std::string& name) {
    pb::DeleteVolumeRequest request;
    request.set_name(name);
    pb::DeleteVolumeResponse reply;
    CheckCall(stub_->DeleteVolume(Context().get(), request, &reply), "delete " + name);
  }

  // The CLI way of making a zvol the daemon would see as its volume, then
  // waiting for its device as a shell-out daemon must.
  void CliCreate(const std::string& dataset, const std::string& id) {
    RunTool({"zfs", "create", "-s", "-V", std::to_string(kVolumeSize), "-o", "volblocksize=16K",
             "-o", "volmode=dev", "-o", "mvirt:id=" + id, "-o", "mvirt:kind=volume", dataset});
    WaitForDevice(dataset);
  }

  void CliClone(const std::string& origin, const std::string& dataset, const std::string& id) {
    RunTool({"zfs", "clone", "-o", "volmode=dev", "-o", "mvirt:id=" + id, "-o", "mvirt:kind=volume",
             origin, dataset});
    WaitForDevice(dataset);
  }

  void FloorCreate(const std::string& dataset, const std::string& id) {
    floor_.CreateVolume(dataset, kVolumeSize, VolumeMarks(id));
    WaitForDevice(dataset);
  }

  void FloorClone(const std::string& origin, const std::string& dataset, const std::string& id) {
    floor_.Clone(dataset, origin, VolumeMarks(id));
    WaitForDevice(dataset);
  }

  // Destroys, untimed, the volumes an operation made with the prefixes
  // "<op>-{d,c,f}-<tag>-" for `rounds` rounds.
  std::function<void()> DestroyMade(const std::string& op, const std::string& tag) {
    return [this, op, tag] {
      for (const char* way : {"d", "c", "f"}) {
        for (int i = 0; i < made_rounds_; ++i) {
          const std::string dataset = Dataset(absl::StrCat(op, "-", way, "-", tag, "-", i));
          floor_.Destroy(dataset);
          WaitForDeviceGone(dataset);
        }
      }
    };
  }

  std::vector<Operation> Operations(const std::string& tag) {
    auto name = [tag](const char* op, const char* way, int i) {
      return absl::StrCat(op, "-", way, "-", tag, "-", i);
    };
    std::vector<Operation> ops;
    ops.push_back({"CreateVolume (device ready)",
                   [=, this](int i) {
                     made_rounds_ = i + 1;
                     CreateVolume(name("cr", "d", i), zfs::NewUuid());
                   },
                   [=, this](int i) { CliCreate(Dataset(name("cr", "c", i)), zfs::NewUuid()); },
                   [=, this](int i) { FloorCreate(Dataset(name("cr", "f", i)), zfs::NewUuid()); },
                   DestroyMade("cr", tag)});
    ops.push_back(
        {"CreateSnapshot", [=, this](int i) { CreateSnapshot("fx-snap", name("sn", "d", i)); },
         [=, this](int i) {
           RunTool({"zfs", "snapshot", Dataset("fx-snap@" + name("sn", "c", i))});
         },
         [=, this](int i) { floor_.Snapshot({Dataset("fx-snap@" + name("sn", "f", i))}); },
         nullptr});
    ops.push_back({"CreateSnapshots (4 volumes)",
                   [=, this](int i) {
                     pb::CreateSnapshotsRequest request;
                     for (int m = 0; m < 4; ++m) request.add_volume_names(absl::StrCat("fx-m", m));
                     request.set_snapshot_name(name("ms", "d", i));
                     pb::CreateSnapshotsResponse reply;
                     CheckCall(stub_->CreateSnapshots(Context().get(), request, &reply),
                               "snapshots");
                   },
                   [=, this](int i) {
                     std::vector<std::string> argv = {"zfs", "snapshot"};
                     for (int m = 0; m < 4; ++m) {
                       argv.push_back(Dataset(absl::StrCat("fx-m", m, "@", name("ms", "c", i))));
                     }
                     RunTool(argv);
                   },
                   [=, this](int i) {
                     std::vector<std::string> snaps;
                     for (int m = 0; m < 4; ++m) {
                       snaps.push_back(Dataset(absl::StrCat("fx-m", m, "@", name("ms", "f", i))));
                     }
                     floor_.Snapshot(snaps);
                   },
                   nullptr});
    ops.push_back({"CloneFromTemplate (device ready)",
                   [=, this](int i) {
                     made_rounds_ = i + 1;
                     pb::CloneFromTemplateRequest request;
                     request.set_template_name("fx-tmpl");
                     request.set_new_volume_name(name("ct", "d", i));
                     request.set_id(zfs::NewUuid());
                     pb::Volume reply;
                     CheckCall(stub_->CloneFromTemplate(Context().get(), request, &reply),
                               "clone from template");
                   },
                   [=, this](int i) {
                     CliClone(template_snapshot_, Dataset(name("ct", "c", i)), zfs::NewUuid());
                   },
                   [=, this](int i) {
                     FloorClone(template_snapshot_, Dataset(name("ct", "f", i)), zfs::NewUuid());
                   },
                   DestroyMade("ct", tag)});
    // The clones made here are what DeleteVolume then deletes.
    ops.push_back({"CloneVolume (device ready)",
                   [=, this](int i) {
                     pb::CloneVolumeRequest request;
                     request.set_source_volume("fx-base");
                     request.set_snapshot_name("s9");
                     request.set_new_volume_name(name("cv", "d", i));
                     pb::Volume reply;
                     CheckCall(stub_->CloneVolume(Context().get(), request, &reply),
                               "clone volume");
                   },
                   [=, this](int i) {
                     CliClone(Dataset("fx-base@s9"), Dataset(name("cv", "c", i)), zfs::NewUuid());
                   },
                   [=, this](int i) {
                     FloorClone(Dataset("fx-base@s9"), Dataset(name("cv", "f", i)), zfs::NewUuid());
                   },
                   nullptr});
    ops.push_back({"DeleteVolume (a clone)", [=, this](int i) { DeleteVolume(name("cv", "d", i)); },
                   [=, this](int i) {
                     const std::string dataset = Dataset(name("cv", "c", i));
                     RunTool({"zfs", "destroy", dataset});
                     WaitForDeviceGone(dataset);
                   },
                   [=, this](int i) {
                     const std::string dataset = Dataset(name("cv", "f", i));
                     floor_.Destroy(dataset);
                     WaitForDeviceGone(dataset);
                   },
                   nullptr});
    auto resize_to = [](int i, int way) { return kVolumeSize + (3 * i + way + 1) * 16 * kMiB; };
    ops.push_back(
        {"ResizeVolume",
         [=, this](int i) {
           pb::ResizeVolumeRequest request;
           request.set_name("fx-rs");
           request.set_new_size_bytes(resize_to(i, 0) + resized_);
           pb::Volume reply;
           CheckCall(stub_->ResizeVolume(Context().get(), request, &reply), "resize");
         },
         [=, this](int i) {
           RunTool({"zfs", "set", absl::StrCat("volsize=", resize_to(i, 1) + resized_),
                    Dataset("fx-rs")});
         },
         [=, this](int i) { floor_.SetVolsize(Dataset("fx-rs"), resize_to(i, 2) + resized_); },
         [=, this] { resized_ += resize_to(rounds_, 0); }});
    ops.push_back({"RollbackSnapshot",
                   [=, this](int) {
                     pb::RollbackSnapshotRequest request;
                     request.set_volume_name("fx-rb");
                     request.set_snapshot_name("r");
                     pb::Volume reply;
                     CheckCall(stub_->RollbackSnapshot(Context().get(), request, &reply),
                               "rollback");
                   },
                   [=, this](int) {
                     RunTool({"zfs", "rollback", Dataset("fx-rb@r")});
                     WaitForDevice(Dataset("fx-rb"));
                   },
                   [=, this](int) {
                     floor_.Rollback(Dataset("fx-rb"), Dataset("fx-rb@r"));
                     WaitForDevice(Dataset("fx-rb"));
                   },
                   nullptr});
    ops.push_back({"GetVolume",
                   [=, this](int) {
                     pb::GetVolumeRequest request;
                     request.set_name("fx-base");
                     pb::Volume reply;
                     CheckCall(stub_->GetVolume(Context().get(), request, &reply), "get volume");
                   },
                   [=, this](int) {
                     RunTool({"zfs", "list", "-Hp", "-o", kVolumeColumns, Dataset("fx-base")});
                     RunTool({"zfs", "list", "-Hp", "-t", "snapshot", "-s", "createtxg", "-o",
                              kSnapshotColumns, Dataset("fx-base")});
                   },
                   [=, this](int) { floor_.ReadVolume(Dataset("fx-base")); }, nullptr});
    ops.push_back(
        {"ListVolumes",
         [=, this](int) {
           pb::ListVolumesRequest request;
           pb::ListVolumesResponse reply;
           CheckCall(stub_->ListVolumes(Context().get(), request, &reply), "list");
         },
         [=, this](int) {
           RunTool({"zfs", "list", "-t", "all", "-Hp", "-r", "-o", kVolumeColumns, pool_});
         },
         [=, this](int) { floor_.ReadVolumes(pool_); }, nullptr, true});
    ops.push_back({"ListSnapshots",
                   [=, this](int) {
                     pb::ListSnapshotsRequest request;
                     request.set_volume_name("fx-base");
                     pb::ListSnapshotsResponse reply;
                     CheckCall(stub_->ListSnapshots(Context().get(), request, &reply),
                               "list snapshots");
                   },
                   [=, this](int) {
                     RunTool({"zfs", "list", "-Hp", "-t", "snapshot", "-s", "createtxg", "-o",
                              kSnapshotColumns, Dataset("fx-base")});
                   },
                   [=, this](int) { floor_.ReadSnapshots(Dataset("fx-base")); }, nullptr});
    ops.push_back({"ListTemplates",
                   [=, this](int) {
                     pb::ListTemplatesRequest request;
                     pb::ListTemplatesResponse reply;
                     CheckCall(stub_->ListTemplates(Context().get(), request, &reply),
                               "list templates");
                   },
                   [=, this](int) {
                     RunTool({"zfs", "list", "-t", "all", "-Hp", "-r", "-o", kSnapshotColumns,
                              Dataset(".mvirt/templates")});
                   },
                   [=, this](int) { floor_.ReadVolumes(Dataset(".mvirt/templates")); }, nullptr});
    ops.push_back({"GetPoolStats",
                   [=, this](int) {
                     pb::GetPoolStatsRequest request;
                     pb::PoolStats reply;
                     CheckCall(stub_->GetPoolStats(Context().get(), request, &reply), "pool stats");
                   },
                   [=, this](int) {
                     RunTool({"zfs", "list", "-Hp", "-o", "used,available,compressratio", pool_});
                     RunTool({"zfs", "list", "-Hp", "-t", "volume", "-d", "1", "-o",
                              "volsize,mvirt:id", pool_});
                   },
                   [=, this](int) { floor_.ReadPoolStats(pool_); }, nullptr, true});
    return ops;
  }

  const std::string pool_, endpoint_;
  bool Selected(const std::string& op) const {
    if (only_.empty()) return true;
    return std::any_of(only_.begin(), only_.end(),
                       [&](const std::string& prefix) { return absl::StartsWith(op, prefix); });
  }

  const int rounds_;
  const std::vector<std::string> only_;
  std::unique_ptr<Stub> stub_;
  ZfsFloor floor_;
  std::string template_snapshot_;
  int filled_ = 0;
  int made_rounds_ = 0;
  uint64_t resized_ = 0;
};

void PrintOperations(const std::vector<OperationResult>& operations) {
  std::printf("| %-32s | %8s | %8s | %8s | %12s | %10s |\n", "operation", "daemon", "zfs CLI",
              "floor", "daemon/floor", "CLI/floor");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(34, '-').c_str(), std::string(10, '-').c_str(),
              std::string(10, '-').c_str(), std::string(10, '-').c_str(),
              std::string(14, '-').c_str(), std::string(12, '-').c_str());
  for (const OperationResult& op : operations) {
    std::printf("| %-32s | %8.1f | %8.1f | %8.1f | %12.2f | %10.2f |\n", op.name.c_str(),
                op.daemon_ms, op.cli_ms, op.floor_ms, op.daemon_ms / op.floor_ms,
                op.cli_ms / op.floor_ms);
  }
}

void PrintScale(const ScaleResult& scale) {
  std::printf("\n%d volumes x %d snapshots (p50 ms)\n", scale.volumes, kSnapshotsPerVolume);
  if (!scale.operations.empty()) PrintOperations(scale.operations);
  for (const ThroughputResult& t : scale.throughput) {
    std::printf("throughput %-28s %2d clients: %8.2f calls/s, CPUs %3.0f%% busy\n",
                t.workload.c_str(), t.clients, t.ops_per_second, 100 * t.cpu_busy);
  }
  const FanoutResult& f = scale.fanout;
  if (f.subscribers > 0) {
    std::printf(
        "WatchVolumes fan-out, %d subscribers: CreateVolume p50 %.1f ms; its event at the "
        "last subscriber %.1f ms after the call started (p50), %.1f ms at worst\n",
        f.subscribers, f.create_ms, f.delivery_ms, f.slowest_ms);
  }
  if (scale.concurrent_list_ms > 0) {
    std::printf("4 ListVolumes at once: the slowest took %.1f ms\n", scale.concurrent_list_ms);
  }
  if (scale.rss_kib >= 0) std::printf("daemon RSS: %ld KiB\n", scale.rss_kib);
}

std::string ToJson(const std::vector<ScaleResult>& scales, long rss_idle_kib) {
  std::ostringstream out;
  out << "{\"snapshots_per_volume\": " << kSnapshotsPerVolume
      << ", \"daemon_rss_idle_kib\": " << rss_idle_kib << ", \"scales\": [";
  for (size_t s = 0; s < scales.size(); ++s) {
    const ScaleResult& scale = scales[s];
    out << (s ? ", " : "") << "{\"volumes\": " << scale.volumes
        << ", \"daemon_rss_kib\": " << scale.rss_kib
        << ", \"concurrent_list_ms\": " << scale.concurrent_list_ms << ", \"operations\": [";
    for (size_t i = 0; i < scale.operations.size(); ++i) {
      const OperationResult& op = scale.operations[i];
      out << (i ? ", " : "")
          << absl::StrFormat(
                 "{\"op\": \"%s\", \"rounds\": %d, \"daemon_ms\": %.3f, \"cli_ms\": %.3f, "
                 "\"floor_ms\": %.3f}",
                 op.name, op.rounds, op.daemon_ms, op.cli_ms, op.floor_ms);
    }
    out << "], \"throughput\": [";
    for (size_t i = 0; i < scale.throughput.size(); ++i) {
      const ThroughputResult& t = scale.throughput[i];
      out << (i ? ", " : "")
          << absl::StrFormat(
                 "{\"workload\": \"%s\", \"clients\": %d, \"calls_per_second\": %.3f, "
                 "\"cpu_busy\": %.3f}",
                 t.workload, t.clients, t.ops_per_second, t.cpu_busy);
    }
    out << absl::StrFormat(
        "], \"fanout\": {\"subscribers\": %d, \"creates\": %d, \"create_ms\": %.3f, "
        "\"delivery_ms\": %.3f, \"slowest_ms\": %.3f}}",
        scale.fanout.subscribers, scale.fanout.creates, scale.fanout.create_ms,
        scale.fanout.delivery_ms, scale.fanout.slowest_ms);
  }
  out << "]}\n";
  return out.str();
}

}  // namespace
}  // namespace mvirt::bench

int main(int argc, char** argv) {
  using namespace mvirt::bench;
  CLI::App app{
      "What mvirt-zfs costs over ZFS: each operation via the daemon, the zfs CLI and "
      "libzfs_core, side by side, at growing pool sizes"};
  std::string pool, endpoint, json;
  std::vector<int> scales = {10, 100};
  int rounds = 15, daemon_pid = 0;
  double concurrency_seconds = 5;
  int subscribers = 100;
  bool footprint_only = false, throughput_only = false;
  std::vector<std::string> only;
  app.add_option("--pool", pool, "pool the daemon serves")->required();
  app.add_option("--endpoint", endpoint, "the daemon's endpoint, e.g. unix:/run/x.sock")
      ->required();
  app.add_option("--scales", scales, "volume counts to measure at (ascending)")->delimiter(',');
  app.add_option("--rounds", rounds,
                 "rounds per operation (p50 of them; list operations use "
                 "5 at 100 volumes and 3 at 1000)");
  app.add_option("--json", json, "write every figure here as JSON");
  app.add_option("--daemon-pid", daemon_pid, "read the daemon's RSS from /proc");
  app.add_option("--concurrency-seconds", concurrency_seconds,
                 "how long each concurrent-clients run lasts");
  app.add_option("--subscribers", subscribers, "WatchVolumes streams in the fan-out run");
  app.add_flag("--footprint-only", footprint_only,
               "at each scale only the daemon's memory: after 4 ListVolumes at once, a "
               "GetPoolStats and the fan-out (no per-operation rounds)");
  app.add_flag("--throughput-only", throughput_only,
               "at each scale only the concurrent-clients runs (GetVolume, create+delete with "
               "1, 4 and 16 clients)");
  app.add_option("--operations", only,
                 "time only these operations (each a prefix of an operation's name, e.g. "
                 "CreateVolume,GetPoolStats), without the throughput and fan-out runs")
      ->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  std::sort(scales.begin(), scales.end());

  OpsBench bench(pool, endpoint, rounds, only);
  const long rss_idle_kib = DaemonRssKib(daemon_pid);  // started, nothing served yet
  bench.MakeFixtures();
  if (rss_idle_kib >= 0) std::printf("daemon RSS idle: %ld KiB\n", rss_idle_kib);
  std::vector<ScaleResult> results;
  for (int volumes : scales) {
    std::fprintf(stderr, "filling %s to %d volumes\n", pool.c_str(), volumes);
    bench.FillTo(volumes);
    ScaleResult result;
    result.volumes = volumes;
    if (footprint_only) {
      std::fprintf(stderr, "the daemon's memory at %d volumes\n", volumes);
      result.concurrent_list_ms = bench.ConcurrentLists(4);
      bench.GetPoolStats();
    } else if (throughput_only) {
      std::fprintf(stderr, "throughput at %d volumes\n", volumes);
      result.throughput = bench.RunThroughput(volumes, concurrency_seconds);
    } else {
      std::fprintf(stderr, "measuring at %d volumes (daemon, CLI, floor)\n", volumes);
      result = bench.RunScale(volumes);
      if (only.empty()) result.throughput = bench.RunThroughput(volumes, concurrency_seconds);
    }
    if (only.empty() && !throughput_only) {
      result.fanout = bench.RunFanout(volumes, subscribers, 10);
    }
    result.rss_kib = DaemonRssKib(daemon_pid);
    PrintScale(result);
    results.push_back(std::move(result));
  }
  if (!json.empty()) {
    std::ofstream(json) << ToJson(results, rss_idle_kib);
  }
  return 0;
}
