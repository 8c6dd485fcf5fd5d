#!/usr/bin/env bash
# Builds the offline Vagrant box for xdp-vswitch (libvirt provider): a Debian
# bookworm userland running Debian bullseye's Linux 5.10 kernel, booted
# directly (kernel + initrd shipped in the box, root on /dev/vda, no
# bootloader), with everything `npm test` needs already installed, so the
# guest never needs the network:
#   - the apt packages of scripts/setup.sh (clang, llvm, libbpf-dev, bpftool,
#     iproute2, ethtool, iperf3, iputils-ping, gcc, make, linux-libc-dev,
#     openvswitch-common, openvswitch-switch), from bookworm;
#   - linux-image-5.10.0-N-amd64 (newest in bullseye + bullseye-security), its
#     modules (veth, openvswitch, sch_*/cls_bpf, ...) and an initramfs;
#   - the host's Node (20+) and npm, copied in (bookworm has only Node 18);
#   - what Vagrant needs: openssh-server, sudo, rsync, user vagrant with the
#     insecure public key, DHCP on the NIC (systemd-networkd).
#
# Why bookworm and not bullseye as the userland: the daemon loads libbpf.so.1
# (libbpf >= 1.0; bullseye has libbpf 0.3 only) and the ofctl-vs-ovs test
# compares our output with Open vSwitch 3.1's ovs-ofctl (bullseye has 2.15).
# The kernel is what makes the VM "Linux 5.10", and it is bullseye's own.
#
# Steps: debootstrap bookworm (minimal) -> chroot apt-get install (services
# kept from starting by policy-rc.d) -> kernel from bullseye -> node -> user,
# ssh, network -> mke2fs -d (ext4 image, no loop mount) -> qcow2 -> box tar.
#
# Usage (root): bash scripts/vagrant/build-box.sh [OUT.box]
# Env: XDP_VSWITCH_WORK (default /var/tmp/xdp-vswitch-vagrant): work + cache dir
#      DEBIAN_MIRROR (default http://deb.debian.org/debian)
#      BOX_DISK_GB (default 8): virtual size of the guest's disk
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${XDP_VSWITCH_WORK:-/var/tmp/xdp-vswitch-vagrant}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SEC_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
DISK_GB=${BOX_DISK_GB:-8}
OUT=${1:-$WORK/box/xdp-vswitch-bookworm-5.10.box}

[ "$(id -u)" -eq 0 ] || { echo "build-box: run as root (debootstrap, chroot)" >&2; exit 1; }
T0=$(date +%s)
ts() { echo "### [$(( $(date +%s) - T0 ))s] $*"; }

# The packages scripts/setup.sh installs (kept in one place: parsed from it).
mapfile -t SETUP_PKGS < <(bash -c 'source <(grep -E "^APT_PKGS(\+)?=" "$1"); printf "%s\n" "${APT_PKGS[@]}"' _ "$HERE/../setup.sh")
[ "${#SETUP_PKGS[@]}" -ge 10 ] || { echo "build-box: could not read APT_PKGS from scripts/setup.sh" >&2; exit 1; }
GUEST_PKGS=(systemd-sysv udev kmod initramfs-tools openssh-server sudo rsync ca-certificates procps psmisc less
            iproute2 "${SETUP_PKGS[@]}")

