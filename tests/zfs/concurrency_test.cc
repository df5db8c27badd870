// Concurrency on real ZFS: 16 clients call random RPCs on a small shared set
// of names for MVIRT_RACE_SECONDS (default 45) while a watcher follows every
// change. Asserted: no call outlives its deadline (a watchdog for
// deadlocks), the daemon never dies, of the creates of one name that return
// OK while it exists exactly one wins, every volume at the end carries an id
// some OK'd create or clone gave it, the watcher's final view equals
// ListVolumes, and the pool's invariants hold. Built with ThreadSanitizer
// (scripts/test.sh), the daemon must report no race.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "api_fixture.h"
#include "invariants.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

constexpr int kClients = 16;
constexpr int kNames = 5;
constexpr auto kCallDeadline = std::chrono::seconds(90);

std::string Uuid(int client, int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "c0ffee%02d-0000-4000-8000-%012d", client, n);
  return buf;
}

// What the clients saw, for the checks at the end.
struct Record {
  std::mutex mu;
  std::map<std::string, std::set<std::string>> ids_given;  // name -> ids of OK'd creates/clones
  std::map<grpc::StatusCode, int> codes;
  int calls = 0;
  int overdue = 0;  // calls that ran into their deadline: a deadlock suspect
  void Add(const grpc::Status& s, const std::string& name = "", const std::string& id = "") {
    std::lock_guard lock(mu);
    ++calls;
    ++codes[s.error_code()];
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) ++overdue;
    if (s.ok() && !id.empty()) ids_given[name].insert(id);
  }
};

// One client: random calls until `stop`.
void Client(int client, ZfsService::Stub& stub, Record& record, std::atomic<bool>& stop) {
  std::mt19937 rng(1000 + client);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  for (int n = 0; !stop; ++n) {
    const std::string name = "v" + std::to_string(pick(kNames));
    const std::string snap = "s" + std::to_string(pick(3));
    switch (pick(9)) {
      case 0:
      case 1: {
        CreateVolumeRequest req;
        req.set_name(name);
        req.set_size_bytes(16 * kMiB);
        req.set_id(Uuid(client, n));
        Volume v;
        record.Add(CallWithin(kCallDeadline, &ZfsService::Stub::CreateVolume, stub, req, &v), name,
                   req.id());
        break;
      }
      case 2: {
        DeleteVolumeRequest req;
        req.set_name(name);
        DeleteVolumeResponse r;
        record.Add(CallWithin(kCallDeadline, &ZfsService::Stub::DeleteVolume, stub, req, &r));
        break;
      }
      case 3: {
        CreateSnapshotRequest req;
        req.set_volume_name(name);
        req.set_snapshot_name(snap);
        Snapshot r;
        record.Add(CallWithin(kCallDeadline, &ZfsService::Stub::CreateSnapshot, stub, req, &r));
        break;
      }
      case 4: {
        RollbackSnapshotRequest req;
        req.set_volume_name(name);
        req.set_snapshot_name(snap);
        Volume r;
        record.Add(CallWithin(kCallDeadline, &ZfsService::Stub::RollbackSnapshot, stub, req, &r));
        break;
      }
      case 5: {
        CloneVolumeRequest req;
        req.set_source_volume(name);
        req.set_snapshot_name(snap);
        const std::string target = "v" + std::to_string(pick(kNames));
        req.set_new_volume_name(target);
        req.set_id(Uuid(client, n));
        Volume r;
        record.Add(CallWithin(kCallDeadline, &ZfsService::Stub::CloneVolume, stub, req, &r), target,
                   req.id());
        break;
      }
      case 6: {
        ResizeVolumeRequest req;
        req.set_name(name);
        req.set_new_size_bytes((16 + 16 * pick(4)) * kMiB);
        Volume r;
        record.Add(CallWithin(kCallDeadline, &ZfsService::Stub::ResizeVolume, stub, req, &r));
        break;
      }
      case 7: {
        DeleteSnapshotRequest req;
        req.set_volume_name(name);
        req.set_snapshot_name(snap);
        DeleteSnapshotResponse r;
        record.Add(CallWithin(kCallDeadline, &ZfsService::Stub::DeleteSnapshot, stub, req, &r));
        break;
      }
      default: {
        ListVolumesResponse r;
        record.Add(CallWithin(kCallDeadline, &ZfsService::Stub::ListVolumes, stub,
                              ListVolumesRequest(), &r));
      }
    }
  }
}

