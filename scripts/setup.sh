#!/usr/bin/env bash
# Installs what xdp-vswitch needs on a Debian/Ubuntu host and builds it.
# Idempotent and quick when everything is already there; run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(clang llvm libbpf-dev bpftool iproute2 ethtool iperf3 iputils-ping gcc make linux-libc-dev)
# systemd-analyze verifies the unit file; systemd-notify is not needed (the daemon speaks sd_notify itself).
APT_PKGS+=(systemd)
# Real Open vSwitch peers for the OpenFlow interoperability tests (ovs-ofctl; ovs-vswitchd with its own directories).
APT_PKGS+=(openvswitch-common openvswitch-switch)
# The Linux 5.10 VM test (scripts/vm): QEMU (TCG), a static busybox and cpio for the initramfs, depmod (kmod).
APT_PKGS+=(qemu-system-x86 busybox-static cpio kmod)
# The benchmark suite (npm run bench): trafgen (netsniff-ng) as the packet generator.
APT_PKGS+=(netsniff-ng)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to install: ${missing[*]}" >&2; exit 1; fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  # Installing openvswitch-switch must not start Open vSwitch services on this host:
  # policy-rc.d answers 101 (action forbidden) while we install, unless the host already has one.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  trap 'if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm dependencies (koffi and netlink ship prebuilt binaries: no compiler needed).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

# BPF objects and TypeScript.
make -s -C bpf
npx tsc -p .
