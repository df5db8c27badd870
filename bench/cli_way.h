// The CLI way of the operations benchmark: what a daemon that shells out
// does, one `zfs`/`zpool` process per step, its output read in full.
#ifndef MVIRT_ZFS_BENCH_CLI_WAY_H_
#define MVIRT_ZFS_BENCH_CLI_WAY_H_

#include <string>
#include <vector>

namespace mvirt::bench {

// Runs argv (argv[0] looked up in PATH) and returns its stdout; dies if it
// cannot start or exits non-zero.
std::string RunTool(const std::vector<std::string>& argv);

}  // namespace mvirt::bench

#endif  // MVIRT_ZFS_BENCH_CLI_WAY_H_
