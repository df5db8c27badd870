#!/bin/bash
# test.sh: the one command that runs ALL tests of mvirt-zfs.
#
#   1. sets the machine up if needed (scripts/setup-host.sh, as root)
#   2. builds: build/ (what ships, gcc), build-asan/ (clang, ASan+UBSan with
#      libFuzzer's instrumentation and the crash points of the torture suite:
#      the sanitizer suites and the fuzz targets), build-tsan/ (clang,
#      ThreadSanitizer daemon and the concurrency suite alone), the ASan
#      tree at -O1 with line tables; -j2; the Debian package
#      (scripts/package.sh) from build/
#   3. the format check; unit tests on the host, through ctest (label
#      "unit"): plain and under ASan+UBSan (before the guest starts: some
#      wait on timers, and the emulated guest would take their CPU)
#   4. the real-ZFS suites inside a throwaway QEMU guest that has the zfs
#      module (scripts/zfs-vm-run, tests/guest-suites.sh, through ctest:
#      labels "zfs", "replication", "torture", "race"): the API suite
#      (ASan+UBSan), replication between two daemons, crash torture, and
#      concurrency (TSan), against file-backed
#      pools with the seed's settings. The guest runs in the background
#      while steps 5 and 6 run on the host (the emulated guest leaves part
#      of the two cores idle); its output is shown once they are done, and
#      then as it comes. MVIRT_TEST_ON_HOST=1 runs the suites on this host
#      instead, after steps 5 and 6 (it needs the zfs module and root; it
#      creates and destroys pools named mv* on files under /var/tmp).
#   5. the Debian package installed, upgraded, removed and purged on this
#      host (tests/package/package_test.sh)
#   6. fuzzing: every libFuzzer target for MVIRT_FUZZ_SECONDS (default 20)
#      seconds (scripts/fuzz.sh, through ctest: label "fuzz")
# Long variants: MVIRT_TORTURE_KILLS (default 12 random kills),
# MVIRT_RACE_SECONDS (default 45), MVIRT_FUZZ_SECONDS.
#
# Never skips silently: if the guest cannot boot or zfs cannot load, this
# fails and says why. Ends with one line "tests: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# Root is needed (packages, the guest's kernel, pools): a user other than
# root runs this again through sudo, if there is one.
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "test.sh: run it as root (sudo is not installed)" >&2; exit 1; }
  exec sudo --preserve-env=MVIRT_BUILD_JOBS,MVIRT_TEST_ON_HOST,MVIRT_TORTURE_KILLS,MVIRT_RACE_SECONDS,MVIRT_FUZZ_SECONDS "$0" "$@"
fi
scripts/setup-host.sh

