#!/usr/bin/env bash
# Vagrant provisioner "kernel" (public box, runs as root in the guest):
# installs Debian bullseye's Linux 5.10 kernel (the newest
# linux-image-5.10.0-N-amd64 in bullseye + bullseye-security) on the box's
# Debian bookworm, makes it GRUB's default; Vagrant then reboots the guest.
# bullseye's sources are pinned to priority 1: only the kernel comes from it.
# Nothing to do when the guest already runs 5.10, or with XDP_VSWITCH_KERNEL=box.
set -euo pipefail
if [ "${XDP_VSWITCH_KERNEL:-5.10}" = box ]; then echo "kernel: keeping the box's $(uname -r)"; exit 0; fi
case "$(uname -r)" in 5.10.*) echo "kernel: already $(uname -r)"; exit 0 ;; esac
[ -r /etc/debian_version ] && command -v update-grub >/dev/null \
  || { echo "kernel: this provisioner needs a Debian guest with GRUB (use XDP_VSWITCH_KERNEL=box to skip)" >&2; exit 1; }

cat > /etc/apt/sources.list.d/bullseye-kernel.list <<'EOF'
deb http://deb.debian.org/debian bullseye main
deb http://deb.debian.org/debian-security bullseye-security main
EOF
cat > /etc/apt/preferences.d/bullseye-kernel <<'EOF'
Package: *
Pin: release n=bullseye
Pin-Priority: 1

Package: *
Pin: release n=bullseye-security
Pin-Priority: 1
EOF
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
KPKG=$(apt-cache search --names-only '^linux-image-5\.10\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -1)
[ -n "$KPKG" ] || { echo "kernel: no linux-image-5.10.0-*-amd64 found in bullseye" >&2; exit 1; }
KREL=${KPKG#linux-image-}
echo "kernel: installing $KPKG"
apt-get install -y -qq --no-install-recommends "$KPKG" >/dev/null
update-grub 2>/dev/null
# GRUB entry ids: gnulinux-advanced-UUID > gnulinux-KREL-advanced-UUID
SUB=$(grep -o "gnulinux-advanced-[0-9a-fA-F-]*" /boot/grub/grub.cfg | head -1)
ENT=$(grep -o "gnulinux-$KREL-advanced-[0-9a-fA-F-]*" /boot/grub/grub.cfg | head -1)
[ -n "$SUB" ] && [ -n "$ENT" ] || { echo "kernel: no GRUB entry for $KREL" >&2; exit 1; }
sed -i "s/^GRUB_DEFAULT=.*/GRUB_DEFAULT=\"$SUB>$ENT\"/" /etc/default/grub
update-grub 2>/dev/null
echo "kernel: $KREL is GRUB's default; rebooting"
