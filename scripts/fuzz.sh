#!/bin/bash
# fuzz.sh: builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan,
# in build-asan/) and runs each for SECONDS_PER_TARGET (default 30) through
# ctest (label "fuzz"; tests/fuzz/run_target.sh) on a fresh copy of its seed
# corpus, which holds the regression inputs of past crashes too. See
# docs/FUZZING.md.
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
# -O1 and line tables only (what the sanitizers' reports need): about a
# third less compile time than RelWithDebInfo's -O2 -g, for a tree that
# never ships.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" -DMVIRT_FUZZ=ON -DMVIRT_CRASH_POINTS=ON -DCMAKE_CXX_FLAGS="$flags" >/dev/null
[ "$configure_only" = 0 ] || exit 0

mkdir -p "$build/logs"
summary="$build/logs/fuzz-summary.txt"
rm -f "$summary"
status=0
built=()
for t in "${targets[@]}"; do
  name=fuzz_${t#fuzz_}
  if cmake --build "$build" -j"$jobs" --target "$name" >"$build/logs/$name.log.build" 2>&1; then
    built+=("$name")
  else
    echo "fuzz $name: build failed (see $build/logs/$name.log.build)"
    status=1
  fi
done
# Each target is a ctest test (label "fuzz", tests/fuzz/run_target.sh), run
# one after the other: they print their lines into $summary.
if [ ${#built[@]} -gt 0 ]; then
  pattern="^($(IFS='|'; echo "${built[*]}"))\$"
  MVIRT_FUZZ_SECONDS=$seconds ctest --test-dir "$build" -L '^fuzz$' -R "$pattern" \
    --timeout $((seconds + 400)) --output-junit "$(pwd -P)/$build/logs/fuzz.xml" \
    >"$build/logs/fuzz-ctest.log" 2>&1 || status=1
  cat "$summary" 2>/dev/null || true
  ran=$(grep -c '^fuzz ' "$summary" 2>/dev/null || true)
  if [ "${ran:-0}" -ne ${#built[@]} ]; then
    echo "fuzz: ${ran:-0} of ${#built[@]} targets reported (see $build/logs/fuzz-ctest.log)"
    status=1
  fi
fi
crashed=$(grep -c ' [1-9][0-9]* crashes$' "$summary" 2>/dev/null || true)
echo "fuzz: ${#targets[@]} targets, ${crashed:-0} crashed, $([ $status = 0 ] && echo ok || echo FAILED)"
exit $status
