// Real-ZFS tests of the volume RPCs through gRPC, checking what an operator
// would check: `zfs get` values, /dev/zvol links and their BLKZNAME, data
// read back through devices, status codes and messages.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <functional>
#include <optional>
#include <regex>
#include <thread>

#include "api_fixture.h"
#include "grpc_status_matchers.h"
#include "zfs_test_env.h"

namespace mvirt::zfs::testing {
namespace {

using ::testing::HasSubstr;

class VolumeApiTest : public ApiTest {};

TEST_F(VolumeApiTest, GetVersionAnswers) {
  grpc::ClientContext ctx;
  VersionInfo v;
  ASSERT_TRUE(stub_->GetVersion(&ctx, GetVersionRequest(), &v).ok());
  EXPECT_EQ(v.version(), MVIRT_ZFS_VERSION);
}

TEST_F(VolumeApiTest, CreateMakesAThinZvolWithTheSeedSettings) {
  Volume v;
  grpc::Status s = Create("create-basic", 64 * kMiB + 1, &v, kId1);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string ds = kPool + "/create-basic";
  // Rounded UP to the 16K default volblocksize.
  EXPECT_EQ(ZfsGet(ds, "volsize"), std::to_string(64 * kMiB + 16384));
  EXPECT_EQ(ZfsGet(ds, "volblocksize"), "16384");
  EXPECT_EQ(ZfsGet(ds, "refreservation"), "0");  // thin
  EXPECT_EQ(ZfsGet(ds, "compression"), "lz4");
  EXPECT_EQ(ZfsGet(ds, "mvirt:id"), kId1);
  EXPECT_EQ(ZfsGet(ds, "type"), "volume");
  // The device is ready when the call returns, and is this dataset's.
  EXPECT_EQ(v.path(), "/dev/zvol/" + ds);
  EXPECT_EQ(DeviceDatasetName(v.path()), ds);
  // The reply tells the truth.
  EXPECT_EQ(v.id(), kId1);
  EXPECT_EQ(v.name(), "create-basic");
  EXPECT_EQ(v.volsize_bytes(), 64 * kMiB + 16384);
  EXPECT_EQ(v.volblocksize(), 16384u);
  EXPECT_EQ(std::to_string(v.used_bytes()), ZfsGet(ds, "used"));
  EXPECT_TRUE(std::regex_match(v.created_at(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << v.created_at();
  EXPECT_EQ(v.snapshots_size(), 0);
}

// An MBR whose one partition (Linux, type 0x83) spans sectors 2048..4095.
std::string OnePartitionMbr() {
  std::string mbr(512, '\0');
  mbr[446 + 4] = static_cast<char>(0x83);
  const uint32_t start = 2048, sectors = 2048;
  for (int i = 0; i < 4; ++i) {
    mbr[446 + 8 + i] = static_cast<char>((start >> (8 * i)) & 0xff);
    mbr[446 + 12 + i] = static_cast<char>((sectors >> (8 * i)) & 0xff);
  }
  mbr[510] = static_cast<char>(0x55);
  mbr[511] = static_cast<char>(0xaa);
  return mbr;
}

// Gives `dataset`'s zvol a partition table and asks the kernel to read it;
// true if the kernel then shows a first partition (zdNp1 in sysfs, and
// udev's -part1 link).
bool HostSeesAPartition(const std::string& dataset) {
  const std::string link = "/dev/zvol/" + dataset;
  WriteDevice(link, 0, OnePartitionMbr());
  Shell("blockdev --rereadpt " + link + "; udevadm settle");
  char real[PATH_MAX];
  if (::realpath(link.c_str(), real) == nullptr) return false;
  const std::string disk = std::string(real).substr(5);  // "zdN" of "/dev/zdN"
  return ::access(("/sys/class/block/" + disk + "p1").c_str(), F_OK) == 0 ||
         ::access((link + "-part1").c_str(), F_OK) == 0;
}

TEST_F(VolumeApiTest, VolumesAndClonesShowTheHostTheWholeDiskNeverTheGuestsPartitions) {
  Volume volume;
  ASSERT_THAT(Create("whole-disk", 64 * kMiB, &volume, kId1), GrpcIsOk());
  ASSERT_THAT(Snapshot("whole-disk", "s"), GrpcIsOk());
  Volume clone;
  ASSERT_THAT(Clone("whole-disk", "s", "whole-disk-clone", &clone), GrpcIsOk());
  for (const std::string name : {"whole-disk", "whole-disk-clone"}) {
    const std::string ds = kPool + "/" + name;
    EXPECT_EQ(MustRun("zfs get -H -o value,source volmode " + ds), "dev\tlocal\n") << ds;
    EXPECT_FALSE(HostSeesAPartition(ds)) << ds;
    EXPECT_EQ(DeviceDatasetName("/dev/zvol/" + ds), ds);  // the disk itself still works
  }
  // The control: a zvol made by hand (volmode inherited: "default", which is
  // zvol_volmode=full) does show the same partition to the host.
  const std::string by_hand = kPool + "/whole-disk-by-hand";
  MustRun("zfs create -s -V 64M " + by_hand);
  ASSERT_TRUE(WaitForPath("/dev/zvol/" + by_hand));
  EXPECT_TRUE(HostSeesAPartition(by_hand));
  DestroyDataset(by_hand);
}

TEST_F(VolumeApiTest, CreateHonoursVolblocksizeAndGeneratesAnId) {
  Volume v;
  ASSERT_TRUE(Create("create-4k", 10000, &v, "", 4096).ok());
  const std::string ds = kPool + "/create-4k";
  EXPECT_EQ(ZfsGet(ds, "volblocksize"), "4096");
  EXPECT_EQ(ZfsGet(ds, "volsize"), "12288");
  EXPECT_EQ(ZfsGet(ds, "mvirt:id"), v.id());
  EXPECT_TRUE(std::regex_match(
      v.id(), std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << v.id();
}

TEST_F(VolumeApiTest, CreateIsIdempotentForTheSameIdAndSize) {
  Volume first, again, other;
  ASSERT_TRUE(Create("idem", 32 * kMiB, &first, kId1).ok());
  grpc::Status s = Create("idem", 32 * kMiB, &again, kId1);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(again.id(), kId1);
  EXPECT_EQ(again.created_at(), first.created_at());

  s = Create("idem", 32 * kMiB, &other, kId2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr(kId1)) << s.error_message();
  s = Create("idem", 48 * kMiB, &other, kId1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  s = Create("idem", 32 * kMiB, &other, "");  // no id: no idempotency key
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ZfsGet(kPool + "/idem", "mvirt:id"), kId1);
  EXPECT_EQ(ZfsGet(kPool + "/idem", "volsize"), std::to_string(32 * kMiB));
}

TEST_F(VolumeApiTest, ConcurrentCreatesOfOneNameHaveExactlyOneWinner) {
  constexpr int kRacers = 6;
  std::vector<std::string> ids;
  for (int i = 0; i < kRacers; ++i) {
    ids.push_back("aaaaaaaa-bbbb-4ccc-8ddd-00000000000" + std::to_string(i));
  }
  std::vector<grpc::Status> results(kRacers);
  std::vector<Volume> volumes(kRacers);
  cleanup_.push_back("race");
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      auto stub = TestPool::Stub();
      CreateVolumeRequest req;
      req.set_name("race");
      req.set_size_bytes(16 * kMiB);
      req.set_id(ids[i]);
      grpc::ClientContext ctx;
      results[i] = stub->CreateVolume(&ctx, req, &volumes[i]);
    });
  }
  for (auto& t : threads) t.join();
  int winners = 0;
  std::string winner_id;
  for (int i = 0; i < kRacers; ++i) {
    if (results[i].ok()) {
      ++winners;
      winner_id = ids[i];
    } else {
      EXPECT_EQ(results[i].error_code(), grpc::StatusCode::ALREADY_EXISTS)
          << results[i].error_message();
    }
  }
  EXPECT_EQ(winners, 1);
  EXPECT_EQ(ZfsGet(kPool + "/race", "mvirt:id"), winner_id);
}

TEST_F(VolumeApiTest, GetAndListReportVolumesWithSnapshotsInCreatetxgOrder) {
  Volume v;
  ASSERT_TRUE(Create("listed", 16 * kMiB, &v, kId1).ok());
  const std::string ds = kPool + "/listed";
  // Snapshots made within the same second: only createtxg orders them.
  MustRun("zfs snapshot " + ds + "@zz-first && zfs snapshot " + ds + "@aa-second && zfs snapshot " +
          ds + "@mm-third");
  Volume got;
  ASSERT_TRUE(Get("listed", &got).ok());
  ASSERT_EQ(got.snapshots_size(), 3);
  EXPECT_EQ(got.snapshots(0).name(), "zz-first");
  EXPECT_EQ(got.snapshots(1).name(), "aa-second");
  EXPECT_EQ(got.snapshots(2).name(), "mm-third");
  EXPECT_EQ(got.snapshots(0).full_name(), ds + "@zz-first");
  EXPECT_EQ(got.snapshots(0).id(), ZfsGet(ds + "@zz-first", "guid"));
  EXPECT_FALSE(got.snapshots(2).created_at().empty());
  EXPECT_EQ(got.id(), kId1);
  EXPECT_DOUBLE_EQ(got.compression_ratio(), std::stod(ZfsGet(ds, "compressratio")));

  bool found = false;
  for (const Volume& l : List()) {
    if (l.name() == "listed") {
      found = true;
      EXPECT_EQ(l.snapshots_size(), 3);
      EXPECT_EQ(l.id(), kId1);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(VolumeApiTest, UnknownAndUnmanagedVolumesAreNotFoundAndLeftAlone) {
  Volume v;
  grpc::Status s = Get("no-such-volume", &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("no-such-volume"));

  // A zvol created by hand is not ours: invisible, untouchable.
  cleanup_.push_back("by-hand");
  MustRun("zfs create -s -V 16M " + kPool + "/by-hand");
  EXPECT_EQ(Get("by-hand", &v).error_code(), grpc::StatusCode::NOT_FOUND);
  s = Delete("by-hand");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("not managed by mvirt-zfs")) << s.error_message();
  EXPECT_EQ(Resize("by-hand", 32 * kMiB, &v).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ZfsGet(kPool + "/by-hand", "volsize"), std::to_string(16 * kMiB));
  for (const Volume& l : List()) EXPECT_NE(l.name(), "by-hand");
  s = Create("by-hand", 16 * kMiB, &v, kId1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr("not managed"));
  EXPECT_EQ(ZfsGet(kPool + "/by-hand", "mvirt:id"), "-");
}

TEST_F(VolumeApiTest, ResizeGrowsOnlineKeepsDataAndRefusesShrink) {
  Volume v;
  ASSERT_TRUE(Create("grow", 16 * kMiB, &v, kId1).ok());
  const std::string ds = kPool + "/grow";
  // Write a pattern through the device, hold it open across the resize.
  int fd = ::open(v.path().c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::string pattern(65536, 'x');
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<char>(i * 7 + 3);
  ASSERT_EQ(::pwrite(fd, pattern.data(), pattern.size(), 4096),
            static_cast<ssize_t>(pattern.size()));
  ASSERT_EQ(::fsync(fd), 0);

  Volume grown;
  grpc::Status s = Resize("grow", 40 * kMiB + 5, &grown);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(grown.volsize_bytes(), 40 * kMiB + 16384);
  EXPECT_EQ(ZfsGet(ds, "volsize"), std::to_string(40 * kMiB + 16384));
  uint64_t device_size = 0;
  for (int i = 0; i < 100 && device_size != 40 * kMiB + 16384; ++i) {
    int probe = ::open(v.path().c_str(), O_RDONLY | O_CLOEXEC);
    ::ioctl(probe, BLKGETSIZE64, &device_size);
    ::close(probe);
    if (device_size != 40 * kMiB + 16384)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(device_size, 40 * kMiB + 16384);
  std::string back(pattern.size(), '\0');
  ASSERT_EQ(::pread(fd, back.data(), back.size(), 4096), static_cast<ssize_t>(back.size()));
  EXPECT_TRUE(back == pattern);
  ::close(fd);

  // The same size is a no-op; a shrink is refused and changes nothing.
  ASSERT_TRUE(Resize("grow", 40 * kMiB + 1, &grown).ok());
  s = Resize("grow", 16 * kMiB, &grown);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("only grow")) << s.error_message();
  EXPECT_EQ(ZfsGet(ds, "volsize"), std::to_string(40 * kMiB + 16384));
}

TEST_F(VolumeApiTest, DeleteRemovesVolumeSnapshotsAndDeviceLink) {
  Volume v;
  ASSERT_TRUE(Create("doomed", 16 * kMiB, &v, kId1).ok());
  const std::string ds = kPool + "/doomed";
  MustRun("zfs snapshot " + ds + "@a && zfs snapshot " + ds + "@b");
  grpc::Status s = Delete("doomed");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(DatasetExists(ds));
  EXPECT_FALSE(DatasetExists(ds + "@a"));
  EXPECT_NE(::access(v.path().c_str(), F_OK), 0) << "device link must be gone when delete returns";
  EXPECT_EQ(Get("doomed", &v).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Delete("doomed").error_code(), grpc::StatusCode::NOT_FOUND);
  // The name can be reused at once.
  ASSERT_TRUE(Create("doomed", 16 * kMiB, &v, kId2).ok());
  EXPECT_EQ(DeviceDatasetName(v.path()), ds);
}

TEST_F(VolumeApiTest, DeleteIsRefusedWhileTheDeviceIsOpenNamingTheProcess) {
  Volume v;
  ASSERT_TRUE(Create("busy", 16 * kMiB, &v, kId1).ok());
  const std::string ds = kPool + "/busy";
  MustRun("zfs snapshot " + ds + "@keep");
  int fd = ::open(v.path().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  grpc::Status s = Delete("busy");
  ::close(fd);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("pid " + std::to_string(::getpid())))
      << s.error_message();
  // Nothing changed: volume and snapshot are still there.
  EXPECT_TRUE(DatasetExists(ds));
  EXPECT_TRUE(DatasetExists(ds + "@keep"));
  EXPECT_TRUE(Delete("busy").ok());
}

TEST_F(VolumeApiTest, DeleteIsRefusedWhileAClonDependsOnItNamingTheClone) {
  Volume v;
  ASSERT_TRUE(Create("origin", 16 * kMiB, &v, kId1).ok());
  const std::string ds = kPool + "/origin";
  cleanup_.insert(cleanup_.begin(), "dependent");  // destroy the clone first
  MustRun("zfs snapshot " + ds + "@gold && zfs clone " + ds + "@gold " + kPool + "/dependent");
  grpc::Status s = Delete("origin");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr(kPool + "/dependent")) << s.error_message();
  EXPECT_TRUE(DatasetExists(ds + "@gold"));
  EXPECT_EQ(ZfsGet(kPool + "/dependent", "origin"), ds + "@gold");
}

TEST_F(VolumeApiTest, PoolStatsComeFromTheRootDatasetAndManagedVolumes) {
  Volume v;
  ASSERT_TRUE(Create("stats-a", 64 * kMiB, &v, kId1).ok());
  ASSERT_TRUE(Create("stats-b", 32 * kMiB, &v, kId2).ok());
  cleanup_.push_back("stats-unmanaged");
  MustRun("zfs create -s -V 1G " + kPool + "/stats-unmanaged");
  MustRun("sync; zpool sync " + kPool);
  PoolStats stats = Stats();
  EXPECT_EQ(stats.name(), kPool);
  uint64_t used = std::stoull(ZfsGet(kPool, "used"));
  uint64_t avail = std::stoull(ZfsGet(kPool, "available"));
  EXPECT_EQ(stats.used_bytes(), used);
  EXPECT_EQ(stats.available_bytes(), avail);
  EXPECT_EQ(stats.total_bytes(), used + avail);
  uint64_t managed = 0;
  for (const Volume& l : List()) managed += l.volsize_bytes();
  EXPECT_EQ(stats.provisioned_bytes(), managed);
  EXPECT_GE(stats.provisioned_bytes(), 96 * kMiB);
  EXPECT_EQ(stats.volume_count(), List().size()) << "the unmanaged zvol is not counted";
  EXPECT_DOUBLE_EQ(stats.compression_ratio(), std::stod(ZfsGet(kPool, "compressratio")));
}

TEST_F(VolumeApiTest, IdsAndTotalsSeeWhatWasChangedByHand) {
  // ZFS is the only record: a change made with `zfs` behind the daemon's
  // back counts at the next call.
  Volume v;
  ASSERT_TRUE(Create("hand-a", 64 * kMiB, &v, kId1).ok());
  const uint64_t before = Stats().provisioned_bytes();
  // `zfs set volsize` writes no internal event; the command's own record
  // counts, written in the next transaction group (zpool sync: now).
  MustRun("zfs set volsize=128M " + kPool + "/hand-a && zpool sync " + kPool);
  EXPECT_EQ(Stats().provisioned_bytes(), before + 64 * kMiB);

  cleanup_.push_back("hand-b");
  MustRun("zfs create -s -V 16M -o mvirt:id=" + std::string(kId2) + " " + kPool + "/hand-b");
  const PoolStats stats = Stats();
  EXPECT_EQ(stats.provisioned_bytes(), before + 80 * kMiB);
  grpc::Status s = Create("hand-c", 16 * kMiB, &v, kId2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr("already belongs to volume 'hand-b'"));
  EXPECT_FALSE(DatasetExists(kPool + "/hand-c"));
  MustRun("zfs rename " + kPool + "/hand-b " + kPool + "/hand-d");
  s = Create("hand-c", 16 * kMiB, &v, kId2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr("already belongs to volume 'hand-d'"));
  EXPECT_FALSE(DatasetExists(kPool + "/hand-c")) << "the refused create made nothing";
  MustRun("zfs rename " + kPool + "/hand-d " + kPool + "/hand-b");

  MustRun("zfs inherit mvirt:id " + kPool + "/hand-b");  // no longer ours
  EXPECT_EQ(Stats().provisioned_bytes(), before + 64 * kMiB);
  EXPECT_EQ(Stats().volume_count(), stats.volume_count() - 1);
  EXPECT_TRUE(Create("hand-c", 16 * kMiB, &v, kId2).ok());

  DestroyDataset(kPool + "/hand-c");  // by hand: the id is free again
  cleanup_.push_back("hand-e");
  EXPECT_TRUE(Create("hand-e", 16 * kMiB, &v, kId2).ok());

  // The daemon's own resize (no history record either) counts at once.
  const uint64_t now = Stats().provisioned_bytes();
  ASSERT_TRUE(Resize("hand-a", 192 * kMiB, &v).ok());
  EXPECT_EQ(Stats().provisioned_bytes(), now + 64 * kMiB);
}

TEST_F(VolumeApiTest, EveryBadInputIsInvalidArgumentAndChangesNothing) {
  const std::string before = PoolState(kPool);
  struct Case {
    std::string name;
    uint64_t size;
    std::string id;
    std::optional<uint32_t> volblocksize;
    std::string says;
  };
  const Case cases[] = {
      {"", kMiB, "", {}, "volume name is empty"},
      {"a/b", kMiB, "", {}, "'/'"},
      {"a@b", kMiB, "", {}, "'@'"},
      {"a b", kMiB, "", {}, "' '"},
      {"..", kMiB, "", {}, "must start with a letter or digit"},
      {"a..b", kMiB, "", {}, "'..'"},
      {".mvirt", kMiB, "", {}, "must start with a letter or digit"},
      {"-x", kMiB, "", {}, "must start with a letter or digit"},
      {std::string(101, 'n'), kMiB, "", {}, "too long"},
      {"ok", 0, "", {}, "greater than 0"},
      {"ok", UINT64_MAX, "", {}, "overflows"},
      {"ok", 1ULL << 50, "", {}, "exceeds the capacity of pool"},
      {"ok", kMiB, "not-a-uuid", {}, "must be a UUID"},
      {"ok", kMiB, "", 3000, "power of two"},
      {"ok", kMiB, "", 512, "power of two from 4096"},
      {"ok", kMiB, "", 262144, "power of two"},
  };
  for (const Case& c : cases) {
    Volume v;
    grpc::Status s = Create(c.name, c.size, &v, c.id, c.volblocksize);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name << " " << c.says;
    EXPECT_THAT(s.error_message(), HasSubstr(c.says))
        << "message: " << s.error_message() << " expected to contain: " << c.says;
  }
  Volume v;
  EXPECT_EQ(Get("a/b", &v).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Delete("../x").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Resize("", kMiB, &v).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(PoolState(kPool), before);

  // Resize inputs are validated too, and change nothing.
  ASSERT_TRUE(Create("resize-bad", 16 * kMiB, &v, kId1).ok());
  const std::string with_volume = PoolState(kPool);
  grpc::Status s = Resize("resize-bad", 0, &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = Resize("resize-bad", UINT64_MAX, &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("overflows")) << s.error_message();
  s = Resize("resize-bad", 1ULL << 50, &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(PoolState(kPool), with_volume);
}

TEST_F(VolumeApiTest, EveryRpcTakingANameRefusesBadNamesAndChangesNothing) {
  const std::string before = PoolState(kPool);
  const std::string bad_names[] = {"",
                                   "a/b",
                                   "a@b",
                                   "a b",
                                   "..",
                                   "a..b",
                                   ".mvirt",
                                   "-x",
                                   "a%b",
                                   "a\x01b",
                                   "a\nb",
                                   "a\x1b[31m",
                                   "a\x7f",
                                   std::string("a\0b", 3),
                                   "caf\xc3\xa9",
                                   std::string(101, 'n'),
                                   std::string(255, 'n'),
                                   std::string(256, 'n')};
  // Each call puts `bad` in one name position, valid names elsewhere.
  using Call = std::function<grpc::Status(const std::string&)>;
  std::vector<std::pair<std::string, Call>> calls = {
      {"GetVolume",
       [&](const std::string& bad) {
         GetVolumeRequest r;
         r.set_name(bad);
         Volume out;
         grpc::ClientContext c;
         return stub_->GetVolume(&c, r, &out);
       }},
      {"DeleteVolume",
       [&](const std::string& bad) {
         DeleteVolumeRequest r;
         r.set_name(bad);
         DeleteVolumeResponse out;
         grpc::ClientContext c;
         return stub_->DeleteVolume(&c, r, &out);
       }},
      {"ResizeVolume",
       [&](const std::string& bad) {
         ResizeVolumeRequest r;
         r.set_name(bad);
         r.set_new_size_bytes(kMiB);
         Volume out;
         grpc::ClientContext c;
         return stub_->ResizeVolume(&c, r, &out);
       }},
      {"CreateSnapshot volume",
       [&](const std::string& bad) {
         CreateSnapshotRequest r;
         r.set_volume_name(bad);
         r.set_snapshot_name("s");
         ::mvirt::zfs::Snapshot out;
         grpc::ClientContext c;
         return stub_->CreateSnapshot(&c, r, &out);
       }},
      {"CreateSnapshot snapshot",
       [&](const std::string& bad) {
         CreateSnapshotRequest r;
         r.set_volume_name("ok");
         r.set_snapshot_name(bad);
         ::mvirt::zfs::Snapshot out;
         grpc::ClientContext c;
         return stub_->CreateSnapshot(&c, r, &out);
       }},
      {"CreateSnapshots",
       [&](const std::string& bad) {
         CreateSnapshotsRequest r;
         r.add_volume_names("ok");
         r.add_volume_names(bad);
         r.set_snapshot_name("s");
         CreateSnapshotsResponse out;
         grpc::ClientContext c;
         return stub_->CreateSnapshots(&c, r, &out);
       }},
      {"ListSnapshots",
       [&](const std::string& bad) {
         ListSnapshotsRequest r;
         r.set_volume_name(bad);
         ListSnapshotsResponse out;
         grpc::ClientContext c;
         return stub_->ListSnapshots(&c, r, &out);
       }},
      {"DeleteSnapshot",
       [&](const std::string& bad) {
         DeleteSnapshotRequest r;
         r.set_volume_name("ok");
         r.set_snapshot_name(bad);
         DeleteSnapshotResponse out;
         grpc::ClientContext c;
         return stub_->DeleteSnapshot(&c, r, &out);
       }},
      {"RollbackSnapshot",
       [&](const std::string& bad) {
         RollbackSnapshotRequest r;
         r.set_volume_name(bad);
         r.set_snapshot_name("s");
         Volume out;
         grpc::ClientContext c;
         return stub_->RollbackSnapshot(&c, r, &out);
       }},
      {"CloneVolume source",
       [&](const std::string& bad) {
         CloneVolumeRequest r;
         r.set_source_volume(bad);
         r.set_snapshot_name("s");
         r.set_new_volume_name("ok2");
         Volume out;
         grpc::ClientContext c;
         return stub_->CloneVolume(&c, r, &out);
       }},
      {"CloneVolume new",
       [&](const std::string& bad) {
         CloneVolumeRequest r;
         r.set_source_volume("ok");
         r.set_snapshot_name("s");
         r.set_new_volume_name(bad);
         Volume out;
         grpc::ClientContext c;
         return stub_->CloneVolume(&c, r, &out);
       }},
      {"CloneFromTemplate template",
       [&](const std::string& bad) {
         CloneFromTemplateRequest r;
         r.set_template_name(bad);
         r.set_new_volume_name("ok2");
         Volume out;
         grpc::ClientContext c;
         return stub_->CloneFromTemplate(&c, r, &out);
       }},
      {"CloneFromTemplate new",
       [&](const std::string& bad) {
         CloneFromTemplateRequest r;
         r.set_template_name("t");
         r.set_new_volume_name(bad);
         Volume out;
         grpc::ClientContext c;
         return stub_->CloneFromTemplate(&c, r, &out);
       }},
      {"PromoteSnapshotToTemplate",
       [&](const std::string& bad) {
         PromoteSnapshotRequest r;
         r.set_volume_name("ok");
         r.set_snapshot_name("s");
         r.set_template_name(bad);
         Template out;
         grpc::ClientContext c;
         return stub_->PromoteSnapshotToTemplate(&c, r, &out);
       }},
      {"DeleteTemplate",
       [&](const std::string& bad) {
         DeleteTemplateRequest r;
         r.set_name(bad);
         DeleteTemplateResponse out;
         grpc::ClientContext c;
         return stub_->DeleteTemplate(&c, r, &out);
       }},
      {"ImportTemplate",
       [&](const std::string& bad) {
         ImportTemplateRequest r;
         r.set_name(bad);
         r.set_source("https://127.0.0.1/x.raw");
         ImportJob out;
         grpc::ClientContext c;
         return stub_->ImportTemplate(&c, r, &out);
       }},
  };
  for (const auto& [rpc, run] : calls) {
    for (const std::string& bad : bad_names) {
      grpc::Status s = run(bad);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << rpc << " with '" << bad << "': " << s.error_message();
      EXPECT_THAT(s.error_message(), HasSubstr("name")) << rpc << ": " << s.error_message();
    }
  }
  EXPECT_EQ(PoolState(kPool), before);
}

// Thick provisioning: the whole size is reserved (refreservation), grows
// with the volume, and a pool that cannot reserve it gets nothing made (here
// the space guard's default 10% reserve refuses first; ZFS's own refusal
// without the guard: Space.WithoutTheGuardZfsRefusesAThickVolumeItCannotReserve).
TEST_F(VolumeApiTest, AThickVolumeReservesItsSizeAndIsRefusedWhenThePoolCannot) {
  auto create = [&](const std::string& name, uint64_t size, Volume* out) {
    cleanup_.push_back(name);
    CreateVolumeRequest req;
    req.set_name(name);
    req.set_size_bytes(size);
    req.set_thick(true);
    grpc::ClientContext ctx;
    return stub_->CreateVolume(&ctx, req, out);
  };
  Volume thick;
  ASSERT_THAT(create("thick-a", 32 * kMiB, &thick), GrpcIsOk());
  EXPECT_TRUE(thick.thick());
  EXPECT_GE(std::stoull(ZfsGet(kPool + "/thick-a", "refreservation")), 32 * kMiB);
  EXPECT_EQ(thick.refreservation_bytes(),
            std::stoull(ZfsGet(kPool + "/thick-a", "refreservation")));
  Volume grown;
  ASSERT_THAT(Resize("thick-a", 64 * kMiB, &grown), GrpcIsOk());
  EXPECT_GE(std::stoull(ZfsGet(kPool + "/thick-a", "refreservation")), 64 * kMiB);
  EXPECT_TRUE(grown.thick());

  // Two thirds of what is free, twice: the second cannot be reserved.
  const uint64_t share = std::stoull(ZfsGet(kPool, "available")) / 3 * 2 / kMiB * kMiB;
  Volume big;
  ASSERT_THAT(create("thick-big", share, &big), GrpcIsOk());
  const std::string before = PoolState(kPool);
  Volume refused;
  EXPECT_THAT(
      create("thick-more", share, &refused),
      GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, HasSubstr("refused by the space guard")));
  EXPECT_EQ(PoolState(kPool), before) << "nothing made, nothing left under .mvirt/creating";
  // Thin, the same size is fine: space is taken as it is written.
  CreateVolumeRequest thin;
  thin.set_name("thick-more");
  thin.set_size_bytes(share);
  Volume sparse;
  grpc::ClientContext ctx;
  EXPECT_THAT(stub_->CreateVolume(&ctx, thin, &sparse), GrpcIsOk());
  EXPECT_FALSE(sparse.thick());
  EXPECT_EQ(ZfsGet(kPool + "/thick-more", "refreservation"), "0");
}

}  // namespace
}  // namespace mvirt::zfs::testing
