// Crash torture on real ZFS: the daemon dies in the middle of its work, is
// started again, and the pool must hold either nothing of the interrupted
// call or its complete result, never something half-made; a retry of the
// call must succeed (or find the call's complete result); whatever the
// daemon does not own is never touched.
//
// Two kinds of death:
//  - at every named step boundary (src/common/crash_point.h; this binary is
//    built only with MVIRT_CRASH_POINTS): the test writes the point's name
//    into the daemon's MVIRT_ZFS_CRASH_FILE and the daemon ends itself right
//    after that step;
//  - SIGKILL at a random moment during random calls (MVIRT_TORTURE_KILLS
//    rounds, default 12; the long variant sets hundreds), checking after
//    every restart that each call that returned OK is there as returned.
// Each test prints its figures (kills, violations) for docs/RELIABILITY.md.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "api_fixture.h"
#include "import_fixture.h"
#include "invariants.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

constexpr char kTorturePool[] = "mvtorture";
constexpr char kSocket[] = "/run/mvirt-zfs-torture.sock";
constexpr char kCrashFile[] = "/run/mvirt-zfs-torture.crash-at";
constexpr int kCrashExit = 86;  // kCrashPointExitCode

// The torture pool, a daemon on it that can be killed and restarted, and the
// invariants that must hold after every restart.
class Torture {
 public:
  Torture() : pool_(kTorturePool) {
    // Something the daemon does not own: it must never change.
    MustRun("zfs create -s -V 16M " + Pool() + "/sentinel && zfs snapshot " + Pool() +
            "/sentinel@keep");
    sentinel_ = Sentinel();
    Start();
  }

  const std::string& Pool() const { return pool_.name(); }

  // Starts the daemon, with no crash point aimed at.
  void Start() {
    ::unlink(kCrashFile);
    daemon_ = std::make_unique<DaemonProcess>(
        Pool(), kSocket, std::vector<std::string>{},
        std::vector<std::string>{std::string("MVIRT_ZFS_CRASH_FILE=") + kCrashFile});
    ASSERT_TRUE(daemon_->WaitUntilServing()) << daemon_->Log();
    stub_ = ZfsService::NewStub(
        grpc::CreateChannel(daemon_->endpoint(), grpc::InsecureChannelCredentials()));
  }
  // The running daemon ends itself at `point` from now on.
  void AimAt(const std::string& point) {
    MustRun(std::string("echo '") + point + "' > " + kCrashFile);
  }
  DaemonProcess& daemon() { return *daemon_; }
  ZfsService::Stub& stub() { return *stub_; }

  // Every violation of the invariants (invariants.h), and a change of the
  // sentinel, as text; empty if none.
  std::vector<std::string> Violations() {
    std::vector<std::string> found = PoolViolations(Pool(), *stub_, {"sentinel"});
    if (Sentinel() != sentinel_) found.push_back("the sentinel changed");
    return found;
  }

  // Kills the daemon (if it still runs), starts it again, and counts the
  // violations of the invariants.
  void Restart() {
    daemon_->StopWith(SIGKILL);
    Start();
    for (const std::string& v : Violations()) {
      ADD_FAILURE() << v;
      ++violations_;
    }
  }
  int violations() const { return violations_; }
  void AddViolation(const std::string& what) {
    ADD_FAILURE() << what;
    ++violations_;
  }

 private:
  std::string Sentinel() {
    return MustRun("zfs get -Hp -o value guid,volsize,written " + Pool() + "/sentinel " + Pool() +
                   "/sentinel@keep");
  }

  ScratchPool pool_;
  std::string sentinel_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<ZfsService::Stub> stub_;
  int violations_ = 0;
};

// --- The calls the torture makes ---

constexpr auto kCallDeadline = std::chrono::seconds(120);

grpc::Status CreateVol(ZfsService::Stub& stub, const std::string& name, const std::string& id) {
  CreateVolumeRequest req;
  req.set_name(name);
  req.set_size_bytes(16 * kMiB);
  req.set_id(id);
  return CallWithin(kCallDeadline, &ZfsService::Stub::CreateVolume, stub, req);
}

