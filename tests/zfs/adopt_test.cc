// AdoptVolume and ReleaseVolume on a real pool: zvols made by hand with
// `zfs create -V` (the seed's interim workflow) taken under management with
// their data and snapshots, a nested one renamed into place, the refusals
// (an unmanaged origin, an open device) changing nothing, and a release
// that leaves the zvol, its data and its device as they were.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "api_fixture.h"
#include "grpc_status_matchers.h"
#include "invariants.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kDeadline = std::chrono::seconds(60);

grpc::Status Adopt(ZfsService::Stub& stub, const std::string& dataset, const std::string& new_name,
                   const std::string& id, Volume* out, bool allow_open = false,
                   bool allow_unmanaged_origin = false) {
  AdoptVolumeRequest req;
  req.set_dataset(dataset);
  req.set_new_name(new_name);
  req.set_id(id);
  req.set_allow_open(allow_open);
  req.set_allow_unmanaged_origin(allow_unmanaged_origin);
  return CallWithin(kDeadline, &ZfsService::Stub::AdoptVolume, stub, req, out);
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> VolumeNames(ZfsService::Stub& stub) {
  ListVolumesResponse list;
  EXPECT_THAT(
      CallWithin(kDeadline, &ZfsService::Stub::ListVolumes, stub, ListVolumesRequest(), &list),
      GrpcIsOk());
  std::vector<std::string> names;
  for (const Volume& v : list.volumes()) names.push_back(v.name());
  return names;
}

TEST(Adopt, ZvolsMadeByHandAreAdoptedWithTheirDataAndReleasedBack) {
  ScratchPool pool("mvadopt");
  const std::string p = pool.name();
  DaemonProcess daemon(p, "/run/mvirt-zfs-adopt.sock");
  ASSERT_TRUE(daemon.WaitUntilServing()) << daemon.Log();
  auto stub = ZfsService::NewStub(
      grpc::CreateChannel(daemon.endpoint(), grpc::InsecureChannelCredentials()));
  // The interim CLI workflow of the seed: zvols and a clone made by hand.
  MustRun("zfs create -s -V 64M -o volblocksize=16K " + p + "/byhand");
  ASSERT_TRUE(WaitForPath("/dev/zvol/" + p + "/byhand"));
  const std::string data = Pattern('h', 256 * 1024);
  WriteDevice("/dev/zvol/" + p + "/byhand", 0, data);
  MustRun("zfs snapshot " + p + "/byhand@before");
  MustRun("zfs clone " + p + "/byhand@before " + p + "/byhand-clone");
  MustRun("zfs create " + p + "/legacy");
  MustRun("zfs create -V 32M " + p + "/legacy/disk0");  // thick, as `zfs create -V` makes it
  ASSERT_TRUE(WaitForPath("/dev/zvol/" + p + "/legacy/disk0"));
  const std::string data0 = Pattern('0', 128 * 1024);
  WriteDevice("/dev/zvol/" + p + "/legacy/disk0", 4096, data0);

  // Refused, changing nothing: a clone of an unmanaged snapshot, an open
  // device, a nested zvol without a volume name, a name taken.
  std::string before = PoolState(p);
  Volume v;
  EXPECT_THAT(Adopt(*stub, p + "/byhand-clone", "", "", &v),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                           HasSubstr("clone of '" + p + "/byhand@before'")));
  {
    const int vm = ::open(("/dev/zvol/" + p + "/byhand").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(vm, 0);
    EXPECT_THAT(Adopt(*stub, p + "/byhand", "", "", &v),
                GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                             AllOf(HasSubstr("pid " + std::to_string(::getpid())),
                                   HasSubstr("allow_open"))));
    ::close(vm);
  }
  EXPECT_THAT(Adopt(*stub, p + "/legacy/disk0", "", "", &v),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("new_name")));
  EXPECT_THAT(Adopt(*stub, p + "/legacy", "x", "", &v),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("not a zvol")));
  EXPECT_THAT(Adopt(*stub, p + "/legacy/disk0", "byhand", "", &v),
              GrpcStatusIs(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_EQ(PoolState(p), before);
  EXPECT_THAT(VolumeNames(*stub), ::testing::IsEmpty());

  // Adopted in place, with its id: the same zvol, data and snapshot.
  const std::string guid = ZfsGet(p + "/byhand", "guid");
  ASSERT_THAT(Adopt(*stub, p + "/byhand", "", kId1, &v), GrpcIsOk());
  EXPECT_EQ(v.id(), kId1);
  EXPECT_EQ(v.name(), "byhand");
  EXPECT_EQ(ZfsGet(p + "/byhand", "mvirt:id"), kId1);
  EXPECT_EQ(ZfsGet(p + "/byhand", "mvirt:kind"), "volume");
  EXPECT_EQ(ZfsGet(p + "/byhand", "guid"), guid);
  ASSERT_EQ(v.snapshots_size(), 1);
  EXPECT_EQ(v.snapshots(0).name(), "before");
  EXPECT_EQ(ReadDevice(v.path(), 0, data.size()), data);
  // Its clone now has a managed origin.
  Volume clone;
  ASSERT_THAT(Adopt(*stub, p + "/byhand-clone", "", "", &clone), GrpcIsOk());

  // A nested one, renamed into the volume namespace.
  Volume root;
  ASSERT_THAT(Adopt(*stub, p + "/legacy/disk0", "vm1-root", kId2, &root), GrpcIsOk());
  EXPECT_EQ(root.path(), "/dev/zvol/" + p + "/vm1-root");
  EXPECT_FALSE(PathExists("/dev/zvol/" + p + "/legacy/disk0")) << "the old link is gone";
  EXPECT_EQ(DeviceDatasetName(root.path()), p + "/vm1-root");
  EXPECT_EQ(ReadDevice(root.path(), 4096, data0.size()), data0);
  EXPECT_TRUE(root.thick()) << "a zvol made without -s keeps its reservation";
  // A retry after it completed is OK; another id is not.
  ASSERT_THAT(Adopt(*stub, p + "/legacy/disk0", "vm1-root", kId2, &root), GrpcIsOk());
  EXPECT_THAT(VolumeNames(*stub),
              ::testing::UnorderedElementsAre("byhand", "byhand-clone", "vm1-root"));
  for (const std::string& violation : PoolViolations(p, *stub)) ADD_FAILURE() << violation;

  // Released: unmanaged again, the zvol, data, snapshot and device stay.
  ReleaseVolumeRequest release;
  release.set_name("byhand");
  release.set_id(kId2);
  ReleaseVolumeResponse released;
  before = PoolState(p);
  EXPECT_THAT(CallWithin(kDeadline, &ZfsService::Stub::ReleaseVolume, *stub, release, &released),
              GrpcStatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr(kId1)));
  EXPECT_EQ(PoolState(p), before);
  CommandResult cli =
      Shell(CliPath() + " --endpoint " + daemon.endpoint() + " volume release byhand --id " + kId1);
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_THAT(cli.output, HasSubstr("zvol " + p + "/byhand (device /dev/zvol/" + p + "/byhand)"));
  EXPECT_EQ(ZfsGet(p + "/byhand", "mvirt:id"), "-") << "unset";
  EXPECT_EQ(ZfsGet(p + "/byhand", "mvirt:kind"), "-");
  EXPECT_EQ(ZfsGet(p + "/byhand@before", "mvirt:id"), "-");
  EXPECT_EQ(ZfsGet(p + "/byhand", "guid"), guid);
  EXPECT_EQ(ReadDevice("/dev/zvol/" + p + "/byhand", 0, data.size()), data);
  EXPECT_THAT(VolumeNames(*stub), Not(::testing::Contains("byhand")));
  EXPECT_THAT(CallWithin(kDeadline, &ZfsService::Stub::ReleaseVolume, *stub, release, &released),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("not managed")));
  // And adopted again through the CLI.
  cli = Shell(CliPath() + " --endpoint " + daemon.endpoint() + " volume adopt " + p +
              "/byhand --id " + kId1);
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_EQ(ZfsGet(p + "/byhand", "mvirt:id"), kId1);
}

}  // namespace
}  // namespace mvirt::zfs::testing
