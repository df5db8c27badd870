#!/bin/bash
# package.sh: builds the Debian package of mvirt-zfs from this tree.
#
#   scripts/package.sh            -> build-deb/mvirt-zfs_<version>_amd64.deb
#
# A release build (RelWithDebInfo, no crash points, no sanitizers) in
# build-deb/, man pages from --help (help2man), then CPack's DEB generator
# (cmake/Packaging.cmake). Prints the package's path as its last line.
# Needs what scripts/setup-host.sh installs (help2man, dpkg-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${MVIRT_BUILD_JOBS:-2}
dir=build-deb
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DMVIRT_PACKAGE=ON -DMVIRT_CRASH_POINTS=OFF -DMVIRT_SANITIZE= >/dev/null
cmake --build "$dir" -j"$jobs" --target mvirt-zfs mvirt-zfsctl man_pages
rm -f "$dir"/mvirt-zfs_*.deb
(cd "$dir" && cpack -G DEB >cpack.log 2>&1) || { cat "$dir/cpack.log"; exit 1; }
ls "$(pwd)/$dir"/mvirt-zfs_*.deb