std::string UuidFor(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "7e57c0de-0000-4000-8000-%012d", n);
  return buf;
}
// The id a case's call gives its new volume: one per case, since a volume
// made by an earlier case keeps its id.
std::string UuidFor(const std::string& tag) { return UuidFor(std::stoi(tag)); }

// One case: set-up with the daemon running normally, then the call that is
// to die at `point`, and what a retry may answer besides OK.
struct CrashCase {
  std::string point;
  std::function<void(Torture&, const std::string& tag)> setup;
  std::function<grpc::Status(Torture&, const std::string& tag)> call;
  std::set<grpc::StatusCode> retry_may_also_say;  // the first call completed
};

void Snap(Torture& t, const std::string& volume, const std::string& snapshot) {
  CreateSnapshotRequest req;
  req.set_volume_name(volume);
  req.set_snapshot_name(snapshot);
  ASSERT_TRUE(CallWithin(kCallDeadline, &ZfsService::Stub::CreateSnapshot, t.stub(), req).ok());
}

void Promote(Torture& t, const std::string& volume, const std::string& snapshot,
             const std::string& name) {
  PromoteSnapshotRequest req;
  req.set_volume_name(volume);
  req.set_snapshot_name(snapshot);
  req.set_template_name(name);
  grpc::Status s =
      CallWithin(kCallDeadline, &ZfsService::Stub::PromoteSnapshotToTemplate, t.stub(), req);
  ASSERT_TRUE(s.ok()) << s.error_message();
}

