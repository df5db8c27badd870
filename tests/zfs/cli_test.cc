// End-to-end tests of mvirt-zfsctl against the real daemon and pool.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "import_fixture.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

CommandResult Ctl(const std::string& args) {
  return Shell(CliPath() + " --endpoint " + TestPool::daemon().endpoint() + " " + args);
}

// Runs `mvirt-zfsctl watch <what>` until its output holds `until` (or 60 s
// pass: a slow emulated guest, a sanitizer build), then stops it; returns
// what it printed. SIGTERM, not SIGINT: a background job of a
// non-interactive shell starts with SIGINT ignored.
CommandResult Watch(const std::string& what, const std::string& until) {
  return Shell(
      "f=$(mktemp); " + CliPath() + " --endpoint " + TestPool::daemon().endpoint() + " watch " +
      what + " >\"$f\" 2>&1 & p=$!; for i in $(seq 600); do grep -q -- '" + until +
      "' \"$f\" && break; sleep 0.1; done; kill -TERM $p; wait $p; cat \"$f\"; rm -f \"$f\"");
}

TEST(Cli, VolumeLifecycleEndToEnd) {
  const std::string ds = std::string(TestPool::kPool) + "/cli-vol";
  CommandResult r =
      Ctl("volume create cli-vol 64M --volblocksize 8K --id 12345678-1234-4234-8234-123456789abc");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("/dev/zvol/" + ds)) << r.output;
  EXPECT_EQ(ZfsGet(ds, "volsize"), std::to_string(64 << 20));
  EXPECT_EQ(ZfsGet(ds, "volblocksize"), "8192");

  r = Ctl("volume list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cli-vol")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("64 MiB")) << r.output;
  EXPECT_THAT(r.output, ::testing::ContainsRegex("just now|[0-9]+[smhd] ago")) << r.output;
  r = Ctl("-o wide volume list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("CREATED_AT")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("/dev/zvol/" + ds)) << r.output;

  r = Ctl("--json volume get cli-vol");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"id\":\"12345678-1234-4234-8234-123456789abc\"")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"volsize_bytes\":\"67108864\"")) << r.output;

  r = Ctl("volume resize cli-vol 1G");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ZfsGet(ds, "volsize"), std::to_string(1 << 30));

  r = Ctl("volume resize cli-vol 64M");
  EXPECT_EQ(r.exit_code, 4) << "refused: " << r.output;
  EXPECT_THAT(r.output, HasSubstr("FAILED_PRECONDITION")) << r.output;

  r = Ctl("pool stats");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(TestPool::kPool)) << r.output;

  r = Ctl("volume delete cli-vol");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(DatasetExists(ds));

  r = Ctl("volume get cli-vol");
  EXPECT_EQ(r.exit_code, 3) << "not found: " << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("NOT_FOUND")) << r.output;
}

