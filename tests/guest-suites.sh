#!/bin/bash
# guest-suites.sh: the real-ZFS suites, run by scripts/test.sh inside the QEMU
# guest (or on a host with ZFS): one boot for all of them.
#
#   tests/guest-suites.sh RESULTS_DIR
#
#   zfs      build-asan/tests/zfs/zfs_tests      (ASan+UBSan daemon and tests)
#   torture  build-asan/tests/zfs/torture_tests  (crash points compiled in)
#   race     build-tsan/tests/zfs/zfs_tests --gtest_filter=Concurrency.*
#            (the concurrency suite against a ThreadSanitizer daemon)
# Each writes RESULTS_DIR/<suite>.json (gtest); a sanitizer report fails the
# suite (the sanitizers abort, and the tests look for reports in the
# daemons' logs). MVIRT_TORTURE_KILLS and MVIRT_RACE_SECONDS size the
# torture and concurrency runs (the long variants set them high).
set -uo pipefail
cd "$(dirname "$0")/.."
results=${1:?usage: guest-suites.sh RESULTS_DIR}
mkdir -p "$results"
here=$(pwd -P)

# Sanitizer settings for every process started below (the daemons too).
# Suppressions are for third-party code only, each with its reason in the file.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$here/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="suppressions=$here/tests/sanitizers/tsan.supp:halt_on_error=1:second_deadlock_stack=1"

status=0
run() {  # NAME BINARY [ARGS...]
  local name=$1 binary=$2; shift 2
  echo "== real-ZFS suite: $name ($binary)"
  "$binary" --gtest_output="json:$results/$name.json" "$@" || status=1
}
run zfs build-asan/tests/zfs/zfs_tests --gtest_filter=-Concurrency.*
run torture build-asan/tests/zfs/torture_tests
run race build-tsan/tests/zfs/zfs_tests --gtest_filter=Concurrency.*
exit $status