std::vector<CrashCase> CrashCases() {
  auto none = [](Torture&, const std::string&) {};
  auto source = [](Torture& t, const std::string& tag) {
    ASSERT_TRUE(CreateVol(t.stub(), "src-" + tag, "").ok());
    Snap(t, "src-" + tag, "s1");
  };
  auto clone = [](Torture& t, const std::string& tag) {
    CloneVolumeRequest req;
    req.set_source_volume("src-" + tag);
    req.set_snapshot_name("s1");
    req.set_new_volume_name("clone-" + tag);
    req.set_size_bytes(32 * kMiB);  // grown: one more step
    req.set_id(UuidFor(tag));
    return CallWithin(kCallDeadline, &ZfsService::Stub::CloneVolume, t.stub(), req);
  };
  auto with_template = [source](Torture& t, const std::string& tag) {
    source(t, tag);
    Promote(t, "src-" + tag, "s1", "tmpl-" + tag);
  };
  auto clone_template = [](Torture& t, const std::string& tag) {
    CloneFromTemplateRequest req;
    req.set_template_name("tmpl-" + tag);
    req.set_new_volume_name("tclone-" + tag);
    req.set_id(UuidFor(tag));
    return CallWithin(kCallDeadline, &ZfsService::Stub::CloneFromTemplate, t.stub(), req);
  };
  auto snapshot = [](Torture& t, const std::string& tag) {
    CreateSnapshotRequest req;
    req.set_volume_name("src-" + tag);
    req.set_snapshot_name("s2");
    return CallWithin(kCallDeadline, &ZfsService::Stub::CreateSnapshot, t.stub(), req);
  };
  auto two_snapshots = [source](Torture& t, const std::string& tag) {
    source(t, tag);
    Snap(t, "src-" + tag, "s2");
  };
  auto rollback = [](Torture& t, const std::string& tag) {
    RollbackSnapshotRequest req;
    req.set_volume_name("src-" + tag);
    req.set_snapshot_name("s1");
    return CallWithin(kCallDeadline, &ZfsService::Stub::RollbackSnapshot, t.stub(), req);
  };
  auto resize = [](Torture& t, const std::string& tag) {
    ResizeVolumeRequest req;
    req.set_name("src-" + tag);
    req.set_new_size_bytes(64 * kMiB);
    return CallWithin(kCallDeadline, &ZfsService::Stub::ResizeVolume, t.stub(), req);
  };
  auto del = [](Torture& t, const std::string& tag) {
    DeleteVolumeRequest req;
    req.set_name("src-" + tag);
    return CallWithin(kCallDeadline, &ZfsService::Stub::DeleteVolume, t.stub(), req);
  };
  auto promote = [](Torture& t, const std::string& tag) {
    PromoteSnapshotRequest req;
    req.set_volume_name("src-" + tag);
    req.set_snapshot_name("s1");
    req.set_template_name("tmpl-" + tag);
    return CallWithin(kCallDeadline, &ZfsService::Stub::PromoteSnapshotToTemplate, t.stub(), req);
  };
  auto delete_template = [](Torture& t, const std::string& tag) {
    DeleteTemplateRequest req;
    req.set_name("tmpl-" + tag);
    return CallWithin(kCallDeadline, &ZfsService::Stub::DeleteTemplate, t.stub(), req);
  };
  auto with_cloned_template = [with_template, clone_template](Torture& t, const std::string& tag) {
    with_template(t, tag);
    ASSERT_TRUE(clone_template(t, tag).ok());
  };
  auto create = [](Torture& t, const std::string& tag) {
    return CreateVol(t.stub(), "new-" + tag, UuidFor(tag));
  };
  // The volume's snapshot `snapshot` (from `from`) sent and received back
  // into the same pool as volume recv-TAG, with an id of its own.
  auto send_receive = [](Torture& t, const std::string& tag, const std::string& snapshot,
                         const std::string& from) {
    SendVolumeRequest send;
    send.set_volume_name("src-" + tag);
    send.set_snapshot_name(snapshot);
    send.set_from_snapshot(from);
    std::string stream;
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
      auto reader = t.stub().SendVolume(&ctx, send);
      SendVolumeResponse message;
      while (reader->Read(&message)) stream += message.data();
      if (grpc::Status s = reader->Finish(); !s.ok()) return s;
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    ReceiveVolumeResponse response;
    auto writer = t.stub().ReceiveVolume(&ctx, &response);
    ReceiveVolumeRequest first;
    first.mutable_target()->set_volume_name("recv-" + tag);
    first.mutable_target()->set_volume_id(UuidFor(tag));
    first.mutable_target()->set_snapshot_id(
        UuidFor(std::stoi(tag) + (snapshot == "s1" ? 1000 : 2000)));
    bool open = writer->Write(first);
    ReceiveVolumeRequest data;
    data.set_data(stream);
    open = open && writer->Write(data);
    if (open) writer->WritesDone();
    return writer->Finish();
  };
  auto receive_full = [send_receive](Torture& t, const std::string& tag) {
    return send_receive(t, tag, "s1", "");
  };
  auto received_once = [two_snapshots, send_receive](Torture& t, const std::string& tag) {
    two_snapshots(t, tag);
    ASSERT_TRUE(send_receive(t, tag, "s1", "").ok());
  };
  auto receive_increment = [send_receive](Torture& t, const std::string& tag) {
    return send_receive(t, tag, "s2", "s1");
  };
  // A zvol made by hand, nested: AdoptVolume marks it, then renames it.
  auto by_hand = [](Torture& t, const std::string& tag) {
    MustRun("zfs create -p -s -V 16M " + t.Pool() + "/legacy-" + tag + "/disk");
  };
  auto adopt = [](Torture& t, const std::string& tag) {
    AdoptVolumeRequest req;
    req.set_dataset(t.Pool() + "/legacy-" + tag + "/disk");
    req.set_new_name("adopted-" + tag);
    req.set_id(UuidFor(tag));
    return CallWithin(kCallDeadline, &ZfsService::Stub::AdoptVolume, t.stub(), req);
  };
  auto release = [](Torture& t, const std::string& tag) {
    ReleaseVolumeRequest req;
    req.set_name("src-" + tag);
    return CallWithin(kCallDeadline, &ZfsService::Stub::ReleaseVolume, t.stub(), req);
  };
  using C = grpc::StatusCode;
  return {
      {"creating/made", none, create, {}},
      {"creating/renamed", none, create, {}},
      {"clone/cloned", source, clone, {}},
      {"creating/renamed", source, clone, {}},
      {"creating/made", with_template, clone_template, {}},
      {"creating/renamed", with_template, clone_template, {}},
      {"snapshot/taken", source, snapshot, {C::ALREADY_EXISTS}},
      {"rollback/done", two_snapshots, rollback, {}},
      {"resize/set", source, resize, {}},
      {"delete/destroyed", source, del, {C::NOT_FOUND}},
      {"promote/copied", source, promote, {C::ALREADY_EXISTS}},
      {"promote/marked", source, promote, {C::ALREADY_EXISTS}},
      {"promote/renamed", source, promote, {C::ALREADY_EXISTS}},
      {"template-delete/destroyed", with_template, delete_template, {C::NOT_FOUND}},
      {"template-delete/parked", with_cloned_template, delete_template, {C::NOT_FOUND}},
      {"receive/received", source, receive_full, {}},
      {"receive/received", received_once, receive_increment, {}},
      {"adopt/marked", by_hand, adopt, {}},
      {"adopt/renamed", by_hand, adopt, {}},
      {"release/unmanaged", source, release, {}},
  };
}

