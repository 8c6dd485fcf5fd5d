#!/usr/bin/env bash
# run-510.sh - the xdp-vswitch smoke test on Linux 5.10, in a QEMU guest.
#
#   1. fetch-kernel.sh: Debian bullseye's 5.10 cloud kernel (cached)
#   2. build-initramfs.sh: busybox + node + the built project + tools + modules
#   3. boots it with qemu-system-x86_64 (TCG by default, no NIC, serial console);
#      the guest's /init runs guest/smoke.sh (two namespaces through br0 on TC,
#      three through br1 on XDP: first-packet ping, TCP, megaflows, the
#      degraded DEVMAP-broadcast path) and guest/ovs-genl.sh (the openvswitch
#      module's generic netlink families), then powers off
#   4. prints the guest's "VMTEST fact" lines and one last line
#      "RESULT: PASS ..." (exit 0) or "RESULT: FAIL ..." (exit 1)
#
# Env:
#   XDP_VSWITCH_VM_CACHE    kernel cache (default /var/cache/xdp-vswitch/vm)
#   XDP_VSWITCH_VM_WORK     where the initramfs and console.log go (default: a new dir under /tmp);
#                           the initramfs is deleted at the end unless XDP_VSWITCH_VM_KEEP=1
#   XDP_VSWITCH_VM_PROJECT  the built tree to test (default: this checkout; needs dist/, bpf/*.o, node_modules)
#   XDP_VSWITCH_VM_TIMEOUT  seconds before the VM is killed (default 300; the guest gives up 20 s earlier)
#   XDP_VSWITCH_VM_ACCEL    tcg (default) | kvm   (kvm only where /dev/kvm is real hardware KVM)
#   XDP_VSWITCH_VM_SMP / _MEM   guest CPUs (default 2) / MiB (default 1536)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TIMEOUT=${XDP_VSWITCH_VM_TIMEOUT:-300}
ACCEL=${XDP_VSWITCH_VM_ACCEL:-tcg}
SMP=${XDP_VSWITCH_VM_SMP:-2}
MEM=${XDP_VSWITCH_VM_MEM:-1536}
T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
step() { echo "### [$(since "$T0")s] $*"; }
fail() { echo "RESULT: FAIL linux-5.10 vm test: $* (after $(since "$T0")s)"; exit 1; }

command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
WORK=${XDP_VSWITCH_VM_WORK:-$(mktemp -d /tmp/xdp-vswitch-vm.XXXXXX)}
mkdir -p "$WORK" || fail "cannot create $WORK"

step "kernel"
KDIR=$(bash "$HERE/fetch-kernel.sh" | tail -1) || fail "could not get the 5.10 kernel"
[ -f "$KDIR/vmlinuz" ] || fail "could not get the 5.10 kernel"
KREL=$(basename "$KDIR")
T_KERNEL=$(since "$T0")

step "initramfs"
INITRD=$WORK/initramfs.cpio
bash "$HERE/build-initramfs.sh" "$KDIR" "$INITRD" || fail "could not build the initramfs"
T_INITRD=$(since "$T0")

case "$ACCEL" in
  kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
  tcg) ACCEL_ARGS=(-accel tcg,thread=multi -cpu max) ;;
  *) fail "XDP_VSWITCH_VM_ACCEL=$ACCEL: want tcg or kvm" ;;
esac
LOG=$WORK/console.log
step "boot $KREL (${ACCEL_ARGS[*]} -smp $SMP -m $MEM), console log $LOG"
T_VM=$(date +%s.%N)
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 "${ACCEL_ARGS[@]}" -smp "$SMP" -m "$MEM" \
  -nographic -no-reboot -nic none -kernel "$KDIR/vmlinuz" -initrd "$INITRD" \
  -append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init xvs.timeout=$((TIMEOUT - 20))" \
  </dev/null 2>&1 | tr -d '\r' | tee "$LOG" | grep --line-buffered -E '^VMTEST (step|ok|check failed|RESULT)'
QRC=${PIPESTATUS[0]}
VM_SECS=$(since "$T_VM")
[ "${XDP_VSWITCH_VM_KEEP:-0}" = 1 ] || rm -f "$INITRD"

echo "### qemu exit $QRC; kernel ready at ${T_KERNEL}s, initramfs at ${T_INITRD}s, VM ran ${VM_SECS}s, total $(since "$T0")s"
grep -E '^VMTEST (fact|genl\||genljson\|)' "$LOG"
echo "VMTEST fact vm_seconds=$VM_SECS"
echo "VMTEST fact total_seconds=$(since "$T0")"
if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
  grep -E '^VSWITCHD2?\| ' "$LOG" | tail -60
  fail "the VM did not finish within ${TIMEOUT}s (console log $LOG)"
fi
if grep -q '^VMTEST RESULT: PASS$' "$LOG"; then
  echo "RESULT: PASS linux-5.10 vm test ($KREL, VM ${VM_SECS}s, total $(since "$T0")s)"
  exit 0
fi
grep -E '^VSWITCHD2?\| ' "$LOG" | tail -80
grep -E '^VMTEST (check failed|RESULT)' "$LOG"
grep -qE '^VMTEST ' "$LOG" || tail -40 "$LOG"
fail "$(grep -cE '^VMTEST check failed' "$LOG") check(s) failed in the guest (console log $LOG)"
