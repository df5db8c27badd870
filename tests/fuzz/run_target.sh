#!/bin/bash
# run_target.sh: one fuzz target's run, as ctest runs it (label "fuzz";
# scripts/fuzz.sh builds the targets and calls ctest -L fuzz).
#
#   tests/fuzz/run_target.sh TARGET_BINARY SOURCE_DIR BUILD_DIR
#
# Fuzzes for MVIRT_FUZZ_SECONDS (default 20) on a fresh copy of the target's
# seed corpus (tests/fuzz/corpus/<target>, which holds the regression inputs
# of past crashes too) with its dictionary if it has one. Prints
# "fuzz <target>: <execs> executions, <n> crashes" and appends that line to
# BUILD_DIR/logs/fuzz-summary.txt; exits non-zero if the target crashed,
# hung, leaked or ran out of memory. Crash inputs go to
# BUILD_DIR/artifacts/<target>/, the log to BUILD_DIR/logs/<target>.log, the
# grown corpus to BUILD_DIR/corpus/<target>/.
set -uo pipefail
binary=${1:?usage: run_target.sh TARGET_BINARY SOURCE_DIR BUILD_DIR}
src=${2:?} build=${3:?}
name=$(basename "$binary")
seconds=${MVIRT_FUZZ_SECONDS:-20}
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || {
  echo "run_target.sh: MVIRT_FUZZ_SECONDS must be a positive number, got '$seconds'" >&2
  exit 2
}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

log="$build/logs/$name.log"
corpus="$build/corpus/$name"
artifacts="$build/artifacts/$name"
rm -rf "$corpus"
mkdir -p "$build/logs" "$corpus" "$artifacts"
[ ! -d "$src/tests/fuzz/corpus/$name" ] || cp -r "$src/tests/fuzz/corpus/$name/." "$corpus/"
dict=()
[ -f "$src/tests/fuzz/$name.dict" ] && dict=(-dict="$src/tests/fuzz/$name.dict")
marker="$build/logs/$name.start"
: >"$marker"
rc=0
# The outer timeout only guards against a fuzzer that hangs outside
# libFuzzer's own -timeout.
timeout --kill-after=30 $((seconds + 300)) "$binary" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "${dict[@]}" "$corpus" >"$log" 2>&1 || rc=$?
crashes=$(find "$artifacts" -type f -newer "$marker" | wc -l)
# A failure that wrote no input (start-up, the outer timeout) counts too.
if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
line="fuzz $name: ${execs:-0} executions, $crashes crashes"
echo "$line"
echo "$line" >>"$build/logs/fuzz-summary.txt"
if [ "$crashes" -ne 0 ]; then
  grep -a -m1 -E 'invariant violated|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" \
    | cut -c1-300 | sed 's/^/  /' | tee -a "$build/logs/fuzz-summary.txt" || true
  echo "  log: $log; inputs: $artifacts/" | tee -a "$build/logs/fuzz-summary.txt"
  exit 1
fi
