// The gRPC test fixture shared by the real-ZFS API tests.
#ifndef MVIRT_ZFS_TESTS_ZFS_API_FIXTURE_H_
#define MVIRT_ZFS_TESTS_ZFS_API_FIXTURE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zfs_test_env.h"

namespace mvirt::zfs::testing {

inline constexpr uint64_t kMiB = 1024 * 1024;
inline const std::string kPool = TestPool::kPool;

// A gRPC client of the shared test daemon with one helper per RPC. Cleans up
// the volumes a test created, through ZFS itself.
class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { stub_ = TestPool::Stub(); }

  // Deletes what a test created, through ZFS itself so a daemon bug cannot
  // leak state into the next test.
  void TearDown() override {
    for (const std::string& name : cleanup_) DestroyDataset(kPool + "/" + name);
  }

  grpc::Status Create(const std::string& name, uint64_t size, Volume* out,
                      const std::string& id = "", std::optional<uint32_t> volblocksize = {}) {
    cleanup_.push_back(name);
    CreateVolumeRequest req;
    req.set_name(name);
    req.set_size_bytes(size);
    req.set_id(id);
    if (volblocksize) req.set_volblocksize(*volblocksize);
    grpc::ClientContext ctx;
    return stub_->CreateVolume(&ctx, req, out);
  }
  grpc::Status Get(const std::string& name, Volume* out) {
    GetVolumeRequest req;
    req.set_name(name);
    grpc::ClientContext ctx;
    return stub_->GetVolume(&ctx, req, out);
  }
  grpc::Status Resize(const std::string& name, uint64_t size, Volume* out) {
    ResizeVolumeRequest req;
    req.set_name(name);
    req.set_new_size_bytes(size);
    grpc::ClientContext ctx;
    return stub_->ResizeVolume(&ctx, req, out);
  }
  grpc::Status Delete(const std::string& name) {
    DeleteVolumeRequest req;
    req.set_name(name);
    grpc::ClientContext ctx;
    DeleteVolumeResponse resp;
    grpc::Status s = stub_->DeleteVolume(&ctx, req, &resp);
    if (s.ok()) {
      EXPECT_TRUE(resp.deleted());
    }
    return s;
  }
  std::vector<Volume> List() {
    grpc::ClientContext ctx;
    ListVolumesResponse resp;
    EXPECT_TRUE(stub_->ListVolumes(&ctx, ListVolumesRequest(), &resp).ok());
    return {resp.volumes().begin(), resp.volumes().end()};
  }
  PoolStats Stats() {
    grpc::ClientContext ctx;
    PoolStats stats;
    EXPECT_TRUE(stub_->GetPoolStats(&ctx, GetPoolStatsRequest(), &stats).ok());
    return stats;
  }

  grpc::Status Snapshot(const std::string& volume, const std::string& snapshot,
                        ::mvirt::zfs::Snapshot* out = nullptr) {
    CreateSnapshotRequest req;
    req.set_volume_name(volume);
    req.set_snapshot_name(snapshot);
    grpc::ClientContext ctx;
    ::mvirt::zfs::Snapshot ignored;
    return stub_->CreateSnapshot(&ctx, req, out ? out : &ignored);
  }
  grpc::Status DeleteSnapshot(const std::string& volume, const std::string& snapshot) {
    DeleteSnapshotRequest req;
    req.set_volume_name(volume);
    req.set_snapshot_name(snapshot);
    grpc::ClientContext ctx;
    DeleteSnapshotResponse resp;
    return stub_->DeleteSnapshot(&ctx, req, &resp);
  }
  grpc::Status Rollback(const std::string& volume, const std::string& snapshot, Volume* out) {
    RollbackSnapshotRequest req;
    req.set_volume_name(volume);
    req.set_snapshot_name(snapshot);
    grpc::ClientContext ctx;
    return stub_->RollbackSnapshot(&ctx, req, out);
  }
  grpc::Status Clone(const std::string& source, const std::string& snapshot,
                     const std::string& name, Volume* out, std::optional<uint64_t> size = {},
                     const std::string& id = "") {
    cleanup_.insert(cleanup_.begin(), name);  // clones go before their origins
    CloneVolumeRequest req;
    req.set_source_volume(source);
    req.set_snapshot_name(snapshot);
    req.set_new_volume_name(name);
    if (size) req.set_size_bytes(*size);
    req.set_id(id);
    grpc::ClientContext ctx;
    return stub_->CloneVolume(&ctx, req, out);
  }

  std::unique_ptr<ZfsService::Stub> stub_;
  std::vector<std::string> cleanup_;
};

inline const char kId1[] = "11111111-2222-4333-8444-555555555555";
inline const char kId2[] = "99999999-2222-4333-8444-555555555555";

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_ZFS_API_FIXTURE_H_
