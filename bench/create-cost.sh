#!/bin/bash
# create-cost.sh: what "born under .mvirt/creating, renamed into place"
# costs per create over creating a zvol in place (bench/create_cost.cc), on
# a fresh file pool with the seed's settings. Run it in the guest:
#   scripts/zfs-vm-run --mem 2048 -- bench/create-cost.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
file=/var/tmp/mvirt-zfs-bench-create.img
zpool destroy -f mvbench 2>/dev/null || true
rm -f "$file" && truncate -s 4G "$file"
zpool create -f -o ashift=12 -o autotrim=on -o cachefile=none -O compression=lz4 \
  -O xattr=sa -O atime=off -m none mvbench "$file"
trap 'zpool destroy -f mvbench; rm -f "$file"' EXIT
build/bench/bench_create_cost mvbench "$rounds"
