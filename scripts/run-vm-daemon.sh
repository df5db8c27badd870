#!/bin/bash
# run-vm-daemon.sh: run the mvirt-zfs daemon inside a QEMU guest with the ZFS
# kernel module (scripts/zfs-vm-run), for hosts that cannot load zfs.ko.
#
# Usage:
#   scripts/run-vm-daemon.sh DAEMON [DAEMON-ARG...]   start (in the foreground)
#   scripts/run-vm-daemon.sh stop                      stop a running instance
#
# The guest gets a persistent sparse disk file as /dev/vda. Pool "vmpool" is
# imported from it, or created on first use. The daemon runs as
#   DAEMON --pool vmpool --listen 10.0.2.15:PORT --state-dir REPO/.vm/daemon-state
#          [DAEMON-ARG...]
# and host 127.0.0.1:PORT is forwarded to it. Images to import from local
# files go in the host's /var/lib/mvirt-zfs/images (the default
# --import-dir), which the guest reads. Its working directory is the
# repository root (shared read-write with the guest); the rest of the host's
# filesystem is visible read-only.
#
# Stopping: Ctrl-C (or SIGTERM to this process) or `run-vm-daemon.sh stop` from
# another terminal creates .vm/stop in the repository; the guest then sends
# SIGTERM to the daemon, waits for it, exports the pool and powers off.
#
# Environment:
#   MVIRT_VM_DISK      disk file (default /var/lib/mvirt-zfs/vm/vmpool.img)
#   MVIRT_VM_DISK_GIB  its size when it is created (default 100; sparse, so it
#                      costs only what is written)
#   MVIRT_PORT         TCP port on the host and in the guest (default 50053)
#   MVIRT_VM_MEM       guest memory in MiB (default 2048)
#   MVIRT_DAEMON_CMD   for testing: a shell command run instead of DAEMON (it
#                      gets "--pool vmpool --listen ..." and DAEMON-ARGs as $@;
#                      DAEMON may then be omitted), e.g. 'exec sleep 1000'
set -euo pipefail

prog=run-vm-daemon
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "$*"; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/.." && pwd -P)
state=$repo/.vm
stop_file=$state/stop
lock=$state/lock
pool=vmpool

