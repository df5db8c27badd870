#ifndef MVIRT_ZFS_DAEMON_DAEMON_H_
#define MVIRT_ZFS_DAEMON_DAEMON_H_

namespace mvirt::zfs {

// The whole daemon: parse options, open ZFS, check the pool, serve gRPC until
// SIGTERM/SIGINT, then finish the calls in flight and return 0. Returns
// non-zero (after logging why) if it cannot start.
int RunDaemon(int argc, char** argv);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_DAEMON_DAEMON_H_
