// The floor of the operations benchmark: each operation as the raw
// libzfs_core/libzfs call in this process (what the daemon itself must call
// at the least), and the /dev/zvol link waits the daemon also does. No
// libzfs header leaks out of here (they break protobuf's), so the gRPC side
// of the benchmark can include this. Every failure ends the program: a
// benchmark that goes on after a failed step measures nothing.
#ifndef MVIRT_ZFS_BENCH_ZFS_FLOOR_H_
#define MVIRT_ZFS_BENCH_ZFS_FLOOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mvirt::bench {

// Prints "bench: <what>" to stderr and exits 1.
[[noreturn]] void Die(const std::string& what);

// Until /dev/zvol/DATASET resolves to a device whose BLKZNAME names DATASET
// (what the daemon waits for), or dies after 120 s.
void WaitForDevice(const std::string& dataset);
// Until /dev/zvol/DATASET is gone, or dies after 120 s.
void WaitForDeviceGone(const std::string& dataset);

// The properties a volume of the daemon carries: mvirt:id, mvirt:kind.
std::map<std::string, std::string> VolumeMarks(const std::string& id);

class ZfsFloor {
 public:
  ZfsFloor();  // opens libzfs and libzfs_core
  ~ZfsFloor();
  ZfsFloor(const ZfsFloor&) = delete;
  ZfsFloor& operator=(const ZfsFloor&) = delete;

  // lzc_create of a sparse zvol, 16K blocks, volmode=dev, with `user_props`.
  void CreateVolume(const std::string& dataset, uint64_t volsize,
                    const std::map<std::string, std::string>& user_props);
  // lzc_snapshot: all of `snapshots` ("pool/v@s") in one call.
  void Snapshot(const std::vector<std::string>& snapshots);
  // lzc_clone with volmode=dev and `user_props`.
  void Clone(const std::string& dataset, const std::string& origin,
             const std::map<std::string, std::string>& user_props);
  // zfs_prop_set of volsize (libzfs: libzfs_core has no property call).
  void SetVolsize(const std::string& dataset, uint64_t volsize);
  // lzc_rollback_to `snapshot`, the dataset's newest.
  void Rollback(const std::string& dataset, const std::string& snapshot);
  // lzc_destroy of a dataset without snapshots (retried while udev's probe
  // still holds a new device open).
  void Destroy(const std::string& dataset);
  // lzc_destroy_snaps.
  void DestroySnapshots(const std::vector<std::string>& snapshots);

  // Reads as the daemon answers them, through libzfs: a volume's
  // properties and user properties and each of its snapshots' (returns the
  // snapshot count); every zvol directly under `parent` the same way
  // (returns the volume count); the snapshots of one dataset (the count);
  // the pool's root figures and the sum of its volumes' volsize.
  int ReadVolume(const std::string& dataset);
  int ReadVolumes(const std::string& parent);
  int ReadSnapshots(const std::string& dataset);
  uint64_t ReadPoolStats(const std::string& pool);

 private:
  struct Handle;
  Handle* handle_;
};

}  // namespace mvirt::bench

#endif  // MVIRT_ZFS_BENCH_ZFS_FLOOR_H_
