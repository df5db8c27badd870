// Real-ZFS tests of "one daemon per pool": a second mvirt-zfs on the same pool
// (with the same or another state directory), or on the first one's unix
// socket or TCP address, exits non-zero at once naming the first one's pid,
// and changes nothing: the first one's import runs to completion, its socket
// file stays. A stale socket file (nothing listening) is replaced.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <chrono>

#include "import_fixture.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Starts a daemon that must refuse to start: exits non-zero within 30 s,
// saying who holds what. Returns its log.
std::string ExpectRefusedStart(const std::string& pool, const std::string& listen,
                               std::vector<std::string> args, pid_t first_pid,
                               const std::string& what) {
  DaemonProcess second(pool, listen, std::move(args));
  auto start = std::chrono::steady_clock::now();
  int status = second.WaitForExit();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30)) << what;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << what << ": " << status;
  const std::string log = second.Log();
  EXPECT_THAT(log, HasSubstr("another mvirt-zfs (pid " + std::to_string(first_pid) + ")"))
      << what << ": " << log;
  EXPECT_THAT(log, Not(HasSubstr("serving pool"))) << what << ": it must not serve";
  EXPECT_THAT(log, Not(HasSubstr("cleaned up"))) << what << ": no recovery may run";
  return log;
}

TEST(Instance, ASecondDaemonOnThePoolOrTheAddressExitsAndTheFirstsImportCompletes) {
  ScratchPool pool("mvfirst");
  ScratchPool other("mvsecond");
  const std::string socket = "/run/mvirt-zfs-first.sock";
  DaemonProcess first(pool.name(), socket);
  ASSERT_TRUE(first.WaitUntilServing()) << first.Log();

  // A running import: a raw image served slowly.
  MakeRawImage(std::string(HttpsServer::kRoot) + "/instance.raw", 8 * kMiB, {{0, 4 * kMiB}});
  ImportClient client(ZfsService::NewStub(
      grpc::CreateChannel(first.endpoint(), grpc::InsecureChannelCredentials())));
  ImportJob job;
  ASSERT_TRUE(
      client.Import("instance-tmpl", HttpsServer::Get().Url("instance.raw?rate=400000"), &job)
          .ok());
  client.WaitForState(job.id(), IMPORT_JOB_STATE_WRITING);
  const std::string staging = ChildrenOf(pool.name(), "imports");
  ASSERT_NE(staging, "") << "the import writes into its staging zvol";
  const std::string tmp_before = MustRun("ls -A " + StateDir(pool.name()) + "/tmp");

  ExpectRefusedStart(pool.name(), "/run/mvirt-zfs-second.sock", {}, first.pid(),
                     "same pool, same state dir");
  ExpectRefusedStart(pool.name(), "/run/mvirt-zfs-third.sock",
                     {"--state-dir", "/var/tmp/mvirt-zfs-test-other-state"}, first.pid(),
                     "same pool, another state dir");
  ExpectRefusedStart(other.name(), socket, {}, first.pid(), "another pool, the same socket");

  struct stat st;
  EXPECT_EQ(::stat(socket.c_str(), &st), 0) << "the first one's socket file is left alone";
  EXPECT_EQ(ChildrenOf(pool.name(), "imports"), staging) << "its staging zvol is left alone";
  EXPECT_EQ(MustRun("ls -A " + StateDir(pool.name()) + "/tmp"), tmp_before);
  ImportJob done = client.WaitUntilFinished(job.id());
  EXPECT_EQ(ImportJobState_Name(done.state()), "IMPORT_JOB_STATE_COMPLETED") << done.error();
  EXPECT_TRUE(DatasetExists(pool.name() + "/.mvirt/templates/instance-tmpl@template"));
  // And the first daemon still answers on its socket.
  ASSERT_TRUE(first.WaitUntilServing());
  int status = first.StopWith(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << first.Log();
}

TEST(Instance, ASecondDaemonOnTheSameTcpAddressExits) {
  ScratchPool pool("mvtcp1");
  ScratchPool other("mvtcp2");
  DaemonProcess first(pool.name(), "127.0.0.1:50161");
  ASSERT_TRUE(first.WaitUntilServing()) << first.Log();
  ExpectRefusedStart(other.name(), "127.0.0.1:50161", {}, first.pid(), "the same TCP address");
  ASSERT_TRUE(first.WaitUntilServing()) << "the first one still serves";
}

TEST(Instance, AStaleSocketFileIsReplacedAnOtherFileIsNot) {
  ScratchPool pool("mvstale");
  const std::string socket = "/run/mvirt-zfs-stale.sock";
  // A socket nobody listens on any more (its daemon was killed).
  ::unlink(socket.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  {
    DaemonProcess daemon(pool.name(), socket);
    EXPECT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
    EXPECT_THAT(daemon.Log(), HasSubstr("removed the stale socket " + socket));
    struct stat st;
    ASSERT_EQ(::stat(socket.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u) << "the socket's mode (--socket-mode)";
    daemon.StopWith(SIGTERM);
  }
  // A regular file where the socket should be is never removed.
  MustRun("echo keep > " + socket);
  DaemonProcess refused(pool.name(), socket);
  int status = refused.WaitForExit();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  EXPECT_THAT(refused.Log(), HasSubstr("is not a socket")) << refused.Log();
  EXPECT_EQ(MustRun("cat " + socket), "keep\n");
  ::unlink(socket.c_str());
}

// What a crash leaves between "born" and "renamed into place" is swept at
// the next start; volumes of the pool are not touched.
TEST(Instance, LeftoversOfCreatesCutOffByACrashAreSweptAtStart) {
  ScratchPool pool("mvsweep");
  {
    DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-sweep.sock");
    ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
    daemon.StopWith(SIGKILL);
  }
  const std::string creating = pool.name() + "/.mvirt/creating";
  MustRun("zfs create -s -V 16M " + creating + "/vm-1-" + "11111111-2222-4333-8444-555555555555");
  MustRun("zfs create -s -V 16M -o mvirt:id=99999999-2222-4333-8444-555555555555 " + creating +
          "/vm-2-99999999-2222-4333-8444-555555555555");
  MustRun("zfs create -s -V 16M " + pool.name() + "/unmanaged");
  DaemonProcess daemon(pool.name(), "/run/mvirt-zfs-sweep.sock");
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  EXPECT_EQ(ChildrenOf(pool.name(), "creating"), "") << daemon.Log();
  EXPECT_TRUE(DatasetExists(pool.name() + "/unmanaged")) << "what is not the daemon's stays";
}

}  // namespace
}  // namespace mvirt::zfs::testing
