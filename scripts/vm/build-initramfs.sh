#!/usr/bin/env bash
# build-initramfs.sh KERNEL_DIR OUT.cpio - the guest for the Linux 5.10 VM test.
#
# KERNEL_DIR is what fetch-kernel.sh printed. The initramfs (uncompressed
# newc cpio: under TCG the kernel unpacks it faster than it would gunzip it)
# carries:
#   /init, /vm/*            scripts/vm/guest/ (init, the smoke test, helpers)
#   busybox (static)        the shell and the small tools (mount, ping, nsenter, modprobe, ...)
#   node + libs             the host's node binary (the daemon is tested with the host's Node 20)
#   ip, tc, ethtool, genl, bpftool   from the host's iproute2/ethtool/bpftool, with their libs (ldd)
#   libbpf.so.1 + libs      what src/bpf loads through koffi
#   /opt/xdp-vswitch        package.json, dist/src, bpf/*.bpf.o, node_modules (production deps only,
#                           koffi's and netlink's native binaries included)
#   /lib/modules/<rel>      veth, sch_ingress (clsact), cls_bpf, openvswitch and their dependencies,
#                           indexed by depmod so the guest's modprobe (and kernel autoload) finds them
# Env: XDP_VSWITCH_VM_NODE     node binary to carry (default: node on PATH)
#      XDP_VSWITCH_VM_PROJECT  the built tree to carry (default: this checkout)
set -euo pipefail

KDIR=${1:?usage: build-initramfs.sh KERNEL_DIR OUT.cpio}
OUT=${2:?usage: build-initramfs.sh KERNEL_DIR OUT.cpio}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "${XDP_VSWITCH_VM_PROJECT:-$HERE/../..}" && pwd)
say() { echo "build-initramfs: $*" >&2; }
die() { echo "build-initramfs: ERROR: $*" >&2; exit 1; }
trap 'echo "build-initramfs: ERROR: line $LINENO failed: $BASH_COMMAND" >&2' ERR
PATH=$PATH:/usr/sbin:/sbin

KREL=$(basename "$(ls -d "$KDIR"/lib/modules/5.10.*)")
[ -f "$KDIR/vmlinuz" ] && [ -n "$KREL" ] || die "$KDIR is not a kernel dir from fetch-kernel.sh"
for f in dist/src/daemon/main.js dist/src/cli/vsctl.js dist/src/cli/appctl.js bpf/datapath-510.bpf.o bpf/peer_pass.bpf.o; do
  [ -f "$ROOT/$f" ] || die "$ROOT/$f is missing: run 'bash scripts/setup.sh' first"
done
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] && [[ "$(ldd "$BUSYBOX" 2>&1)" == *"not a dynamic"* ]] || die "a static /bin/busybox is needed (apt-get install busybox-static)"
NODE=${XDP_VSWITCH_VM_NODE:-$(command -v node || true)}
[ -x "$NODE" ] || die "node not found"
command -v cpio >/dev/null || die "cpio is needed"

OUTDIR=$(cd "$(dirname "$OUT")" && pwd)
R=$(mktemp -d "$OUTDIR/.initramfs.XXXXXX")
trap 'rm -rf "$R"' EXIT
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib64,lib/x86_64-linux-gnu,proc,sys,dev,run,tmp,etc,root,var/lib,opt,vm}
ln -s ../run "$R/var/run"

