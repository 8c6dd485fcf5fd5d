#!/usr/bin/env bash
# Vagrant provisioner "deps" (runs as root in the guest): checks that the
# guest runs Linux 5.x (5.10 unless XDP_VSWITCH_KERNEL=box) and has Node 20.
# Where Node is missing or older than 20 (the public box), installs the
# newest Node 20 tarball from nodejs.org into /usr/local, checksum-verified.
# The apt packages are scripts/setup.sh's business (the "build" step); the
# local box has all of them and Node already, so nothing here needs a network.
set -euo pipefail
KREL=$(uname -r)
echo "deps: kernel $KREL; $(. /etc/os-release; echo "$PRETTY_NAME") userland; $(nproc) cpus; $(awk '/MemTotal/{printf "%d MiB", $2/1024}' /proc/meminfo)"
case "${XDP_VSWITCH_KERNEL:-5.10}" in
  box) case "$KREL" in [5-9].*) ;; *) echo "deps: kernel $KREL is older than 5.x" >&2; exit 1 ;; esac ;;
  *) case "$KREL" in 5.10.*) ;; *) echo "deps: expected Linux 5.10, running $KREL" >&2; exit 1 ;; esac ;;
esac
[ -e /sys/kernel/btf/vmlinux ] || { echo "deps: kernel $KREL has no BTF (/sys/kernel/btf/vmlinux)" >&2; exit 1; }

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ]; then
  echo "deps: installing Node 20 from nodejs.org"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends curl ca-certificates xz-utils >/dev/null
  base=https://nodejs.org/dist/latest-v20.x
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  curl -fsSL "$base/SHASUMS256.txt" -o "$tmp/SHASUMS256.txt"
  f=$(awk '$2 ~ /^node-v20\.[0-9.]+-linux-x64\.tar\.xz$/ {print $2}' "$tmp/SHASUMS256.txt" | head -1)
  [ -n "$f" ] || { echo "deps: no linux-x64 tarball listed in $base/SHASUMS256.txt" >&2; exit 1; }
  curl -fsSL "$base/$f" -o "$tmp/$f"
  (cd "$tmp" && grep " $f\$" SHASUMS256.txt | sha256sum -c --quiet)
  tar -C /usr/local --strip-components=1 --no-same-owner -xJf "$tmp/$f"
  hash -r
fi
[ "$(node_major)" -ge 20 ] || { echo "deps: node $(node -v 2>&1) is older than 20" >&2; exit 1; }
echo "deps: node $(node -v), npm $(npm -v)"
