#!/bin/bash
# package_test.sh: the Debian package on this host (root, Debian 12): its
# contents and dependencies, then install, upgrade (reinstall), remove and
# purge, checking after each what an operator would check. Run by
# scripts/test.sh after scripts/package.sh; the guest suites start the
# packaged daemon on a real pool (tests/zfs/package_test.cc).
#
#   tests/package/package_test.sh PACKAGE.deb RESULTS_FILE
#
# Writes one line per check to RESULTS_FILE ("ok NAME" or "FAILED NAME:
# why") and prints them; exits 1 if any failed. Refuses to touch a host
# where an mvirt-zfs package is installed already (it would be removed).
set -uo pipefail
deb=${1:?usage: package_test.sh PACKAGE.deb RESULTS_FILE}
out=${2:?usage: package_test.sh PACKAGE.deb RESULTS_FILE}
here=$(cd "$(dirname "$0")/../.." && pwd -P)
: >"$out"
failed=0
check() {  # NAME COMMAND...: records whether COMMAND succeeds
  local name=$1; shift
  local output
  if output=$("$@" 2>&1); then
    echo "ok $name" | tee -a "$out"
  else
    echo "FAILED $name: $(echo "$output" | tail -3 | tr '\n' ' ' | cut -c1-300)" | tee -a "$out"
    failed=1
  fi
}
installed() { dpkg-query -W -f='${Status}' mvirt-zfs 2>/dev/null | grep -q 'install ok installed'; }
known() { dpkg-query -W -f='${Status}' mvirt-zfs 2>/dev/null | grep -q .; }

if known && ! dpkg-query -W -f='${Status}' mvirt-zfs | grep -q 'not-installed'; then
  echo "FAILED host: an mvirt-zfs package is already installed here; not touching it" | tee -a "$out"
  exit 1
fi
version=$(dpkg-deb -f "$deb" Version)

# What is in the package, before installing it.
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')

check contents bash -c '
  for f in ./usr/sbin/mvirt-zfs ./usr/bin/mvirt-zfsctl ./usr/lib/systemd/system/mvirt-zfs.service \
           ./etc/mvirt-zfs/mvirt-zfs.toml ./usr/share/man/man8/mvirt-zfs.8.gz \
           ./usr/share/man/man8/mvirt-zfsctl.8.gz ./usr/share/bash-completion/completions/mvirt-zfsctl \
           ./usr/share/doc/mvirt-zfs/examples/lvm-zvol-filter.conf; do
    grep -qx "$f" <<<"$1" || { echo "missing $f"; exit 1; }
  done' _ "$contents"
depends=$(dpkg-deb -f "$deb" Depends)
check depends_computed_by_shlibdeps bash -c '
  for p in zfsutils-linux qemu-utils bubblewrap libgrpc++1.51 libzfs4linux libprometheus-cpp-pull1.0 libsystemd0 libcurl4; do
    grep -q "$p" <<<"$1" || { echo "Depends lacks $p: $1"; exit 1; }
  done' _ "$depends"
check conffile bash -c 'dpkg-deb -e "$1" /tmp/mvirt-zfs-control.$$ && grep -qx /etc/mvirt-zfs/mvirt-zfs.toml /tmp/mvirt-zfs-control.$$/conffiles; rc=$?; rm -rf /tmp/mvirt-zfs-control.$$; exit $rc' _ "$deb"

# Install.
check install dpkg -i "$deb"
check binaries_run bash -c '[ "$(/usr/sbin/mvirt-zfs --version)" = "$1" ] && /usr/bin/mvirt-zfsctl --version | grep -q "$1"' _ "$version"
check group_mvirt getent group mvirt
check state_dirs bash -c '[ "$(stat -c %a /var/lib/mvirt-zfs)" = 750 ] && [ -d /var/lib/mvirt-zfs/images ]'
# (groff writes "-" as "\-".)
check man_pages bash -c 'zcat /usr/share/man/man8/mvirt-zfs.8.gz | sed "s/\\\\-/-/g" | grep -q -- "--metrics-listen" && zcat /usr/share/man/man8/mvirt-zfsctl.8.gz | sed "s/\\\\-/-/g" | grep -q -- "--endpoint"'
check unit_verifies bash -c 'systemd-analyze verify /usr/lib/systemd/system/mvirt-zfs.service 2>&1 | grep -v "^$" | { ! grep -i "mvirt-zfs.service"; }'
score=$(systemd-analyze security --offline=true /usr/lib/systemd/system/mvirt-zfs.service 2>/dev/null | sed -n 's/.*Overall exposure level for mvirt-zfs.service: *//p')
echo "systemd-analyze security: ${score:-unknown}" | tee -a "$out"
check completion_matches_help bash "$here/tests/package/check_completion.sh" /usr/share/bash-completion/completions/mvirt-zfsctl /usr/bin/mvirt-zfsctl

# Upgrade (the same version again: prerm upgrade, postinst configure with
# the old version): an operator's change to the conffile survives.
echo '# changed by package_test.sh' >>/etc/mvirt-zfs/mvirt-zfs.toml
check upgrade dpkg -i --force-confold "$deb"
check conffile_kept_on_upgrade grep -q 'changed by package_test.sh' /etc/mvirt-zfs/mvirt-zfs.toml

# Remove: the programs go, the config stays.
check remove dpkg -r mvirt-zfs
check removed_programs_gone bash -c '[ ! -e /usr/sbin/mvirt-zfs ] && [ ! -e /usr/bin/mvirt-zfsctl ] && [ ! -e /usr/lib/systemd/system/mvirt-zfs.service ]'
check config_kept_on_remove test -f /etc/mvirt-zfs/mvirt-zfs.toml

# Purge: nothing of the package is left (the group stays for mvirt), nor
# what `systemctl enable` and `systemctl edit` made (played here by hand:
# the test host has no systemd running).
mkdir -p /etc/systemd/system/multi-user.target.wants /etc/systemd/system/mvirt-zfs.service.d
ln -sf /usr/lib/systemd/system/mvirt-zfs.service /etc/systemd/system/multi-user.target.wants/mvirt-zfs.service
echo '[Service]' >/etc/systemd/system/mvirt-zfs.service.d/override.conf
check purge dpkg -P mvirt-zfs
check purge_left_nothing bash -c '
  for p in /etc/mvirt-zfs /var/lib/mvirt-zfs /usr/share/doc/mvirt-zfs /usr/share/man/man8/mvirt-zfs.8.gz \
           /usr/share/bash-completion/completions/mvirt-zfsctl \
           /etc/systemd/system/multi-user.target.wants/mvirt-zfs.service \
           /etc/systemd/system/mvirt-zfs.service.d; do
    [ ! -e "$p" ] && [ ! -L "$p" ] || { echo "left behind: $p"; exit 1; }
  done
  ! dpkg-query -W -f="\${Status}" mvirt-zfs 2>/dev/null | grep -q installed'

exit $failed
