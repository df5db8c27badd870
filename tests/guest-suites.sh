#!/bin/bash
# guest-suites.sh: the real-ZFS suites, run by scripts/test.sh inside the QEMU
# guest (or on a host with ZFS): one boot for all of them.
#
#   tests/guest-suites.sh RESULTS_DIR
#
#   zfs      ctest -L zfs in build-asan/      (API suite: ASan+UBSan daemon
#                                             and tests)
#   replication  ctest -L replication in build-asan/  (two daemons, two pools)
#   torture  ctest -L torture in build-asan/  (crash points compiled in)
#   race     ctest -L race in build-tsan/     (the concurrency suite against
#                                             a ThreadSanitizer daemon)
# Each writes RESULTS_DIR/<suite>.json (gtest); a sanitizer report fails the
# suite (the sanitizers abort, and the tests look for reports in the
# daemons' logs). MVIRT_TORTURE_KILLS and MVIRT_RACE_SECONDS size the
# torture and concurrency runs (the long variants set them high);
# MVIRT_GUEST_SUITES picks suites by name (default "zfs replication torture
# race"), e.g.
#   scripts/zfs-vm-run --timeout 0 -- env MVIRT_GUEST_SUITES=torture \
#     MVIRT_TORTURE_KILLS=300 tests/guest-suites.sh build/long-results
set -uo pipefail
cd "$(dirname "$0")/.."
results=${1:?usage: guest-suites.sh RESULTS_DIR}
mkdir -p "$results"
results=$(cd "$results" && pwd -P)  # ctest runs the suites elsewhere
here=$(pwd -P)

# Sanitizer settings for every process started below (the daemons too).
# Suppressions are for third-party code only, each with its reason in the file.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$here/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# ignore_noninstrumented_modules: Debian's gRPC, protobuf and Abseil are not
# built with TSan; their own memory accesses are invisible to it anyway, and
# this keeps the memcpy/memmove they make (which TSan intercepts) from being
# reported as races against accesses it cannot see.
export TSAN_OPTIONS="suppressions=$here/tests/sanitizers/tsan.supp:halt_on_error=0:second_deadlock_stack=1:ignore_noninstrumented_modules=1"

# Each suite has a time limit, so that one that hangs still leaves the
# others their turn and the whole run inside CI's budget; a suite killed at
# its limit writes no result file and so counts as failed.
status=0
suites=" ${MVIRT_GUEST_SUITES:-zfs replication torture race} "
run() {  # NAME LIMIT_SECONDS BUILD_DIR (the ctest label is NAME)
  local name=$1 limit=$2 dir=$3
  [[ $suites == *" $name "* ]] || return 0
  echo "== real-ZFS suite: $name (ctest -L $name in $dir, limit ${limit}s)"
  local start=$SECONDS rc=0 log="$results/$name.ctest.log"
  # ctest kills the suite at its limit; the outer timeout guards ctest.
  # ctest -V streams the suite's output, each line prefixed with its test
  # number (cut here).
  GTEST_OUTPUT="json:$results/$name.json" timeout --kill-after=30 $((limit + 60)) \
    ctest --test-dir "$dir" -L "^$name\$" --timeout "$limit" --verbose \
    --output-junit "$results/$name.xml" 2>&1 | sed -u -E 's/^[0-9]+: //' | tee "$log" || rc=$?
  grep -q '\*\*\*Timeout' "$log" && echo "guest-suites.sh: $name hit its ${limit}s limit and was killed"
  echo "== real-ZFS suite: $name ended (exit $rc) after $((SECONDS - start))s"
  if [ "$rc" != 0 ]; then
    status=1
    cleanup
  fi
}
# What a failed or killed suite may have left behind (daemons, mounts, dm
# tables and loop devices on its zvols, its pools) is removed, so that the
# next suite starts on a clean machine.
cleanup() {
  pkill -KILL -x mvirt-zfs 2>/dev/null || true
  local m
  for m in $(awk '$1 ~ "^/dev/(zd|zvol/)" {print $2}' /proc/mounts); do umount -l "$m" || true; done
  dmsetup remove_all --force >/dev/null 2>&1 || true
  losetup -D 2>/dev/null || true
  local p
  for p in $(zpool list -H -o name 2>/dev/null | grep '^mv'); do
    zpool destroy -f "$p" 2>/dev/null || echo "guest-suites.sh: could not destroy pool $p"
  done
}
# The limits grow with the long variants' sizes (scripts/test.sh gives the
# guest as long as their sum and a boot).
kills=${MVIRT_TORTURE_KILLS:-12}
race_seconds=${MVIRT_RACE_SECONDS:-45}
run zfs 3600 build-asan
run replication 900 build-asan
run torture $((450 + 30 * kills)) build-asan
run race $((360 + 2 * race_seconds)) build-tsan
exit $status
