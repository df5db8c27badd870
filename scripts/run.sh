#!/bin/bash
# run.sh: the one command that sets up this machine, builds mvirt-zfs and
# runs the daemon serving a real ZFS pool.
#
#   - On a host whose kernel has ZFS (/dev/zfs after `modprobe zfs`): runs
#     build/src/daemon/mvirt-zfs here, serving the configured pool (default
#     vmpool; flags after `--` go to the daemon, e.g. -- --pool tank).
#   - Otherwise (e.g. a machine that cannot load zfs.ko): boots the project's
#     QEMU guest with a persistent file-backed pool `vmpool` created with the
#     seed's settings, and forwards the daemon's port to 127.0.0.1:50053.
#
# Stop it with Ctrl-C, or from another terminal: scripts/run.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = stop ]; then
  if [ -e /dev/zfs ] && pgrep -x mvirt-zfs >/dev/null; then
    pkill -TERM -x mvirt-zfs
    echo "run.sh: sent SIGTERM to mvirt-zfs"
    exit 0
  fi
  exec scripts/run-vm-daemon.sh stop
fi
[ "${1:-}" = -- ] && shift

# Root is needed (packages, the guest's kernel, pools): a user other than
# root runs this again through sudo, if there is one.
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "run.sh: run it as root (sudo is not installed)" >&2; exit 1; }
  exec sudo --preserve-env=MVIRT_BUILD_JOBS,MVIRT_TEST_ON_HOST,MVIRT_VM_DISK,MVIRT_VM_DISK_GIB,MVIRT_PORT,MVIRT_VM_MEM "$0" "$@"
fi
scripts/setup-host.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"${MVIRT_BUILD_JOBS:-2}"

daemon=build/src/daemon/mvirt-zfs
if [ -e /dev/zfs ] || modprobe zfs 2>/dev/null; then
  echo "run.sh: this host has ZFS: running the daemon here (Ctrl-C or 'scripts/run.sh stop' stops it)"
  exec "$daemon" "$@"
fi
echo "run.sh: this host cannot load ZFS: running the daemon in the QEMU guest"
exec scripts/run-vm-daemon.sh "$daemon" "$@"
