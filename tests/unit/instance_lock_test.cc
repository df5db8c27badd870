#include "common/instance_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace mvirt::zfs {
namespace {

TEST(InstanceLock, ASecondHolderIsRefusedNamingTheFirstsPid) {
  char dir[] = "/tmp/mvirt-zfs-lock-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/sub/pool-x.lock";
  absl::StatusOr<InstanceLock> first = InstanceLock::Acquire(path, "pool 'x'");
  ASSERT_TRUE(first.ok()) << first.status();
  // flock locks belong to the open file: a second open conflicts even in
  // the same process.
  absl::StatusOr<InstanceLock> second = InstanceLock::Acquire(path, "pool 'x'");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("pid " + std::to_string(::getpid())),
            absl::string_view::npos)
      << second.status();
  EXPECT_NE(second.status().message().find("pool 'x'"), absl::string_view::npos);
  { InstanceLock release = std::move(*first); }
  EXPECT_TRUE(InstanceLock::Acquire(path, "pool 'x'").ok()) << "free once released";
  std::filesystem::remove_all(dir);
}

TEST(InstanceLock, PathsAreSafeFileNames) {
  EXPECT_EQ(InstanceLock::PathFor("listen-[::1]:50053"),
            "/run/lock/mvirt-zfs/listen-___1__50053.lock");
  EXPECT_EQ(InstanceLock::PathFor("listen-unix:/run/a/b.sock"),
            "/run/lock/mvirt-zfs/listen-unix__run_a_b.sock.lock");
  EXPECT_EQ(InstanceLock::PathFor("pool-vm.pool_1-a"), "/run/lock/mvirt-zfs/pool-vm.pool_1-a.lock");
}

}  // namespace
}  // namespace mvirt::zfs
