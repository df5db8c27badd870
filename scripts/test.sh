#!/bin/bash
# test.sh: the one command that runs ALL tests of mvirt-zfs.
#
#   1. sets the machine up if needed (scripts/setup-host.sh, as root)
#   2. builds everything (build/, -j2)
#   3. runs the unit tests on the host
#   4. runs the real-ZFS tests inside a throwaway QEMU guest that has the zfs
#      module (scripts/zfs-vm-run), against a file-backed pool with the seed's
#      settings. Set MVIRT_TEST_ON_HOST=1 to run them on this host instead
#      (it needs the zfs module and root, and creates/destroys pools named
#      mvtest and mvplain).
#
# Never skips silently: if the guest cannot boot or zfs cannot load, this
# fails and says why. Ends with one line "tests: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# Root is needed (packages, the guest's kernel, pools): a user other than
# root runs this again through sudo, if there is one.
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "test.sh: run it as root (sudo is not installed)" >&2; exit 1; }
  exec sudo --preserve-env=MVIRT_BUILD_JOBS,MVIRT_TEST_ON_HOST,MVIRT_VM_DISK,MVIRT_VM_DISK_GIB,MVIRT_PORT,MVIRT_VM_MEM "$0" "$@"
fi
scripts/setup-host.sh

jobs=${MVIRT_BUILD_JOBS:-2}
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"

results=build/test-results
rm -rf "$results"
mkdir -p "$results"
status=0

echo "== unit tests (host)"
build/tests/unit/unit_tests --gtest_output="json:$results/unit.json" || status=1

echo "== real-ZFS tests"
zfs_cmd=(build/tests/zfs/zfs_tests --gtest_output="json:$results/zfs.json")
if [ "${MVIRT_TEST_ON_HOST:-0}" = 1 ]; then
  "${zfs_cmd[@]}" || status=1
else
  # Keep the guest modest: 2 GiB, the pool file is sparse.
  scripts/zfs-vm-run --mem 2048 --timeout 2400 -- "${zfs_cmd[@]}" || status=1
fi

# One closing line over both suites; a suite that wrote no result file (the
# guest did not boot, a crash) counts as a failure.
python3 - "$results" <<'PY' || status=1
import json, os, sys
d = sys.argv[1]
passed = failed = 0
missing = []
for suite in ("unit", "zfs"):
    path = os.path.join(d, suite + ".json")
    if not os.path.exists(path):
        missing.append(suite)
        continue
    r = json.load(open(path))
    failed += r["failures"] + r.get("errors", 0)
    passed += r["tests"] - r["failures"] - r.get("errors", 0) - r.get("disabled", 0)
for suite in missing:
    print(f"test.sh: the {suite} tests produced no results (see the output above)")
print(f"tests: {passed} passed, {failed + len(missing)} failed")
sys.exit(1 if failed or missing else 0)
PY
exit $status
