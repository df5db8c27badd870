#!/bin/bash
# package.sh: builds the Debian package of mvirt-zfs from this tree.
#
#   scripts/package.sh [BUILD_DIR]   -> build-deb/mvirt-zfs_<version>_amd64.deb
#
# A release build (RelWithDebInfo, no crash points, no sanitizers) in
# BUILD_DIR (default build-deb/; scripts/test.sh passes build/, its tree of
# what ships, so that the daemon is compiled once), configured for the
# package (prefix /usr, man pages from --help by help2man), then CPack's DEB
# generator (cmake/Packaging.cmake). The package always lands in build-deb/;
# its path is the last line printed. Needs what scripts/setup-host.sh
# installs (help2man, dpkg-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${MVIRT_BUILD_JOBS:-2}
dir=${1:-build-deb}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DMVIRT_PACKAGE=ON -DMVIRT_CRASH_POINTS=OFF -DMVIRT_SANITIZE= >/dev/null
cmake --build "$dir" -j"$jobs" --target mvirt-zfs mvirt-zfsctl man_pages
mkdir -p build-deb
rm -f "$dir"/mvirt-zfs_*.deb build-deb/mvirt-zfs_*.deb
(cd "$dir" && cpack -G DEB >cpack.log 2>&1) || { cat "$dir/cpack.log"; exit 1; }
[ "$dir" -ef build-deb ] || mv "$dir"/mvirt-zfs_*.deb build-deb/
ls "$(pwd)"/build-deb/mvirt-zfs_*.deb