# --- busybox: every applet, except where a real tool is carried below
cp "$BUSYBOX" "$R/bin/busybox"
REAL_TOOLS=" ip tc ethtool genl bpftool node "
for a in $("$R/bin/busybox" --list); do
  case "$REAL_TOOLS" in *" $a "*) continue;; esac
  [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done

# --- ELF files with their shared libraries (ldd), each copied once
declare -A DONE=()
copy_libs() {
  local lib
  for lib in $(ldd "$1" 2>/dev/null | awk '/=> \//{print $3} /^[[:space:]]*\/lib/{print $1}'); do
    [ -n "${DONE[$lib]:-}" ] && continue
    DONE[$lib]=1
    mkdir -p "$R$(dirname "$lib")"
    cp -L "$lib" "$R$lib"
  done
}
copy_bin() {  # copy_bin HOST-PATH GUEST-PATH
  local src
  src=$(readlink -f "$1") || die "$1 not found"
  [ -f "$src" ] || die "$1 not found"
  mkdir -p "$R$(dirname "$2")"
  cp "$src" "$R$2"
  copy_libs "$src"
}
need() { command -v "$1" || die "$1 not found on the host (apt-get install $2)"; }
copy_bin "$NODE" /usr/bin/node
copy_bin "$(need ip iproute2)" /usr/sbin/ip
copy_bin "$(need tc iproute2)" /usr/sbin/tc
copy_bin "$(need genl iproute2)" /usr/sbin/genl
copy_bin "$(need ethtool ethtool)" /usr/sbin/ethtool
copy_bin "$(need bpftool bpftool)" /usr/sbin/bpftool
LIBBPF=$(ldconfig -p | awk '/libbpf\.so\.1 .*x86-64/ && !l {l = $NF} END {print l}')   # no early exit: SIGPIPE + pipefail
[ -n "$LIBBPF" ] || die "libbpf.so.1 not found (apt-get install libbpf1)"
copy_bin "$LIBBPF" /usr/lib/x86_64-linux-gnu/libbpf.so.1
# iproute2 reads these tables; without them it prints warnings
[ -d /usr/share/iproute2 ] && mkdir -p "$R/usr/share" && cp -r /usr/share/iproute2 "$R/usr/share/"
[ -d /etc/iproute2 ] && cp -r /etc/iproute2 "$R/etc/"

# --- the project (production dependencies only)
P=$R/opt/xdp-vswitch
mkdir -p "$P/dist" "$P/bpf" "$P/node_modules"
cp "$ROOT/package.json" "$P/"
cp -r "$ROOT/dist/src" "$P/dist/src"
find "$P/dist" -name '*.map' -delete
cp "$ROOT"/bpf/*.bpf.o "$P/bpf/"
DEPS=$(cd "$ROOT" && node -e '
  // the production dependency closure, resolved as node would (nested copies included)
  const fs = require("fs"), path = require("path");
  const seen = new Set();
  function walk(dir) {
    const pj = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    for (const d of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies })) {
      let base = dir, found;
      for (;;) {
        const c = path.join(base, "node_modules", d);
        if (fs.existsSync(path.join(c, "package.json"))) { found = c; break; }
        const up = path.dirname(base);
        if (up === base) break;
        base = up;
      }
      if (!found) { if (!(pj.optionalDependencies || {})[d]) throw new Error("missing dependency " + d + " of " + dir); continue; }
      if (seen.has(found)) continue;
      seen.add(found);
      walk(found);
    }
  }
  walk(process.cwd());
  for (const d of seen) console.log(path.relative(process.cwd(), d));')
for d in $DEPS; do
  case "$d" in node_modules/*) ;; *) die "dependency outside node_modules: $d";; esac
  mkdir -p "$P/$(dirname "$d")"
  cp -r "$ROOT/$d" "$P/$d"
done
for so in $(find "$P/node_modules" -name '*.node' -path '*linux*x64*' ! -path '*musl*'); do copy_libs "$so"; done
for c in vswitchd:daemon/main vsctl:cli/vsctl appctl:cli/appctl ofctl:cli/ofctl; do
  printf '#!/bin/sh\nexec /usr/bin/node /opt/xdp-vswitch/dist/src/%s.js "$@"\n' "${c#*:}" > "$R/usr/local/bin/xdp-${c%%:*}"
  chmod +x "$R/usr/local/bin/xdp-${c%%:*}"
done

# --- kernel modules: the closure of what the switch and the OVS check load
MODS="veth sch_ingress cls_bpf openvswitch"
MSRC=$KDIR/lib/modules/$KREL
MDST=$R/lib/modules/$KREL
mkdir -p "$MDST"
for m in $MODS; do
  line=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$MSRC/modules.dep") || die "module $m not in $KREL"
  for f in ${line%%:*} ${line#*:}; do
    mkdir -p "$MDST/$(dirname "$f")"
    cp "$MSRC/$f" "$MDST/$f"
  done
done
cp "$MSRC"/modules.order "$MSRC"/modules.builtin "$MSRC"/modules.builtin.modinfo "$MDST/" 2>/dev/null || true
depmod -b "$R" "$KREL" || die "depmod on the initramfs modules failed"

# --- guest scripts and a minimal /etc
cp "$HERE"/guest/* "$R/vm/"
mv "$R/vm/init" "$R/init"
chmod +x "$R/init" "$R"/vm/*.sh
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
echo 'root:x:0:' > "$R/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$R/etc/hosts"
echo "$KREL" > "$R/etc/xvs-kernel-release"

(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
say "$OUT: $(du -h "$OUT" | cut -f1) ($KREL modules: $(find "$MDST" -name '*.ko*' | wc -l); node $("$NODE" -v))"
