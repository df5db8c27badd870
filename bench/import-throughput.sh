#!/bin/bash
# import-throughput.sh: how fast mvirt-zfs imports an image, compared in one
# run with the plain tools an operator would use instead: a raw image with
# `dd` and `qemu-img convert`, and the same image as qcow2 with `qemu-img
# convert`. Prints each time, its ratio to qemu-img's (the issue's target:
# mvirt-zfs at >= 90% of qemu-img's rate, a ratio <= 1.11) and the space each
# result uses (only data blocks should be written). Needs a built tree
# (build/) and real ZFS: on a machine without the zfs module run it in the
# guest:
#
#   scripts/zfs-vm-run --mem 4096 -- bench/import-throughput.sh [MiB] [DATA%]
#
# The image (default 4096 MiB, 10% data) is random data (so lz4 cannot
# cheat) in 4 MiB stripes between holes: the way a fresh cloud image looks.
# Each result is measured, then destroyed, so the guest holds one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-4096}
data_percent=${2:-10}
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
step=$((4 * 100 / data_percent))  # MiB from one 4 MiB data stripe to the next
for ((i = 0; i < size_mib; i += step)); do
  dd if=/dev/urandom of="$img" bs=1M seek="$i" count=4 conv=notrunc status=none
done
qcow=$work/images/bench.qcow2
qemu-img convert -f raw -O qcow2 "$img" "$qcow"
cat "$img" "$qcow" > /dev/null  # into the page cache for every contender alike

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N); awk "BEGIN{print $t1 - $t0}"; }
zvol() { zfs create -s -V "${size_mib}M" -o volblocksize=16K "$pool/$1"; udevadm settle; echo "/dev/zvol/$pool/$1"; }

# The pool's file lives in the guest's /var/tmp, a tmpfs of half its memory:
# what a destroy freed goes back to it only once trimmed. Waited for
# (untimed), or the next contenders' writes can fill the tmpfs and suspend
# the pool.
give_back() { zpool trim -w "$pool"; }
destroy() {  # udev may still probe a zvol just written
  for _ in $(seq 50); do zfs destroy "$pool/$1" 2> /dev/null && give_back && return; sleep 0.2; done
  zfs destroy "$pool/$1" && give_back
}
referenced() { zfs get -Hp -o value referenced "$pool/$1"; }
results=()
measure() {  # NAME DATASET COMMAND...: times COMMAND, then records DATASET's size
  local name=$1 ds=$2 t
  shift 2
  t=$(seconds "$@")
  results+=("$name|$t|$(referenced "$ds")")
}

dev=$(zvol dd)
measure "raw: dd oflag=direct conv=sparse" dd \
  dd if="$img" of="$dev" bs=4M oflag=direct conv=sparse,fsync status=none
destroy dd
dev=$(zvol qemu)
measure "raw: qemu-img convert -t none -W" qemu \
  qemu-img convert -f raw -O raw -n --target-is-zero -t none -W "$img" "$dev"
destroy qemu
dev=$(zvol qcow)
measure "qcow2: qemu-img convert -t none -W" qcow \
  qemu-img convert -f qcow2 -O raw -n --target-is-zero -t none -W "$qcow" "$dev"
destroy qcow

"$build/src/daemon/mvirt-zfs" --pool "$pool" --listen "unix:$work/sock" --config /dev/null \
  --state-dir "$work/state" --import-dir "$work/images" --log-level warning &
daemon_pid=$!
ctl() { "$build/src/cli/mvirt-zfsctl" --endpoint "unix:$work/sock" "$@"; }
for _ in $(seq 100); do ctl version > /dev/null 2>&1 && break; sleep 0.1; done
measure "raw: mvirt-zfsctl template import" .mvirt/templates/raw ctl template import raw "$img"
ctl template delete raw > /dev/null
give_back
measure "qcow2: mvirt-zfsctl template import" .mvirt/templates/qcow ctl template import qcow "$qcow"
ctl template delete qcow > /dev/null

for row in "${results[@]}"; do
  IFS='|' read -r name t _ <<< "$row"
  case $name in
    "raw: qemu-img"*) t_qemu_raw=$t ;;
    "qcow2: qemu-img"*) t_qemu_qcow=$t ;;
  esac
done
printf '%s MiB image, %s%% data\n' "$size_mib" "$data_percent"
printf '%-38s %8s %12s %14s\n' "way" seconds "vs qemu-img" "referenced"
for row in "${results[@]}"; do
  IFS='|' read -r name t bytes <<< "$row"
  base=$t_qemu_raw
  [[ $name == qcow2:* ]] && base=$t_qemu_qcow
  printf '%-38s %8.2f %12.2f %14s\n' "$name" "$t" "$(awk "BEGIN{print $t / $base}")" "$bytes"
done