# Host tools.
need=()
for p in debootstrap qemu-utils e2fsprogs; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if ((${#need[@]})); then
  ts "installing host tools: ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NODE_BIN=$(readlink -f "$(command -v node)" 2>/dev/null || true)
[ -x "$NODE_BIN" ] || { echo "build-box: no node on this host (the box gets the host's Node 20)" >&2; exit 1; }
NODE_MAJOR=$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || { echo "build-box: host node is v$NODE_MAJOR, need >= 20" >&2; exit 1; }
NPM_DIR=$(readlink -f "$(dirname "$NODE_BIN")/../lib/node_modules/npm")
[ -f "$NPM_DIR/bin/npm-cli.js" ] || { echo "build-box: npm not found next to $NODE_BIN" >&2; exit 1; }

B=$WORK/build
ROOT=$B/rootfs
MOUNTS=()
cleanup() {
  local i
  for ((i=${#MOUNTS[@]}-1; i>=0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
  MOUNTS=()
}
trap cleanup EXIT INT TERM
mnt() { mount "$@"; MOUNTS+=("${@: -1}"); }

rm -rf "$B"; mkdir -p "$B" "$(dirname "$OUT")" "$WORK/debcache"

ts "debootstrap bookworm (minbase) into $ROOT"
# --cache-dir keeps the .debs between builds (a rebuild downloads nothing new).
debootstrap --variant=minbase --cache-dir="$WORK/debcache" bookworm "$ROOT" "$MIRROR" > "$B/debootstrap.log" 2>&1 \
  || { tail -20 "$B/debootstrap.log"; exit 1; }

mnt -t proc proc "$ROOT/proc"
mnt -t sysfs sysfs "$ROOT/sys"
mnt --bind /dev "$ROOT/dev"
mnt -t devpts devpts "$ROOT/dev/pts" -o newinstance,ptmxmode=0666
mnt -t tmpfs tmpfs "$ROOT/run"
# No service may start inside the chroot (sshd, ovsdb-server, ...): they would run on this host.
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"; chmod +x "$ROOT/usr/sbin/policy-rc.d"
cat > "$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SEC_MIRROR bookworm-security main
EOF
# Bullseye only for the kernel, pinned so that nothing else ever comes from it.
cat > "$ROOT/etc/apt/sources.list.d/bullseye-kernel.list" <<EOF
deb $MIRROR bullseye main
deb $SEC_MIRROR bullseye-security main
EOF
cat > "$ROOT/etc/apt/preferences.d/bullseye-kernel" <<'EOF'
Package: *
Pin: release n=bullseye
Pin-Priority: 1

Package: *
Pin: release n=bullseye-security
Pin-Priority: 1
EOF
# Reuse downloaded .debs across builds.
mkdir -p "$ROOT/var/cache/apt/archives"
mnt --bind "$WORK/debcache" "$ROOT/var/cache/apt/archives"
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }

ts "apt-get install (${#GUEST_PKGS[@]} packages: ${SETUP_PKGS[*]} + system)"
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends "${GUEST_PKGS[@]}" > "$B/apt.log" 2>&1 \
  || { tail -30 "$B/apt.log"; exit 1; }

KPKG=$(in_root apt-cache search --names-only '^linux-image-5\.10\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -1)
[ -n "$KPKG" ] || { echo "build-box: no linux-image-5.10.0-*-amd64 in bullseye" >&2; exit 1; }
ts "kernel: $KPKG (bullseye) + initramfs"
# initramfs (MODULES=most, the default): root is on virtio-blk, no bootloader.
printf 'virtio_pci\nvirtio_blk\nvirtio_net\next4\n' >> "$ROOT/etc/initramfs-tools/modules"
in_root apt-get install -y -qq --no-install-recommends "$KPKG" >> "$B/apt.log" 2>&1 \
  || { tail -30 "$B/apt.log"; exit 1; }
KREL=${KPKG#linux-image-}
[ -f "$ROOT/boot/vmlinuz-$KREL" ] && [ -f "$ROOT/boot/initrd.img-$KREL" ] \
  || { echo "build-box: kernel or initrd missing in /boot" >&2; ls -l "$ROOT/boot"; exit 1; }
grep -E '^CONFIG_(BPF_SYSCALL|DEBUG_INFO_BTF|VETH|NET_CLS_BPF|NET_SCH_INGRESS|OPENVSWITCH)=' "$ROOT/boot/config-$KREL" | tr '\n' ' '; echo

ts "node $("$NODE_BIN" -v) + npm from the host ($NODE_BIN, $NPM_DIR)"
install -D -m 0755 "$NODE_BIN" "$ROOT/usr/local/bin/node"
mkdir -p "$ROOT/usr/local/lib/node_modules"
cp -a "$NPM_DIR" "$ROOT/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"
in_root node -e 'console.log("node", process.version, "runs in the box userland")'
in_root npm -v >/dev/null

ts "system: user vagrant, sshd, network, fstab"
in_root useradd -m -s /bin/bash -U vagrant
echo 'vagrant:vagrant' | in_root chpasswd
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > "$ROOT/etc/sudoers.d/vagrant"; chmod 0440 "$ROOT/etc/sudoers.d/vagrant"
# Vagrant's well-known insecure key (replaced by a fresh one on the first `vagrant up`).
VPUB=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub /opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant.pub 2>/dev/null | head -1 || true)
install -d -m 0700 -o 1000 -g 1000 "$ROOT/home/vagrant/.ssh"
if [ -n "$VPUB" ]; then cp "$VPUB" "$ROOT/home/vagrant/.ssh/authorized_keys"
else echo 'ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key' > "$ROOT/home/vagrant/.ssh/authorized_keys"; fi
chmod 0600 "$ROOT/home/vagrant/.ssh/authorized_keys"; chown -R 1000:1000 "$ROOT/home/vagrant/.ssh"
printf 'UseDNS no\n' > "$ROOT/etc/ssh/sshd_config.d/vagrant.conf"
echo xdp-vswitch-510 > "$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\txdp-vswitch-510\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$ROOT/etc/hosts"
printf '/dev/vda\t/\text4\terrors=remount-ro\t0\t1\n' > "$ROOT/etc/fstab"
cat > "$ROOT/etc/systemd/network/80-dhcp.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
EOF
in_root systemctl enable systemd-networkd ssh >/dev/null 2>&1
# Open vSwitch services stay off in the guest: the tests start their own ovsdb-server/ovs-vswitchd.
in_root systemctl disable openvswitch-switch ovsdb-server ovs-vswitchd >/dev/null 2>&1 || true
in_root systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1 || true
: > "$ROOT/etc/machine-id"   # a fresh one on first boot

# Kernel and initrd go beside the disk image in the box (direct kernel boot).
cp "$ROOT/boot/vmlinuz-$KREL" "$B/vmlinuz"
cp "$ROOT/boot/initrd.img-$KREL" "$B/initrd.img"
rm -f "$ROOT/usr/sbin/policy-rc.d" "$ROOT/etc/apt/sources.list.d/bullseye-kernel.list" "$ROOT/etc/apt/preferences.d/bullseye-kernel"
rm -rf "$ROOT/var/lib/apt/lists/"*
cleanup
rm -f "$ROOT/var/cache/apt/archives/"*.deb 2>/dev/null || true   # the bind mount is gone: only stray files

ts "ext4 image (mke2fs -d, ${DISK_GB}G sparse) -> qcow2"
mke2fs -q -t ext4 -L root -d "$ROOT" -F "$B/root.ext4" "${DISK_GB}G"
qemu-img convert -O qcow2 "$B/root.ext4" "$B/box.img"
rm -f "$B/root.ext4"

cat > "$B/metadata.json" <<EOF
{"provider": "libvirt", "format": "qcow2", "virtual_size": $DISK_GB}
EOF
cat > "$B/Vagrantfile" <<EOF
# Box: xdp-vswitch offline test box (Debian bookworm userland, $KREL from bullseye,
# node $("$NODE_BIN" -v)). Built by scripts/vagrant/build-box.sh on $(date -u +%F).
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |lv|
    lv.kernel = File.expand_path("vmlinuz", __dir__)
    lv.initrd = File.expand_path("initrd.img", __dir__)
    lv.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet"
  end
end
EOF
ts "box tar -> $OUT"
tar -C "$B" -cf "$OUT.tmp" metadata.json Vagrantfile box.img vmlinuz initrd.img
mv "$OUT.tmp" "$OUT"
echo "$KREL" > "$OUT.kernel"
# What setup.sh asked for when this box was built: up-and-test.sh rebuilds the box when it changes.
printf '%s\n' "${SETUP_PKGS[@]}" > "$OUT.pkgs"
rm -rf "$ROOT" "$B/box.img"
ts "done: $(du -h "$OUT" | cut -f1) $OUT (kernel $KREL)"
