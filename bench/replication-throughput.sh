#!/bin/bash
# replication-throughput.sh: how fast mvirt-zfs replicates a volume to
# another daemon, compared in one run with what an operator would type
# instead, `zfs send | zfs receive` of the same snapshot between the same
# two pools. Prints each time, mvirt-zfs's rate as a share of the pipe's
# (the issue's target: >= 90%) and how busy the CPUs were during each way. Two pools on files, two daemons on
# unix sockets (the stream crosses gRPC as between two hosts, without a
# network). Needs a built tree (build/) and real ZFS: on a machine without
# the zfs module run it in the guest:
#
#   scripts/zfs-vm-run --mem 4096 -- bench/replication-throughput.sh [MiB] [ROUNDS]
#
# The volume (default 1024 MiB) is filled with random data (lz4 cannot
# shrink it, so the stream is as large). Each round sends it once each way,
# then once through each daemon alone (`volume send | zfs receive`, `zfs
# send | volume receive`: where the daemons' time goes), reversing the
# order every other round; the receiving side is destroyed in between.
# MVIRT_BENCH_BUILD names another build tree (a baseline) to measure.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
rounds=${2:-3}
work=/var/tmp/mvirt-zfs-bench-repl
build=${MVIRT_BENCH_BUILD:-$PWD/build}  # another tree's binaries, e.g. a baseline
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  zpool destroy -f mvbsrc 2>/dev/null || true
  zpool destroy -f mvbdst 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
rm -rf "$work" && mkdir -p "$work"
for pool in mvbsrc mvbdst; do
  truncate -s "$((size_mib * 3 + 1024))M" "$work/$pool.img"
  zpool create -f -o ashift=12 -o autotrim=on -o cachefile=none -O compression=lz4 \
    -O xattr=sa -O atime=off -m none "$pool" "$work/$pool.img"
  "$build/src/daemon/mvirt-zfs" --pool "$pool" --listen "unix:$work/$pool.sock" \
    --config /dev/null --state-dir "$work/state-$pool" --log-level warning &
  pids+=($!)
done
ctl() { local pool=$1; shift; "$build/src/cli/mvirt-zfsctl" --endpoint "unix:$work/$pool.sock" "$@"; }
for pool in mvbsrc mvbdst; do
  for _ in $(seq 100); do ctl "$pool" version > /dev/null 2>&1 && break; sleep 0.1; done
done

ctl mvbsrc volume create vol "${size_mib}M" > /dev/null
dd if=/dev/urandom of=/dev/zvol/mvbsrc/vol bs=4M count=$((size_mib / 4)) oflag=direct \
  status=none
ctl mvbsrc snapshot create vol s1 > /dev/null
stream_bytes=$(zfs send -nP -Lec mvbsrc/vol@s1 | awk '/^size/ {print $2}')

# busy and total CPU jiffies of the machine so far (/proc/stat: not idle, not iowait)
jiffies() { awk '/^cpu / {t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit}' /proc/stat; }
cpu_log=$work/cpu.log
# Prints the seconds COMMAND took; appends "NAME busy-share" to $cpu_log.
seconds() {
  local t0 t1 b0 a0 b1 a1 name=$1
  read -r b0 a0 <<< "$(jiffies)"
  t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
  read -r b1 a1 <<< "$(jiffies)"
  awk -v n="$name" -v b="$((b1 - b0))" -v a="$((a1 - a0))" 'BEGIN {print n, (a > 0 ? b / a : 0)}' >> "$cpu_log"
  awk "BEGIN{print $t1 - $t0}"
}
destroy() {  # udev may still probe a zvol just received
  # A daemon holds the snapshot it received (the next increment's base).
  local snapshot tag
  for snapshot in $(zfs list -H -o name -t snapshot -r "$1" 2> /dev/null); do
    for tag in $(zfs holds -H "$snapshot" | cut -f2); do zfs release "$tag" "$snapshot"; done
  done
  for _ in $(seq 50); do zfs destroy -r "$1" 2> /dev/null && return; sleep 0.2; done
  zfs destroy -r "$1"
}
pipe() { zfs send -Lec mvbsrc/vol@s1 | zfs receive mvbdst/plain; }
daemon() { ctl mvbsrc volume replicate vol --to "unix:$work/mvbdst.sock"; }
# Each half on its own, to tell where the daemon's time goes: the source
# daemon's SendVolume stream into `zfs receive`, and `zfs send` into the
# target daemon's ReceiveVolume (which waits for the device, as a replicate
# does).
send_half() { ctl mvbsrc volume send vol s1 | zfs receive mvbdst/sent; }
receive_half() { zfs send -Lec mvbsrc/vol@s1 | ctl mvbdst volume receive received; }
pipe_times=() daemon_times=() send_times=() receive_times=()
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then
    pipe_times+=("$(seconds pipe)"); destroy mvbdst/plain
    daemon_times+=("$(seconds daemon)"); destroy mvbdst/vol
    send_times+=("$(seconds send_half)"); destroy mvbdst/sent
    receive_times+=("$(seconds receive_half)"); destroy mvbdst/received
  else
    receive_times+=("$(seconds receive_half)"); destroy mvbdst/received
    send_times+=("$(seconds send_half)"); destroy mvbdst/sent
    daemon_times+=("$(seconds daemon)"); destroy mvbdst/vol
    pipe_times+=("$(seconds pipe)"); destroy mvbdst/plain
  fi
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
p=$(median "${pipe_times[@]}")
d=$(median "${daemon_times[@]}")
sh=$(median "${send_times[@]}")
rh=$(median "${receive_times[@]}")
echo "replication of a ${size_mib} MiB volume of random data (stream: $stream_bytes bytes), median of $rounds"
printf '%-44s %8s %10s\n' "way" "seconds" "MiB/s"
awk -v p="$p" -v d="$d" -v sh="$sh" -v rh="$rh" -v b="$stream_bytes" 'BEGIN {
  printf "%-44s %8.2f %10.1f\n", "zfs send -Lec | zfs receive", p, b / 1048576 / p
  printf "%-44s %8.2f %10.1f\n", "mvirt-zfsctl volume replicate (two daemons)", d, b / 1048576 / d
  printf "%-44s %8.2f %10.1f\n", "volume send (daemon) | zfs receive", sh, b / 1048576 / sh
  printf "%-44s %8.2f %10.1f\n", "zfs send | volume receive (daemon)", rh, b / 1048576 / rh
  printf "mvirt-zfs rate / pipe rate: %.0f%% (target: >= 90%%)\n", 100 * p / d
}'
echo "times: pipe ${pipe_times[*]}; daemon ${daemon_times[*]}; send half ${send_times[*]}; receive half ${receive_times[*]}"
# How busy the machine's CPUs were during each way (mean of its rounds):
# a way that keeps them all busy is bound by the work it does, not by waits.
awk '{s[$1] += $2; n[$1]++} END {printf "CPUs busy:"; for (w in s) printf " %s %.0f%%", w, 100 * s[w] / n[w]; print ""}' "$cpu_log"