# --- stop -------------------------------------------------------------------
if [ "${1:-}" = stop ]; then
  [ $# -eq 1 ] || die "usage: $0 stop"
  if [ ! -e "$lock" ] || flock -n "$lock" true; then
    say "no running instance (nothing holds $lock)"
    exit 1
  fi
  : > "$stop_file"
  say "asked the daemon to stop ($stop_file); waiting for the guest to export $pool and power off..."
  if flock -w 300 "$lock" true; then
    say "stopped"
    exit 0
  fi
  say "the guest is still running after 300 s; it can be killed with Ctrl-C three times in its terminal"
  exit 1
fi

# --- start ------------------------------------------------------------------
case ${1:-} in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac

disk=${MVIRT_VM_DISK:-/var/lib/mvirt-zfs/vm/vmpool.img}
disk_gib=${MVIRT_VM_DISK_GIB:-100}
port=${MVIRT_PORT:-50053}
mem=${MVIRT_VM_MEM:-2048}
{ [[ $port =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ]; } || die "MVIRT_PORT must be a TCP port, got '$port'"
{ [[ $disk_gib =~ ^[0-9]+$ ]] && [ "$disk_gib" -ge 1 ]; } || die "MVIRT_VM_DISK_GIB must be a positive integer, got '$disk_gib'"
[[ $mem =~ ^[0-9]+$ ]] || die "MVIRT_VM_MEM must be a number of MiB, got '$mem'"

visible_in_guest() {  # PATH: the guest sees the repo and the host's / except these
  case $1 in
    "$repo"/*) return 0 ;;
    /tmp/*|/run/*|/var/tmp/*|/dev/*|/proc/*|/sys/*) return 1 ;;
  esac
}

daemon_cmd=()
if [ -n "${MVIRT_DAEMON_CMD:-}" ]; then
  daemon_cmd=(sh -c "$MVIRT_DAEMON_CMD" mvirt-zfs-stand-in)
  [ $# -eq 0 ] || shift        # a DAEMON path, if given, is replaced
  label="stand-in '$MVIRT_DAEMON_CMD'"
else
  [ $# -ge 1 ] || die "usage: $0 DAEMON [DAEMON-ARG...] | $0 stop   (e.g. $0 build/src/daemon/mvirt-zfs)"
  daemon=$1; shift
  { [ -f "$daemon" ] && [ -x "$daemon" ]; } || die "daemon binary '$daemon' not found or not executable (build it first)"
  daemon=$(realpath "$daemon")
  visible_in_guest "$daemon" || die "$daemon is not visible inside the guest (its /tmp, /run, /var/tmp are private); build it elsewhere"
  daemon_cmd=("$daemon")
  label=$daemon
fi
daemon_cmd+=(--pool "$pool" --listen "10.0.2.15:$port")
# The guest sees the host's / read-only: keep the daemon's state (import job
# records, downloads in progress) in the repository, unless told otherwise.
# Local import sources are read from the host's /var/lib/mvirt-zfs/images.
case " $* " in
  *" --state-dir"*) ;;
  *) daemon_cmd+=(--state-dir "$state/daemon-state") ;;
esac
mkdir -p /var/lib/mvirt-zfs/images 2>/dev/null || true
daemon_cmd+=("$@")

mkdir -p "$state"
exec 9>"$lock"
flock -n 9 || die "another instance is already running for $repo (stop it with: $0 stop)"
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  die "127.0.0.1:$port is already in use on this host (set MVIRT_PORT to use another port)"
fi
if [ ! -e "$disk" ]; then
  say "creating the guest's pool disk $disk (${disk_gib} GiB, sparse)"
fi

# Runs in the guest (bash, as root, cwd = repo):
#   $1 stop file, $2 pool, then the daemon command line.
# shellcheck disable=SC2016  # expanded in the guest
guest='
set -u
stop=$1 pool=$2; shift 2
say() { echo "run-vm-daemon (guest): $*"; }
dev=/dev/vda
[ -b "$dev" ] || { say "no $dev in the guest"; exit 1; }
udevadm settle
# A pool made on a whole disk lives in its first partition: search them all.
paths=(-d "$dev")
for p in "$dev"[0-9]*; do [ -b "$p" ] && paths+=(-d "$p"); done
listing=$(zpool import "${paths[@]}" 2>&1)
if grep -q "^ *pool: $pool\$" <<<"$listing"; then
  say "importing pool $pool from $dev"
  if ! zpool import "${paths[@]}" -o cachefile=none "$pool"; then
    say "plain import failed (pool not exported cleanly?); retrying with -f"
    zpool import -f "${paths[@]}" -o cachefile=none "$pool" || { say "cannot import $pool"; exit 1; }
  fi
elif grep -q "^ *pool: " <<<"$listing"; then
  say "$dev holds a pool other than $pool; refusing to touch it:"
  echo "$listing"
  exit 1
else
  say "no pool on $dev: creating $pool"
  zpool create -o ashift=12 -o autotrim=on -o cachefile=none \
    -O compression=lz4 -O xattr=sa -O atime=off -m none "$pool" "$dev" ||
    { say "zpool create failed"; exit 1; }
fi
zpool list "$pool"

"$@" &
daemon=$!
say "daemon started (pid $daemon): $*"
stopping=
while kill -0 "$daemon" 2>/dev/null; do
  if [ -e "$stop" ]; then
    stopping=1
    say "stop requested: SIGTERM to the daemon"
    kill -TERM "$daemon" 2>/dev/null
    for _ in $(seq 60); do kill -0 "$daemon" 2>/dev/null || break; sleep 1; done
    if kill -0 "$daemon" 2>/dev/null; then
      say "the daemon did not exit within 60 s: SIGKILL"
      kill -KILL "$daemon" 2>/dev/null
    fi
    break
  fi
  sleep 1
done
status=0
wait "$daemon" || status=$?
if [ -n "$stopping" ]; then
  say "daemon exited (status $status)"
else
  say "the daemon exited by itself with status $status"
fi
udevadm settle
exported=
for _ in 1 2 3 4 5; do
  if zpool export "$pool"; then exported=1; break; fi
  sleep 2
done
[ -n "$exported" ] || { say "zpool export $pool failed"; exit 1; }
say "pool $pool exported"
if [ -n "$stopping" ]; then exit 0; fi
exit "$status"
'

say "starting $label in a ZFS guest VM (pool $pool on $disk)"
say "once the guest has booted (30-90 s under TCG; watch for 'daemon started') the daemon is reachable at 127.0.0.1:$port, e.g.:"
say "    mvirt-zfsctl --endpoint 127.0.0.1:$port pool stats"
say "stop it with Ctrl-C here, or from another terminal: $0 stop"

cd "$repo"
exec "$here/zfs-vm-run" --mem "$mem" --disk-file "$disk" --disk "$disk_gib" \
  --forward "$port" --timeout 0 --stop-file "$stop_file" \
  -- bash -c "$guest" run-vm-daemon-guest "$stop_file" "$pool" "${daemon_cmd[@]}"