jobs=${MVIRT_BUILD_JOBS:-2}
build() {  # DIR [CMAKE OPTIONS...] -- TARGETS...
  local dir=$1; shift
  local opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${opts[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs" --target "$@"
}
echo "== build (what ships)"
build build -- mvirt-zfs mvirt-zfsctl unit_tests bench_create_cost
echo "== build (clang, ASan+UBSan, fuzzing instrumentation, crash points)"
scripts/fuzz.sh --configure-only
cmake --build build-asan -j"$jobs" --target mvirt-zfs mvirt-zfsctl unit_tests zfs_tests \
  replication_tests torture_tests fuzz_targets
echo "== build (clang, ThreadSanitizer)"
# Full debug information here: tests/sanitizers/tsan.supp names gRPC's
# inlined functions by their qualified names, which line tables lack.
build build-tsan -DCMAKE_CXX_COMPILER=clang++ -DMVIRT_SANITIZE=thread \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g -DNDEBUG" -- mvirt-zfs mvirt-zfsctl race_tests
echo "== build (the Debian package, scripts/package.sh, from build/)"
deb=$(scripts/package.sh build | tee /dev/stderr | tail -1)

results=build/test-results
rm -rf "$results"
mkdir -p "$results"
status=0

echo "== format (clang-format against .clang-format)"
mapfile -t sources < <(find src tests bench \( -name '*.cc' -o -name '*.h' \) | sort)
if clang-format --dry-run --Werror "${sources[@]}" 2>"$results/format.log"; then
  echo ok >"$results/format.txt"
else
  grep -o '^[^:]*:[0-9]*' "$results/format.log" | sort -u -t: -k1,1 | head -20
  echo "test.sh: these files are not formatted: run clang-format -i on them"
  echo FAILED >"$results/format.txt"
  status=1
fi

# ctest runs each test in a process of its own (-j: two at a time) and
# writes a JUnit report that the summary below counts.
echo "== unit tests (host, ctest -L unit)"
unit_tests() {  # BUILD_DIR NAME: ctest -L unit, the failures' output shown
  local log="$results/$2.log"
  if ! ctest --test-dir "$1" -L unit -j"$jobs" --output-on-failure \
    --output-junit "$(pwd)/$results/$2.xml" >"$log" 2>&1; then
    grep -v ' Passed ' "$log" || true
    status=1
  fi
  tail -3 "$log"
}
unit_tests build unit
echo "== unit tests (host, ASan+UBSan, ctest -L unit)"
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$(pwd)/tests/sanitizers/lsan.supp" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  unit_tests build-asan unit-asan

# The real-ZFS suites: in the guest, started now and waited for at the end.
guest_pid=
if [ "${MVIRT_TEST_ON_HOST:-0}" != 1 ]; then
  echo "== real-ZFS suites (ctest -L zfs|replication|torture|race, tests/guest-suites.sh):" \
    "the guest starts now; its output follows the host's tests"
  # Keep the guest modest: 2 GiB, the pool files are sparse. Its time limit
  # is the sum of the suites' limits (tests/guest-suites.sh) and a boot.
  kills=${MVIRT_TORTURE_KILLS:-12}
  race_seconds=${MVIRT_RACE_SECONDS:-45}
  guest_env="MVIRT_TORTURE_KILLS=$kills MVIRT_RACE_SECONDS=$race_seconds"
  (
    rc=0
    scripts/zfs-vm-run --mem 2048 --timeout $((5500 + 30 * kills + 2 * race_seconds)) -- \
      env $guest_env tests/guest-suites.sh "$results" >"$results/guest.log" 2>&1 || rc=$?
    echo "$rc" >"$results/guest.rc"
  ) &
  guest_pid=$!
  # If this script ends early (an error, a signal), the guest goes with it:
  # zfs-vm-run kills qemu when it is terminated.
  trap '[ -z "$guest_pid" ] || pkill -TERM -P "$guest_pid" 2>/dev/null || true' EXIT
fi

# Install, upgrade, remove and purge the package on this host (the guest's
# package test runs its unpacked daemon on a real pool).
echo "== the Debian package (tests/package/package_test.sh)"
tests/package/package_test.sh "$deb" "$results/package.txt" || status=1

echo "== fuzzing (${MVIRT_FUZZ_SECONDS:-20} s per target)"
scripts/fuzz.sh "${MVIRT_FUZZ_SECONDS:-20}" | tee "$results/fuzz.txt" || status=1

if [ -z "$guest_pid" ]; then
  echo "== real-ZFS suites (ctest -L zfs|replication|torture|race, tests/guest-suites.sh)"
  tests/guest-suites.sh "$results" || status=1
else
  echo "== real-ZFS suites: the guest's output so far, then as it comes"
  # Follows the log until the guest's runner has exited.
  tail -n +1 -f --pid="$guest_pid" "$results/guest.log" 2>/dev/null || true
  wait "$guest_pid" || true
  guest_pid=
  [ "$(cat "$results/guest.rc" 2>/dev/null)" = 0 ] || status=1
fi

# One closing line over every suite; a suite that wrote no result file (the
# guest did not boot, a crash) counts as a failure; a fuzz target that
# crashed counts as one.
python3 - "$results" <<'PY' || status=1
import json, os, sys
import xml.etree.ElementTree as ET
d = sys.argv[1]
passed = failed = 0
missing = []
for suite in ("unit", "unit-asan"):  # ctest's JUnit reports
    path = os.path.join(d, suite + ".xml")
    if not os.path.exists(path):
        missing.append(suite)
        continue
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.get("status") == "run" and case.find("failure") is None:
            passed += 1
        else:
            failed += 1  # failed, not run, or disabled
for suite in ("zfs", "replication", "torture", "race"):  # gtest's JSON reports
    path = os.path.join(d, suite + ".json")
    if not os.path.exists(path):
        missing.append(suite)
        continue
    try:
        r = json.load(open(path))
    except ValueError:  # gtest writes broken JSON when its set-up fails
        missing.append(suite)
        continue
    failed += r["failures"] + r.get("errors", 0)
    passed += r["tests"] - r["failures"] - r.get("errors", 0) - r.get("disabled", 0)
    # Each failed test with the start of its first failure, so that the
    # closing lines of a long run say what went wrong.
    for group in r.get("testsuites", []):
        for case in group.get("testsuite", []):
            for failure in case.get("failures", [])[:1]:
                text = " | ".join(failure.get("failure", "").splitlines()[:4])
                print(f"FAILED {suite}: {group['name']}.{case['name']}: {text[:400]}")
fuzz = open(os.path.join(d, "fuzz.txt")).read().splitlines() if os.path.exists(os.path.join(d, "fuzz.txt")) else []
pkg = os.path.join(d, "package.txt")
if os.path.exists(pkg):
    for line in open(pkg).read().splitlines():
        if line.startswith("ok "):
            passed += 1
        elif line.startswith("FAILED "):
            failed += 1
else:
    missing.append("package")
fmt = os.path.join(d, "format.txt")
if os.path.exists(fmt) and open(fmt).read().strip() == "ok":
    passed += 1
else:
    print("test.sh: the format check failed or did not run")
    failed += 1
for line in fuzz:
    if line.startswith("fuzz ") and " 0 crashes" not in line:
        failed += 1
    elif line.startswith("fuzz "):
        passed += 1
for suite in missing:
    print(f"test.sh: the {suite} tests produced no results (see the output above)")
print(f"tests: {passed} passed, {failed + len(missing)} failed")
sys.exit(1 if failed or missing else 0)
PY
exit $status