TEST(Cli, SnapshotCloneTemplateAndWatchEndToEnd) {
  const std::string pool = TestPool::kPool;
  ASSERT_EQ(Ctl("volume create cli-a 32M").exit_code, 0);
  ASSERT_EQ(Ctl("volume create cli-b 32M").exit_code, 0);
  CommandResult r = Ctl("snapshot create cli-a,cli-b pair");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ZfsGet(pool + "/cli-a@pair", "createtxg"), ZfsGet(pool + "/cli-b@pair", "createtxg"));
  ASSERT_EQ(Ctl("snapshot create cli-a later").exit_code, 0);
  r = Ctl("snapshot list cli-a");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LT(r.output.find("pair"), r.output.find("later")) << r.output;

  r = Ctl("snapshot rollback cli-a pair");
  EXPECT_EQ(r.exit_code, 2) << "rollback needs --yes: " << r.output;
  EXPECT_TRUE(DatasetExists(pool + "/cli-a@later"));
  r = Ctl("snapshot rollback cli-a pair --yes");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(DatasetExists(pool + "/cli-a@later"));

  r = Ctl("volume clone cli-a pair cli-c --size 64M");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ZfsGet(pool + "/cli-c", "origin"), pool + "/cli-a@pair");
  EXPECT_EQ(ZfsGet(pool + "/cli-c", "volsize"), std::to_string(64 << 20));

  r = Ctl("template promote cli-b pair cli-tmpl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Ctl("template list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cli-tmpl")) << r.output;
  r = Ctl("template clone cli-tmpl cli-d");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ZfsGet(pool + "/cli-d", "origin"), pool + "/.mvirt/templates/cli-tmpl@template");

  // watch prints the current state first.
  r = Watch("volumes", "cli-d");
  EXPECT_THAT(r.output, HasSubstr("cli-d")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cli-a")) << r.output;
  r = Watch("templates", "clones=1");
  EXPECT_THAT(r.output, HasSubstr("template")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cli-tmpl updated")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("clones=1")) << r.output;

  r = Ctl("snapshot delete cli-a pair");
  EXPECT_EQ(r.exit_code, 4) << "a clone depends on it: " << r.output;
  EXPECT_THAT(r.output, HasSubstr("cli-c")) << r.output;
  for (const char* cmd :
       {"volume delete cli-c", "volume delete cli-d", "template delete cli-tmpl",
        "snapshot delete cli-a pair", "volume delete cli-a", "volume delete cli-b"}) {
    r = Ctl(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.output;
  }
  EXPECT_FALSE(DatasetExists(pool + "/.mvirt/templates/cli-tmpl"));
}

TEST(Cli, ImportWithProgressDetachJobsAndCancel) {
  const std::string pool = TestPool::kPool;
  const std::string raw = std::string(kImportDir) + "/cli.raw";
  MakeRawImage(raw, 8 * kMiB, {{0, 2 * kMiB}});
  MakeQcow2From(raw, std::string(kImportDir) + "/cli.qcow2");

  // Follows the import to its end, showing progress, then the template.
  CommandResult r =
      Ctl("template import cli-img " + std::string(kImportDir) + "/cli.qcow2 --size 16M");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("import job ")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("pending")) << "a progress line: " << r.output;
  EXPECT_THAT(r.output, HasSubstr("snapshot_path: " + pool + "/.mvirt/templates/cli-img@template"))
      << r.output;
  EXPECT_THAT(r.output, HasSubstr("import_source: " + std::string(kImportDir) + "/cli.qcow2"))
      << r.output;
  EXPECT_EQ(ZfsGet(pool + "/.mvirt/templates/cli-img", "volsize"), std::to_string(16 << 20));

  // --detach prints the job id and returns; job list/get/cancel find it.
  MakeRawImage(std::string(HttpsServer::kRoot) + "/cli-slow.raw", 16 * kMiB, {{0, 16 * kMiB}});
  r = Ctl("template import cli-slow " + HttpsServer::Get().Url("cli-slow.raw?rate=200000") +
          " --detach");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string id = r.output.substr(0, r.output.find('\n'));
  EXPECT_EQ(id.size(), 36u) << r.output;
  r = Ctl("job list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(id)) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cli-slow")) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("cli-img"))) << "finished jobs only with --all";
  r = Ctl("job list --all");
  EXPECT_THAT(r.output, HasSubstr("cli-img")) << r.output;
  r = Ctl("job get " + id);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("template:")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cli-slow")) << r.output;
  r = Ctl("--json job get " + id);
  EXPECT_THAT(r.output, HasSubstr("\"id\":\"" + id + "\"")) << r.output;
  r = Ctl("job cancel " + id);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cancelled import job " + id)) << r.output;
  r = Ctl("job get " + id);
  EXPECT_THAT(r.output, HasSubstr("cancelled")) << r.output;
  r = Ctl("job cancel " + id);
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_THAT(r.output, HasSubstr("FAILED_PRECONDITION")) << r.output;

  // A refused import exits 4, a failed one 1, each with one error line.
  r = Ctl("template import cli-bad /etc/passwd");
  EXPECT_EQ(r.exit_code, 4) << "refused: " << r.output;
  EXPECT_THAT(r.output, HasSubstr("PERMISSION_DENIED")) << r.output;
  r = Ctl("template import cli-404 " + HttpsServer::Get().Url("missing.raw"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("failed: download")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("HTTP 404")) << r.output;

  EXPECT_EQ(Ctl("template delete cli-img").exit_code, 0);
  Shell(std::string("rm -rf ") + kImportDir + "/* " + HttpsServer::kRoot + "/*");
}

TEST(Cli, BadInputIsOneClearLineAndNonZeroExit) {
  CommandResult r = Ctl("volume create x 12Q");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("invalid size '12Q'")) << r.output;
  r = Ctl("volume create bad/name 1G");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("INVALID_ARGUMENT")) << r.output;
  r = Ctl("version");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(MVIRT_ZFS_VERSION)) << r.output;
}

TEST(Cli, ExitCodesSayWhatKindOfFailureItWas) {
  ASSERT_EQ(Ctl("volume create cli-exit 16M").exit_code, 0);
  CommandResult r = Ctl("volume get cli-exit-missing");
  EXPECT_EQ(r.exit_code, 3) << "NOT_FOUND: " << r.output;
  r = Ctl("volume create cli-exit 32M");
  EXPECT_EQ(r.exit_code, 4) << "ALREADY_EXISTS (another size): " << r.output;
  r = Ctl("volume resize cli-exit 8M");
  EXPECT_EQ(r.exit_code, 4) << "FAILED_PRECONDITION (shrink): " << r.output;
  r = Ctl("volume get bad/name");
  EXPECT_EQ(r.exit_code, 1) << "INVALID_ARGUMENT: " << r.output;
  r = Ctl("volume list --bogus");
  EXPECT_EQ(r.exit_code, 2) << "usage: " << r.output;
  // Nothing listens there: UNAVAILABLE, 5; but health says 0 or 1 only.
  r = Shell(CliPath() + " --endpoint unix:/run/mvirt-zfs-nobody-here.sock volume list");
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_THAT(r.output, HasSubstr("UNAVAILABLE")) << r.output;
  r = Shell(CliPath() + " --endpoint unix:/run/mvirt-zfs-nobody-here.sock health");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(Ctl("volume delete cli-exit").exit_code, 0);
}

}  // namespace
}  // namespace mvirt::zfs::testing
