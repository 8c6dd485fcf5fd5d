#!/usr/bin/env bash
# fetch-kernel.sh - a Linux 5.10 kernel for the VM test, from Debian bullseye.
#
# Downloads linux-image-5.10.0-*-cloud-amd64-unsigned through a private apt
# configuration (its own sources.list, lists and archive cache under the cache
# dir; the system's apt sources are never read or changed), checks it (apt
# verifies the signed Release and the package hash), and extracts it once:
#
#   $CACHE/kernel/<release>/vmlinuz        the kernel
#   $CACHE/kernel/<release>/config         its config
#   $CACHE/kernel/<release>/lib/modules/<release>/...   its modules + modules.dep
#
# Prints that directory on stdout (last line); progress goes to stderr.
# Cached: a second run does no network access at all.
#
# Env: XDP_VSWITCH_VM_CACHE (default /var/cache/xdp-vswitch/vm)
#      XDP_VSWITCH_VM_KPKG   exact package name (default: the newest 5.10 cloud image in bullseye)
#      XDP_VSWITCH_VM_SUITE  apt line (default: deb http://deb.debian.org/debian bullseye main)
set -euo pipefail

CACHE=${XDP_VSWITCH_VM_CACHE:-/var/cache/xdp-vswitch/vm}
SUITE_LINE=${XDP_VSWITCH_VM_SUITE:-deb http://deb.debian.org/debian bullseye main}
KPKG=${XDP_VSWITCH_VM_KPKG:-}
say() { echo "fetch-kernel: $*" >&2; }
die() { echo "fetch-kernel: ERROR: $*" >&2; exit 1; }
trap 'echo "fetch-kernel: ERROR: line $LINENO failed: $BASH_COMMAND" >&2' ERR

mkdir -p "$CACHE/kernel" "$CACHE/deb"
# One fetch at a time per cache dir (parallel test runs share it).
exec 9>"$CACHE/.fetch.lock"
flock -w 600 9 || die "cannot lock $CACHE/.fetch.lock"

# Cached already? ($CACHE/kernel/current names the extracted release.)
if [ -z "$KPKG" ] && [ -f "$CACHE/kernel/current" ]; then
  KREL=$(cat "$CACHE/kernel/current")
  if [ -f "$CACHE/kernel/$KREL/vmlinuz" ] && [ -f "$CACHE/kernel/$KREL/lib/modules/$KREL/modules.dep" ]; then
    say "cached: $KREL"
    echo "$CACHE/kernel/$KREL"
    exit 0
  fi
fi

command -v apt-get >/dev/null || die "apt-get is needed to download the kernel"
command -v dpkg-deb >/dev/null || die "dpkg-deb is needed to extract the kernel"
command -v depmod >/dev/null || PATH=$PATH:/usr/sbin:/sbin
command -v depmod >/dev/null || die "depmod (kmod) is needed to index the kernel's modules"
APT=$CACHE/apt
mkdir -p "$APT/lists/partial" "$APT/archives/partial" "$APT/etc/preferences.d" "$APT/etc/apt.conf.d"
echo "$SUITE_LINE" > "$APT/sources.list"
APTO=(-o "Dir::Etc::sourcelist=$APT/sources.list" -o "Dir::Etc::sourceparts=/dev/null"
      -o "Dir::Etc::preferences=/dev/null" -o "Dir::Etc::preferencesparts=$APT/etc/preferences.d"
      -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT" -o "Dir::Cache::archives=$APT/archives"
      -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
      -o "APT::Architectures=amd64" -o "APT::Architecture=amd64" -o "Acquire::Languages=none"
      -o "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"
      -o "APT::Sandbox::User=root" -o "Acquire::Retries=3")

if [ -z "$(find "$APT/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null)" ]; then
  say "apt-get update ($SUITE_LINE, private lists in $APT)"
  apt-get "${APTO[@]}" -q update >&2 || die "apt-get update failed for '$SUITE_LINE' (no network?)"
  [ -n "$(find "$APT/lists" -maxdepth 1 -name '*Packages*' -mmin -1440)" ] \
    || die "apt-get update fetched no package list for '$SUITE_LINE' (no network? proxy?)"
fi
if [ -z "$KPKG" ]; then
  KPKG=$(apt-cache "${APTO[@]}" search --names-only '^linux-image-5\.10\.0-[0-9]+-cloud-amd64-unsigned$' \
         | awk '{print $1}' | sort -V | tail -1)
  [ -n "$KPKG" ] || die "no linux-image-5.10.0-*-cloud-amd64-unsigned in '$SUITE_LINE'"
fi
VER=$(apt-cache "${APTO[@]}" show --no-all-versions "$KPKG" 2>/dev/null | awk '/^Version:/ && !v {v = $2} END {print v}')   # no early exit: SIGPIPE + pipefail
[ -n "$VER" ] || die "$KPKG: no such package"
DEB=$CACHE/deb/${KPKG}_${VER//:/%3a}_amd64.deb
if [ ! -s "$DEB" ]; then
  say "downloading $KPKG $VER"
  (cd "$CACHE/deb" && apt-get "${APTO[@]}" -qq download "$KPKG=$VER" >&2) || die "apt-get download $KPKG failed"
fi
[ -s "$DEB" ] || DEB=$(ls "$CACHE/deb/${KPKG}"_*.deb | sort -V | tail -1)

TMP=$(mktemp -d "$CACHE/kernel/.x.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
dpkg-deb -x "$DEB" "$TMP"
VMLINUZ=$(ls "$TMP"/boot/vmlinuz-*)
[ -f "$VMLINUZ" ] || die "$DEB holds no single /boot/vmlinuz-*"
KREL=${VMLINUZ##*/vmlinuz-}
case "$KREL" in 5.10.*) ;; *) die "$DEB holds kernel $KREL, not 5.10";; esac
mv "$VMLINUZ" "$TMP/vmlinuz"
mv "$TMP/boot/config-$KREL" "$TMP/config"
rm -rf "$TMP/boot" "$TMP/usr"
# The package ships no modules.dep (its postinst runs depmod): make it here.
depmod -b "$TMP" "$KREL" || die "depmod failed on $KREL"
[ -f "$TMP/lib/modules/$KREL/modules.dep" ] || die "depmod made no modules.dep"
rm -rf "${CACHE:?}/kernel/$KREL"
mv "$TMP" "$CACHE/kernel/$KREL"
trap - EXIT
echo "$KREL" > "$CACHE/kernel/current.tmp" && mv "$CACHE/kernel/current.tmp" "$CACHE/kernel/current"
say "extracted $KPKG $VER: $KREL"
echo "$CACHE/kernel/$KREL"