TEST(CrashTorture, EveryNamedStepOfEveryMultiStepCall) {
  Torture t;
  int kills = 0, n = 0;
  for (const CrashCase& c : CrashCases()) {
    const std::string tag = std::to_string(++n);
    SCOPED_TRACE(c.point + " (case " + tag + ")");
    c.setup(t, tag);
    t.AimAt(c.point);
    grpc::Status first = c.call(t, tag);
    // The call can only end by the daemon's death (UNAVAILABLE); any other
    // answer means the point was never reached.
    EXPECT_EQ(first.error_code(), grpc::StatusCode::UNAVAILABLE)
        << "the call must not return: it dies at " << c.point << "; it said "
        << first.error_message();
    int status = t.daemon().WaitForExit(
        std::chrono::seconds(first.error_code() == grpc::StatusCode::UNAVAILABLE ? 60 : 5));
    const bool died_there = WIFEXITED(status) && WEXITSTATUS(status) == kCrashExit;
    EXPECT_TRUE(died_there) << "the daemon did not stop at " << c.point << " (status " << status
                            << ")\n"
                            << t.daemon().Log();
    if (died_there) ++kills;
    t.Restart();  // checks the invariants
    grpc::Status retry = c.call(t, tag);
    EXPECT_TRUE(retry.ok() || c.retry_may_also_say.count(retry.error_code()) > 0)
        << "retry after " << c.point << ": " << retry.error_message();
    for (const std::string& v : t.Violations()) ADD_FAILURE() << "after the retry: " << v;
  }
  std::printf("crash torture (named steps): %d kills, %d violations\n", kills, t.violations());
}

TEST(CrashTorture, ImportDiesAtEveryStep) {
  Torture t;
  int kills = 0, n = 0;
  MakeRawImage(std::string(kImportDir) + "/torture.raw", 8 * kMiB, {{0, 2 * kMiB}});
  for (const char* point :
       {"import/staged", "import/snapshotted", "import/hidden", "import/renamed"}) {
    const std::string name = "imported-" + std::to_string(++n);
    SCOPED_TRACE(point);
    t.AimAt(point);
    ImportClient client(ZfsService::NewStub(
        grpc::CreateChannel(t.daemon().endpoint(), grpc::InsecureChannelCredentials())));
    ImportJob job;
    ASSERT_TRUE(client.Import(name, std::string(kImportDir) + "/torture.raw", &job).ok());
    int status = t.daemon().WaitForExit(std::chrono::seconds(150));
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == kCrashExit) << t.daemon().Log();
    ++kills;
    t.Restart();
    // Either no template (and the job says it was interrupted) or the whole.
    ImportClient after(ZfsService::NewStub(
        grpc::CreateChannel(t.daemon().endpoint(), grpc::InsecureChannelCredentials())));
    ImportJob record;
    ASSERT_TRUE(after.GetJob(job.id(), &record).ok());
    const bool exists = DatasetExists(t.Pool() + "/.mvirt/templates/" + name);
    if (exists) {
      EXPECT_EQ(ImportJobState_Name(record.state()), "IMPORT_JOB_STATE_COMPLETED")
          << "the job's record says what ZFS has";
    } else {
      EXPECT_EQ(ImportJobState_Name(record.state()), "IMPORT_JOB_STATE_FAILED");
      ImportJob again;
      ASSERT_TRUE(after.Import(name, std::string(kImportDir) + "/torture.raw", &again).ok());
      EXPECT_EQ(ImportJobState_Name(after.WaitUntilFinished(again.id()).state()),
                "IMPORT_JOB_STATE_COMPLETED");
    }
    EXPECT_TRUE(DatasetExists(t.Pool() + "/.mvirt/templates/" + name + "@template"));
  }
  std::printf("crash torture (import steps): %d kills, %d violations\n", kills, t.violations());
}

