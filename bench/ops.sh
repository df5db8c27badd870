#!/bin/bash
# ops.sh: the operations benchmark (bench/ops_bench.cc): each operation via
# the daemon, the `zfs` CLI and libzfs_core side by side, at growing pool
# sizes, on a fresh file pool with the seed's settings. Needs a built tree
# (build/) and real ZFS: on a machine without the zfs module run it in the
# guest:
#
#   scripts/zfs-vm-run --mem 3072 --timeout 0 -- bench/ops.sh [SCALES] [ROUNDS] [SUBSCRIBERS] [--footprint-only | --throughput-only | --operations NAME,...]
#
# SCALES is a comma-separated list of volume counts (default 10,100; the
# long variant is 10,100,1000), each volume with 10 snapshots.
# --footprint-only measures at each scale only the daemon's memory (after
# four ListVolumes at once, a GetPoolStats and the fan-out; then its RSS and
# peak 35 s later, once it has given freed memory back): the way to
# reach 1000 volumes in the emulated guest. --operations A,B times only the
# operations whose names start with A or B (no throughput or fan-out runs).
# --throughput-only runs at each scale only the concurrent-clients runs
# (each with the share of the machine's CPU time that was busy meanwhile).
# The tables go to stdout, every figure as JSON to
# build/bench-results/ops.json.
set -euo pipefail
cd "$(dirname "$0")/.."
scales=${1:-10,100}
rounds=${2:-15}
subscribers=${3:-100}  # WatchVolumes streams of the fan-out run
pool=mvbench
work=/var/tmp/mvirt-zfs-bench-ops
build=$PWD/build
mkdir -p "$build/bench-results"

cleanup() {
  [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  zpool destroy -f "$pool" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
zpool destroy -f "$pool" 2>/dev/null || true
rm -rf "$work" && mkdir -p "$work"
truncate -s 16G "$work/pool.img"
zpool create -f -o ashift=12 -o autotrim=on -o cachefile=none -O compression=lz4 \
  -O xattr=sa -O atime=off -m none "$pool" "$work/pool.img"

"$build/src/daemon/mvirt-zfs" --pool "$pool" --listen "unix:$work/sock" --config /dev/null \
  --state-dir "$work/state" --import-dir "$work/images" --log-level warning &
daemon_pid=$!
for _ in $(seq 300); do
  "$build/src/cli/mvirt-zfsctl" --endpoint "unix:$work/sock" version > /dev/null 2>&1 && break
  sleep 0.1
done
echo "zfs $(zfs version | head -1), $(nproc) CPUs, scales $scales, $rounds rounds"
"$build/bench/bench_ops" --pool "$pool" --endpoint "unix:$work/sock" --scales "$scales" \
  --rounds "$rounds" --subscribers "$subscribers" --daemon-pid "$daemon_pid" --json "$build/bench-results/ops.json" "${@:4}"
# The daemon gives freed memory back every 30 s (src/daemon/memory_release.h):
# its resident set once that has happened after the last call, and its peak.
if [[ " ${*:4} " == *" --footprint-only "* ]]; then
  sleep 35
  echo "daemon 35 s after the last call: $(grep -E '^Vm(RSS|HWM)' "/proc/$daemon_pid/status" | tr -s ' \n' ' ')"
fi