TEST(Concurrency, SixteenClientsOnAFewNames) {
  const char* env = std::getenv("MVIRT_RACE_SECONDS");
  const int seconds = env != nullptr ? std::atoi(env) : 45;
  ScratchPool pool("mvrace");
  // A buffer no watcher can outrun here: the watcher must see every event.
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-race.sock", {"--watch-buffer", "1000000"});
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto channel = grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials());
  auto stub = ZfsService::NewStub(channel);

  // The watcher: the last state of every volume id it heard of.
  std::map<std::string, std::string> watched;  // id -> name (deleted ones erased)
  grpc::ClientContext watch_ctx;
  auto watch = stub->WatchVolumes(&watch_ctx, WatchVolumesRequest());
  std::mutex watched_mu;
  std::thread watcher([&] {
    VolumeEvent e;
    while (watch->Read(&e)) {
      std::lock_guard lock(watched_mu);
      if (e.has_volume()) {
        watched[e.volume_id()] = e.volume().name();
      } else {
        watched.erase(e.volume_id());
      }
    }
  });

  Record record;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] { Client(c, *stub, record, stop); });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_TRUE(daemon.Alive()) << "the daemon died\n" << daemon.Log();
  EXPECT_EQ(record.overdue, 0) << "calls ran into their " << kCallDeadline.count()
                               << " s deadline: a deadlock?";

  // The final state against what the clients and the watcher saw.
  ListVolumesResponse listed;
  grpc::ClientContext ctx;
  const grpc::Status list_status = stub->ListVolumes(&ctx, ListVolumesRequest(), &listed);
  if (!list_status.ok()) {
    watch_ctx.TryCancel();
    watcher.join();
    FAIL() << "ListVolumes after the run: " << list_status.error_message() << "\n" << daemon.Log();
  }
  std::map<std::string, std::string> final_view;
  for (const Volume& v : listed.volumes()) {
    final_view[v.id()] = v.name();
    EXPECT_EQ(record.ids_given[v.name()].count(v.id()), 1u)
        << v.name() << " carries id " << v.id() << ", which no OK'd create or clone gave it";
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the last events in flight
  watch_ctx.TryCancel();
  watcher.join();
  {
    std::lock_guard lock(watched_mu);
    EXPECT_EQ(watched, final_view) << "the watcher's view differs from ListVolumes";
  }
  for (const std::string& v : PoolViolations(pool.name(), *stub)) ADD_FAILURE() << v;

  // A burst of creates of one fresh name with different ids: one wins.
  std::atomic<int> winners{0};
  std::vector<std::thread> burst;
  for (int c = 0; c < kClients; ++c) {
    burst.emplace_back([&, c] {
      CreateVolumeRequest req;
      req.set_name("burst");
      req.set_size_bytes(16 * kMiB);
      req.set_id(Uuid(c, 999999));
      Volume v;
      grpc::Status s = CallWithin(kCallDeadline, &ZfsService::Stub::CreateVolume, *stub, req, &v);
      if (s.ok()) ++winners;
      EXPECT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::ALREADY_EXISTS)
          << s.error_message();
    });
  }
  for (auto& t : burst) t.join();
  EXPECT_EQ(winners, 1);
  int status = daemon.StopWith(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(daemon.SanitizerReports(), "");
  std::printf("concurrency: %d clients, %d s, %d calls, %d overdue; codes:", kClients, seconds,
              record.calls, record.overdue);
  for (const auto& [code, n] : record.codes) std::printf(" %d:%d", static_cast<int>(code), n);
  std::printf("\n");
}

}  // namespace
}  // namespace mvirt::zfs::testing