// What a name may hold after calls whose outcome is known (OK) or not (cut
// off by the kill, or refused): each id it may carry, and "" for absent.
class NameStates {
 public:
  // A create of `name` with `id`.
  void Created(const std::string& name, const std::string& id, bool ok) {
    std::set<std::string>& may = States(name);
    if (ok) {
      may = {id};
    } else if (may.count("")) {
      may.insert(id);  // it may have happened (only where the name was free)
    }
  }
  // A delete of `name`.
  void Deleted(const std::string& name, bool ok) {
    std::set<std::string>& may = States(name);
    if (ok) may.clear();
    may.insert("");
  }
  // Empty if `id` ("" = absent) is a state `name` may be in; else why not.
  std::string Check(const std::string& name, const std::string& id) const {
    auto it = may_.find(name);
    if (it == may_.end()) return "";  // never created: anything a clone made
    if (it->second.count(id)) return "";
    std::string may;
    for (const std::string& m : it->second) may += (m.empty() ? "(absent)" : m) + " ";
    return name + " is " + (id.empty() ? "(absent)" : id) + ", but the calls allow only " + may;
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& [name, may] : may_) out.push_back(name);
    return out;
  }

 private:
  // What `name` may be; a name no call touched yet is absent.
  std::set<std::string>& States(const std::string& name) {
    auto [it, fresh] = may_.try_emplace(name);
    if (fresh) it->second.insert("");
    return it->second;
  }

  std::map<std::string, std::set<std::string>> may_;
};

// Random calls on a small set of names, SIGKILL at a random moment. After
// every restart each name holds one of the states its calls allow: an OK'd
// create is there with its id until a delete (OK or cut off), an OK'd delete
// left nothing until a create (OK or cut off), a cut-off call either
// happened completely or not at all.
TEST(CrashTorture, RandomKills) {
  const char* env = std::getenv("MVIRT_TORTURE_KILLS");
  const int rounds = env != nullptr ? std::atoi(env) : 12;
  Torture t;
  std::mt19937 rng(20261202);
  NameStates names;
  int kills = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::string name = "r" + std::to_string(rng() % 4);
    const std::string id = UuidFor(1000 + round);
    grpc::Status result;
    int op = static_cast<int>(rng() % 4);
    std::thread call([&] {
      if (op == 0) {
        result = CreateVol(t.stub(), name, id);
      } else if (op == 1) {
        DeleteVolumeRequest req;
        req.set_name(name);
        result = CallWithin(kCallDeadline, &ZfsService::Stub::DeleteVolume, t.stub(), req);
      } else if (op == 2) {
        CreateSnapshotRequest req;
        req.set_volume_name(name);
        req.set_snapshot_name("s" + std::to_string(round));
        result = CallWithin(kCallDeadline, &ZfsService::Stub::CreateSnapshot, t.stub(), req);
      } else {
        CloneVolumeRequest req;
        req.set_source_volume("r" + std::to_string(rng() % 4));
        req.set_snapshot_name("s" + std::to_string(round - 1));
        req.set_new_volume_name(name + "c");
        req.set_id(id);
        result = CallWithin(kCallDeadline, &ZfsService::Stub::CloneVolume, t.stub(), req);
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 1500));
    t.daemon().StopWith(SIGKILL);
    ++kills;
    call.join();
    if (op == 0) names.Created(name, id, result.ok());
    if (op == 1) names.Deleted(name, result.ok());
    t.Restart();
    for (const std::string& n : names.Names()) {
      const std::string dataset = t.Pool() + "/" + n;
      const std::string now = DatasetExists(dataset) ? ZfsGet(dataset, "mvirt:id") : "";
      if (std::string why = names.Check(n, now); !why.empty()) {
        t.AddViolation("round " + std::to_string(round) + ": " + why);
      }
    }
  }
  std::printf("crash torture (random kills): %d kills, %d violations\n", kills, t.violations());
}

}  // namespace
}  // namespace mvirt::zfs::testing
