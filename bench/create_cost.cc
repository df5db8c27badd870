// What making a volume under .mvirt/creating and renaming it into place
// costs over creating it in place: both ways side by side, interleaved, on
// one pool, each timed until its /dev/zvol link resolves to a device whose
// BLKZNAME names it (what CreateVolume waits for). Prints the median of
// each and their ratio. Plain libzfs_core, no daemon: the floor of both.
//
// Usage: bench_create_cost POOL [ROUNDS]   (root; creates and destroys
// POOL/bench-* and POOL/.mvirt-bench/*)
#include <libzfs_core.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "zfs_floor.h"

namespace {

using mvirt::bench::WaitForDevice;
using Clock = std::chrono::steady_clock;

void Check(int err, const char* what, const std::string& name) {
  if (err == 0) return;
  std::fprintf(stderr, "%s %s: error %d\n", what, name.c_str(), err);
  std::exit(1);
}

void Create(const std::string& name) {
  nvlist_t* props = fnvlist_alloc();
  fnvlist_add_uint64(props, "volsize", 16 << 20);
  fnvlist_add_uint64(props, "volblocksize", 16384);
  fnvlist_add_string(props, "mvirt:id", "00000000-0000-4000-8000-000000000000");
  fnvlist_add_string(props, "mvirt:kind", "volume");
  Check(lzc_create(name.c_str(), LZC_DATSET_TYPE_ZVOL, props, nullptr, 0), "create", name);
  fnvlist_free(props);
}

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s POOL [ROUNDS]\n", argv[0]);
    return 2;
  }
  const std::string pool = argv[1];
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 15;
  Check(libzfs_core_init(), "libzfs_core_init", pool);
  const std::string staging_dir = pool + "/.mvirt-bench";
  nvlist_t* fs_props = fnvlist_alloc();
  fnvlist_add_uint64(fs_props, "canmount", 0);
  fnvlist_add_string(fs_props, "mountpoint", "none");
  Check(lzc_create(staging_dir.c_str(), LZC_DATSET_TYPE_ZFS, fs_props, nullptr, 0), "create",
        staging_dir);
  fnvlist_free(fs_props);
  std::vector<double> in_place, renamed;
  std::vector<std::string> made;
  for (int i = 0; i < rounds; ++i) {
    const std::string a = pool + "/bench-direct-" + std::to_string(i);
    auto t0 = Clock::now();
    Create(a);
    WaitForDevice(a);
    in_place.push_back(Millis(Clock::now() - t0));

    const std::string staging = staging_dir + "/b-" + std::to_string(i);
    const std::string b = pool + "/bench-renamed-" + std::to_string(i);
    t0 = Clock::now();
    Create(staging);
    Check(lzc_rename(staging.c_str(), b.c_str()), "rename", staging);
    WaitForDevice(b);
    renamed.push_back(Millis(Clock::now() - t0));
    made.push_back(a);
    made.push_back(b);
  }
  std::printf("create + device ready, median of %d (ms):\n", rounds);
  std::printf("  in place:                     %8.1f\n", Median(in_place));
  std::printf("  under .mvirt/creating + rename: %6.1f\n", Median(renamed));
  std::printf("  ratio:                        %8.2f\n", Median(renamed) / Median(in_place));
  for (const std::string& name : made) {
    for (int attempt = 0; attempt < 50 && lzc_destroy(name.c_str()) == EBUSY; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  lzc_destroy(staging_dir.c_str());
  libzfs_core_fini();
  return 0;
}
