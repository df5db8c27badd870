#!/bin/bash
# import-throughput.sh: how fast mvirt-zfs imports a raw image, compared in
# one run with the plain tools an operator would use instead. Prints each
# time and its ratio to `dd`. Needs a built tree (build/) and real ZFS: on a
# machine without the zfs module run it in the guest:
#
#   scripts/zfs-vm-run --mem 2048 -- bench/import-throughput.sh [MiB]
#
# The image (default 256 MiB) is half data (random, so lz4 cannot cheat),
# half holes, in 4 MiB stripes: the way a fresh cloud image looks.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-256}
pool=mvbench
work=/var/tmp/mvirt-zfs-bench
build=$PWD/build

cleanup() {
  [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  zpool destroy -f "$pool" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
rm -rf "$work" && mkdir -p "$work/images"
truncate -s 8G "$work/pool.img"
zpool create -f -o ashift=12 -o autotrim=on -o cachefile=none -O compression=lz4 \
  -O xattr=sa -O atime=off -m none "$pool" "$work/pool.img"

img=$work/images/bench.raw
truncate -s "${size_mib}M" "$img"
for ((i = 0; i < size_mib; i += 8)); do
  dd if=/dev/urandom of="$img" bs=1M seek="$i" count=4 conv=notrunc status=none
done
cat "$img" > /dev/null  # into the page cache for every contender alike

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N); awk "BEGIN{print $t1 - $t0}"; }
zvol() { zfs create -s -V "${size_mib}M" -o volblocksize=16K "$pool/$1"; udevadm settle; echo "/dev/zvol/$pool/$1"; }

dev=$(zvol dd)
t_dd=$(seconds dd if="$img" of="$dev" bs=4M oflag=direct conv=sparse,fsync status=none)
dev=$(zvol qemu)
t_qemu=$(seconds qemu-img convert -f raw -O raw -n --target-is-zero -t none -W "$img" "$dev")

"$build/src/daemon/mvirt-zfs" --pool "$pool" --listen "unix:$work/sock" --config /dev/null \
  --state-dir "$work/state" --import-dir "$work/images" --log-level warning &
daemon_pid=$!
ctl() { "$build/src/cli/mvirt-zfsctl" --endpoint "unix:$work/sock" "$@"; }
for _ in $(seq 100); do ctl version > /dev/null 2>&1 && break; sleep 0.1; done
t_mvirt=$(seconds ctl template import bench "$img")

printf '%-32s %8s %8s\n' "import of ${size_mib} MiB (half holes)" seconds "vs dd"
for row in "dd oflag=direct conv=sparse:$t_dd" "qemu-img convert -t none -W:$t_qemu" \
           "mvirt-zfsctl template import:$t_mvirt"; do
  name=${row%%:*} t=${row##*:}
  printf '%-32s %8.2f %8.2f\n' "$name" "$t" "$(awk "BEGIN{print $t / $t_dd}")"
done
for ds in dd qemu .mvirt/templates/bench; do
  printf 'referenced %-24s %s\n' "$ds" "$(zfs get -Hp -o value referenced "$pool/$ds")"
done
