#!/bin/bash
# setup-host.sh: make a fresh Debian 12 machine able to build, test and run
# mvirt-zfs. Idempotent; run as root.
#   - enables the contrib component (ZFS lives there)
#   - installs the build dependencies (all Debian 12 packages)
#   - installs OpenZFS (zfs-dkms, zfsutils-linux, libzfslinux-dev), Debian's
#     generic amd64 kernel + headers (so DKMS builds zfs.ko for the QEMU guest
#     when the host itself cannot load it), qemu and busybox for that guest.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

[ "$(id -u)" = 0 ] || { echo "setup-host.sh: run as root" >&2; exit 1; }
grep -q 'bookworm' /etc/os-release || echo "setup-host.sh: warning: not Debian 12 (bookworm); package names may differ" >&2

enable_contrib() {
  local f changed=0
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    if grep -qE '^Components:.*\bmain\b' "$f" && ! grep -qE '^Components:.*\bcontrib\b' "$f"; then
      sed -i -E '/^Components:/{/contrib/!s/$/ contrib/}' "$f"; changed=1
    fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    if grep -qE '^deb .* main' "$f" && ! grep -qE '^deb .* contrib' "$f"; then
      sed -i -E '/^deb /{/contrib/!s/ main( |$)/ main contrib\1/}' "$f"; changed=1
    fi
  done
  return 0
}

build_deps=(
  build-essential cmake pkg-config git
  protobuf-compiler libprotobuf-dev libgrpc++-dev protobuf-compiler-grpc
  libabsl-dev libgtest-dev libgmock-dev libcli11-dev
  libsystemd-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev uuid-dev libblkid-dev
  libsqlite3-dev
  prometheus-cpp-dev python3-prometheus-client help2man adduser systemd
  qemu-utils bubblewrap openssl python3 util-linux psmisc procps
  dmsetup e2fsprogs
  clang libclang-rt-14-dev clang-format
)
zfs_deps=(zfsutils-linux libzfslinux-dev zfs-dkms)
guest_deps=(qemu-system-x86 busybox-static cpio kmod udev iproute2)
# The kernel and headers DKMS builds for. On a host that already runs a
# kernel with ZFS, its own headers are enough; otherwise take Debian's
# generic flavour (not cloud-amd64: the DKMS build would run twice).
kernel_deps=(linux-image-amd64 linux-headers-amd64)

all_installed() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || return 1
  done
  ls /lib/modules/*/updates/dkms/zfs.ko >/dev/null 2>&1
}
if all_installed "${build_deps[@]}" "${guest_deps[@]}" "${kernel_deps[@]}" "${zfs_deps[@]}"; then
  echo "setup-host.sh: everything is installed already"
  exit 0
fi

enable_contrib
apt-get update


apt-get install -y --no-install-recommends "${build_deps[@]}" "${guest_deps[@]}" "${kernel_deps[@]}"
apt-get install -y --no-install-recommends "${zfs_deps[@]}"

# DKMS sometimes defers a build (e.g. headers arrived later): make sure every
# installed kernel with headers has zfs.ko.
if command -v dkms >/dev/null; then dkms autoinstall >/dev/null 2>&1 || true; fi
if ! ls /lib/modules/*/updates/dkms/zfs.ko >/dev/null 2>&1; then
  echo "setup-host.sh: DKMS did not build zfs.ko for any installed kernel" >&2
  exit 1
fi
echo "setup-host.sh: done"
