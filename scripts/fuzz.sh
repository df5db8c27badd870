#!/bin/bash
# fuzz.sh: builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan,
# in build-asan/) and runs each for SECONDS_PER_TARGET (default 30) on a
# fresh copy of its seed corpus, which holds the regression inputs of past
# crashes too. See docs/FUZZING.md.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   e.g. scripts/fuzz.sh 3600
#   scripts/fuzz.sh --configure-only    (configure build-asan/ and stop)
#
# build-asan/ is also the tree of scripts/test.sh's ASan+UBSan suites: one
# clang build serves both (its crash points stay inert without
# MVIRT_ZFS_CRASH_AT, and it never ships).
#
# Prints one line per target, "fuzz <target>: <execs> executions, <n> crashes",
# and exits non-zero if any target crashed (or hung, leaked, ran out of
# memory) or failed to build. Crash inputs are kept in
# build-asan/artifacts/<target>/, logs in build-asan/logs/<target>.log, the
# grown corpora in build-asan/corpus/<target>/.
#
# Environment: MVIRT_BUILD_JOBS (compile jobs, default 2); MVIRT_FUZZ_IGNORE
# (known findings the targets should not stop at, see docs/FUZZING.md).
set -euo pipefail
cd "$(dirname "$0")/.."

configure_only=0
if [ "${1:-}" = --configure-only ]; then configure_only=1; shift; fi
seconds=${1:-30}
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || {
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
  exit 2
}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  # Every target in the tree, whether or not it has a seed corpus yet.
  for src in tests/fuzz/fuzz_*.cc; do targets+=("$(basename "$src" .cc)"); done
fi
jobs=${MVIRT_BUILD_JOBS:-2}
build=build-asan

# clang with the libFuzzer runtime (Debian: clang, libclang-rt-14-dev).
have_fuzzer() {
  local probe
  probe=$(mktemp -d)
  printf '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
    > "$probe/p.cc"
  local rc=0
  clang++ -fsanitize=fuzzer,address,undefined "$probe/p.cc" -o "$probe/p" >/dev/null 2>&1 || rc=$?
  rm -rf "$probe"
  return $rc
}
if ! command -v clang++ >/dev/null || ! have_fuzzer; then
  if [ "$(id -u)" = 0 ]; then
    scripts/setup-host.sh
  fi
  if ! command -v clang++ >/dev/null || ! have_fuzzer; then
    echo "fuzz.sh: clang++ with libFuzzer is missing: run scripts/setup-host.sh as root" \
         "(it installs clang and libclang-rt-14-dev)" >&2
    exit 1
  fi
fi

flags="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer"
flags+=" -fno-sanitize-recover=all -D_GLIBCXX_ASSERTIONS"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DMVIRT_FUZZ=ON -DMVIRT_CRASH_POINTS=ON -DCMAKE_CXX_FLAGS="$flags" >/dev/null
[ "$configure_only" = 0 ] || exit 0

mkdir -p "$build/logs" "$build/artifacts" "$build/corpus"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
crashed=0
for t in "${targets[@]}"; do
  name=fuzz_${t#fuzz_}
  log="$build/logs/$name.log"
  if ! cmake --build "$build" -j"$jobs" --target "$name" >"$log.build" 2>&1; then
    echo "fuzz $name: build failed (see $log.build)"
    status=1
    continue
  fi
  corpus="$build/corpus/$name"
  artifacts="$build/artifacts/$name"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$artifacts"
  [ ! -d "tests/fuzz/corpus/$name" ] || cp -r "tests/fuzz/corpus/$name/." "$corpus/"
  dict=()
  [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
  marker="$build/logs/$name.start"
  : >"$marker"
  rc=0
  # The outer timeout only guards against a fuzzer that hangs outside
  # libFuzzer's own -timeout.
  timeout --kill-after=30 $((seconds + 300)) "$build/tests/fuzz/$name" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${dict[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  crashes=$(find "$artifacts" -type f -newer "$marker" | wc -l)
  # A failure that wrote no input (start-up, the outer timeout) counts too.
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  echo "fuzz $name: ${execs:-0} executions, $crashes crashes"
  if [ "$crashes" -ne 0 ]; then
    status=1
    crashed=$((crashed + 1))
    grep -a -m1 -E 'invariant violated|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" \
      | cut -c1-300 | sed 's/^/  /' || true
    echo "  log: $log; inputs: $artifacts/"
  fi
done
echo "fuzz: ${#targets[@]} targets, $crashed crashed, $([ $status = 0 ] && echo ok || echo FAILED)"
exit $status
