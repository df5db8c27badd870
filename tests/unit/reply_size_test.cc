// A ListVolumes reply for a large host fits what mvirt-zfsctl accepts (the
// daemon itself does not limit the size of its replies).
#include <gtest/gtest.h>

#include "cli/client.h"
#include "mvirt_zfs.pb.h"

namespace mvirt::zfs {
namespace {

TEST(ReplySize, TenThousandVolumesWithTenSnapshotsEachFit) {
  ListVolumesResponse reply;
  for (int v = 0; v < 10000; ++v) {
    Volume* volume = reply.add_volumes();
    volume->set_id("11111111-2222-4333-8444-555555555555");
    volume->set_name(std::string(64, 'v') + std::to_string(v));
    volume->set_path("/dev/zvol/vmpool/" + volume->name());
    volume->set_volsize_bytes(uint64_t{1} << 40);
    volume->set_used_bytes(uint64_t{1} << 39);
    volume->set_volblocksize(16384);
    volume->set_compression_ratio(1.57);
    volume->set_created_at("2026-12-02T04:00:00Z");
    for (int s = 0; s < 10; ++s) {
      Snapshot* snap = volume->add_snapshots();
      snap->set_id("11111111-2222-4333-8444-555555555555");
      snap->set_name(std::string(32, 's') + std::to_string(s));
      snap->set_full_name("vmpool/" + volume->name() + "@" + snap->name());
      snap->set_used_bytes(uint64_t{1} << 30);
      snap->set_created_at("2026-12-02T04:00:00Z");
    }
  }
  const size_t bytes = reply.ByteSizeLong();
  EXPECT_GT(bytes, size_t{4} << 20) << "more than gRPC's default limit";
  EXPECT_LT(bytes, static_cast<size_t>(cli::kMaxReplyBytes) / 4) << bytes;
}

}  // namespace
}  // namespace mvirt::zfs
