#!/usr/bin/env bash
# End to end, offline: the project's test suite on Linux 5.10 in a Vagrant VM
# (libvirt provider, QEMU TCG, the local box), then everything torn down.
#
#   1. host packages (vagrant, vagrant-libvirt, libvirt, qemu, debootstrap) if missing
#   2. virtlogd + libvirtd started by hand if not running (no systemd as PID 1 here)
#   3. the box: built by build-box.sh if its file is missing, `vagrant box add` if not added
#   4. vagrant up --no-provision       (define + boot the domain, rsync the project)
#   5. vagrant provision: deps, build  (kernel/Node check; scripts/setup.sh in the guest)
#   6. vagrant provision: veth         (demo topology through the switch)
#   7. vagrant provision: test         (the suite as root; XDP_VSWITCH_TESTS picks it)
#   8. vagrant destroy; the daemons this script started are stopped (by PID)
# Prints the time of every step and the suite's result; exits non-zero on any failure.
#
# Env: XDP_VSWITCH_WORK   work dir (default /var/tmp/xdp-vswitch-vagrant: box, logs,
#                         VAGRANT_HOME, Vagrant's machine state)
#      XDP_VSWITCH_SRC    tree (default: this checkout as it is) | head (a `git archive HEAD`
#                         snapshot, with this checkout's node_modules)
#      XDP_VSWITCH_TESTS  all (default) | unit | "mocha patterns" (see guest-test.sh)
#      XDP_VSWITCH_MOCHA_ARGS  extra mocha options, e.g. "--timeout 180000"
#      XDP_VSWITCH_SUITE_TIMEOUT  seconds for step 7 (default 5400)
#      XDP_VSWITCH_REBUILD_BOX=1  rebuild and re-add the box first
#      XDP_VSWITCH_PURGE=1        afterwards also remove the box and its libvirt volume
#      XDP_VSWITCH_KEEP=1         leave the VM running (no destroy; daemons kept too)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJ=$(cd "$HERE/../.." && pwd)
WORK=${XDP_VSWITCH_WORK:-/var/tmp/xdp-vswitch-vagrant}
BOX_NAME=${XDP_VSWITCH_BOX_NAME:-xdp-vswitch/bookworm-5.10}
BOX_FILE=${XDP_VSWITCH_BOX_PATH:-$WORK/box/xdp-vswitch-bookworm-5.10.box}
SUITE_TIMEOUT=${XDP_VSWITCH_SUITE_TIMEOUT:-5400}
DOMAIN=xdp-vswitch-default
[ "$(id -u)" -eq 0 ] || { echo "up-and-test: run as root (libvirt system daemons, debootstrap)" >&2; exit 1; }

mkdir -p "$WORK" && chmod 0755 "$WORK"     # QEMU (user libvirt-qemu) reads the box's kernel under it
LOGS=$WORK/logs; rm -rf "$LOGS"; mkdir -p "$LOGS"; chmod 0777 "$LOGS"
export VAGRANT_HOME=${VAGRANT_HOME:-$WORK/vagrant.d}
export VAGRANT_DOTFILE_PATH=$WORK/machine
export VAGRANT_DEFAULT_PROVIDER=libvirt VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_NO_COLOR=1
export XDP_VSWITCH_BOX=local XDP_VSWITCH_BOX_NAME=$BOX_NAME XDP_VSWITCH_CONSOLE_LOG=$LOGS/console.log
export XDP_VSWITCH_TESTS=${XDP_VSWITCH_TESTS:-all}

T0=$(date +%s)
declare -a TIMES=()
now() { date +%s; }
say() { echo "### [$(( $(now) - T0 ))s] $*"; }
timed() { # timed LABEL LOGFILE CMD...: runs CMD, output to the terminal and LOGFILE, records the time
  local label=$1 log=$2 t rc; shift 2
  say "$label"
  t=$(now)
  # (Vagrant's progress meters, \r-rewritten lines, are dropped)
  "$@" 2>&1 | sed -u 's/\x1b\[K//g; s/\r/\n/g' | grep --line-buffered -v '^Progress: ' | tee -a "$log"; rc=${PIPESTATUS[0]}
  TIMES+=("$(printf '%-34s %6ss  %s' "$label" "$(( $(now) - t ))" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED ($rc)")")")
  return "$rc"
}

# ---------------------------------------------------------------- cleanup
box_volumes() { virsh -q -c qemu:///system vol-list default 2>/dev/null | awk '{print $1}' | grep "^${BOX_NAME//\//-VAGRANTSLASH-}_vagrant_box_image_" || true; }
setup_pkgs() { bash -c 'source <(grep -E "^APT_PKGS(\+)?=" "$1"); printf "%s\n" "${APT_PKGS[@]}"' _ "$PROJ/scripts/setup.sh"; }
STARTED_VIRTLOGD='' STARTED_LIBVIRTD='' KVM_RESTORE='' RESULT=1 CLEANED=''
stop_pid() { # stop_pid NAME PID: SIGTERM, wait up to 15 s, then SIGKILL
  local n=$1 p=$2
  kill -0 "$p" 2>/dev/null || return 0
  kill "$p" 2>/dev/null
  for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || { echo "stopped $n (pid $p)"; return 0; }; sleep 0.1; done
  kill -9 "$p" 2>/dev/null; echo "killed $n (pid $p)"
}
cleanup() {
  [ -n "$CLEANED" ] && return; CLEANED=1
  if [ "${XDP_VSWITCH_KEEP:-0}" = 1 ]; then
    say "XDP_VSWITCH_KEEP=1: VM and daemons left running (VAGRANT_HOME=$VAGRANT_HOME VAGRANT_DOTFILE_PATH=$VAGRANT_DOTFILE_PATH)"
  else
    if virsh -q -c qemu:///system dominfo "$DOMAIN" >/dev/null 2>&1; then
      cd "$PROJ" && timed "vagrant destroy" "$LOGS/destroy.log" vagrant destroy -f || true
      # Whatever vagrant left behind (a failed create, an interrupted destroy).
      if virsh -q -c qemu:///system dominfo "$DOMAIN" >/dev/null 2>&1; then
        virsh -q -c qemu:///system destroy "$DOMAIN" >/dev/null 2>&1 || true
        virsh -q -c qemu:///system undefine "$DOMAIN" --nvram >/dev/null 2>&1 || true
        virsh -q -c qemu:///system vol-delete --pool default "$DOMAIN.img" >/dev/null 2>&1 || true
        echo "removed leftover domain $DOMAIN"
      fi
    fi
    if [ "${XDP_VSWITCH_PURGE:-0}" = 1 ]; then
      vagrant box remove -f --all "$BOX_NAME" >/dev/null 2>&1 || true
      for v in $(box_volumes); do
        virsh -q -c qemu:///system vol-delete --pool default "$v" >/dev/null && echo "removed volume $v"
      done
    fi
    [ -n "$STARTED_LIBVIRTD" ] && stop_pid libvirtd "$STARTED_LIBVIRTD"
    [ -n "$STARTED_VIRTLOGD" ] && stop_pid virtlogd "$STARTED_VIRTLOGD"
  fi
  if [ -n "$KVM_RESTORE" ]; then chown "${KVM_RESTORE%% *}" /dev/kvm; chmod "${KVM_RESTORE##* }" /dev/kvm; echo "/dev/kvm: back to ${KVM_RESTORE% *} 0600"; fi
  echo
  echo "=================== xdp-vswitch on Linux 5.10 under Vagrant: summary"
  printf '%s\n' "${TIMES[@]}"
  printf '%-34s %6ss\n' "total" "$(( $(now) - T0 ))"
  [ -s "$LOGS/suite.log" ] && { echo "suite ($XDP_VSWITCH_TESTS):"; grep -E '^\s*(default: )?\s*[0-9]+ (passing|failing|pending)' "$LOGS/suite.log" | sed 's/^ *default: */  /'; }
  echo "logs: $LOGS"
  echo "RESULT: $([ "$RESULT" -eq 0 ] && echo PASS || echo FAIL)"
} 
trap 'cleanup; exit $RESULT' EXIT
trap 'echo "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- 1. host packages
need=()
for p in vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils debootstrap rsync; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
  timed "apt-get install ${#need[@]} host packages" "$LOGS/host-apt.log" \
    bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null' _ "${need[@]}" || exit 1
fi

# ---------------------------------------------------------------- 2. libvirt daemons
if ! pgrep -x virtlogd >/dev/null; then
  virtlogd -d || exit 1
  for _ in $(seq 50); do [ -s /run/virtlogd.pid ] && break; sleep 0.1; done
  STARTED_VIRTLOGD=$(cat /run/virtlogd.pid); say "started virtlogd (pid $STARTED_VIRTLOGD)"
fi
if ! pgrep -x libvirtd >/dev/null; then
  libvirtd -d || exit 1
  for _ in $(seq 100); do [ -s /run/libvirtd.pid ] && break; sleep 0.1; done
  STARTED_LIBVIRTD=$(cat /run/libvirtd.pid); say "started libvirtd (pid $STARTED_LIBVIRTD)"
fi
for _ in $(seq 100); do virsh -q -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done
virsh -q -c qemu:///system version >/dev/null || { echo "up-and-test: libvirtd does not answer" >&2; exit 1; }
# libvirt re-probes QEMU on every call when /dev/kvm is 0600 root (+50 s a call): group kvm, 0660 while we run.
if [ -c /dev/kvm ] && getent group kvm >/dev/null && [ "$(stat -c %a /dev/kvm)" = 600 ]; then
  KVM_RESTORE="$(stat -c %U:%G /dev/kvm) 600"; chgrp kvm /dev/kvm; chmod 0660 /dev/kvm
  say "/dev/kvm: ${KVM_RESTORE% *} 0600 -> root:kvm 0660 for this run"
fi

# ---------------------------------------------------------------- 3. the box
cd "$PROJ" || exit 1
# A box built before scripts/setup.sh asked for more packages would make setup.sh reach for apt in the guest.
if [ -f "$BOX_FILE" ] && ! cmp -s <(setup_pkgs) "$BOX_FILE.pkgs"; then
  say "scripts/setup.sh's packages differ from the box's ($BOX_FILE.pkgs): rebuilding the box"
  XDP_VSWITCH_REBUILD_BOX=1
fi
if [ "${XDP_VSWITCH_REBUILD_BOX:-0}" = 1 ]; then
  rm -f "$BOX_FILE"; vagrant box remove -f --all "$BOX_NAME" >/dev/null 2>&1
  for v in $(box_volumes); do virsh -q -c qemu:///system vol-delete --pool default "$v" >/dev/null && echo "removed old box volume $v"; done
fi
if ! vagrant box list 2>/dev/null | grep -q "^$BOX_NAME "; then
  if [ ! -f "$BOX_FILE" ]; then
    timed "build box (build-box.sh)" "$LOGS/build-box.log" bash "$HERE/build-box.sh" "$BOX_FILE" || exit 1
  fi
  timed "vagrant box add" "$LOGS/box-add.log" vagrant box add --force --name "$BOX_NAME" "$BOX_FILE" || exit 1
fi

# ---------------------------------------------------------------- the source sent to the guest
if [ "${XDP_VSWITCH_SRC:-tree}" = head ]; then
  SNAP=$WORK/src; rm -rf "$SNAP"; mkdir -p "$SNAP"
  git -C "$PROJ" archive HEAD | tar -x -C "$SNAP" || exit 1
  [ -d "$PROJ/node_modules" ] && cp -a "$PROJ/node_modules" "$SNAP/"
  # git archive stamps every file with the commit time, so setup.sh would take the snapshot's
  # package-lock.json for newer than node_modules and run `npm ci` (no registry in the guest).
  # The checkout's node_modules is current for HEAD's lock file when the checkout's lock file
  # is HEAD's and node_modules is newer than it: then say so with the snapshot's mtimes too.
  if git -C "$PROJ" diff --quiet HEAD -- package-lock.json && [ -f "$PROJ/node_modules/.package-lock.json" ] \
     && ! [ "$PROJ/package-lock.json" -nt "$PROJ/node_modules/.package-lock.json" ]; then
    touch -r "$PROJ/package-lock.json" "$SNAP/package-lock.json"
  fi
  export XDP_VSWITCH_SRC_DIR=$SNAP
  say "source: HEAD $(git -C "$PROJ" rev-parse --short HEAD) (snapshot in $SNAP)"
else
  say "source: working tree $PROJ (HEAD $(git -C "$PROJ" rev-parse --short HEAD 2>/dev/null)$(git -C "$PROJ" diff --quiet HEAD 2>/dev/null || echo ', with uncommitted changes'))"
fi
[ -d "${XDP_VSWITCH_SRC_DIR:-$PROJ}/node_modules" ] || { echo "up-and-test: no node_modules to send (the guest has no registry): run 'npm ci' on the host first" >&2; exit 1; }

# ---------------------------------------------------------------- 4-7. up, build, demo, suite
port=2229; while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done
export XDP_VSWITCH_SSH_PORT=$port
if virsh -q -c qemu:///system dominfo "$DOMAIN" >/dev/null 2>&1; then
  echo "up-and-test: domain $DOMAIN exists already (another run?): not touching it" >&2; CLEANED=1; exit 1
fi
timed "vagrant up (boot + rsync)" "$LOGS/up.log" vagrant up --no-provision || exit 1
timed "provision deps + build (setup.sh)" "$LOGS/build.log" vagrant provision --provision-with deps,build || exit 1
timed "provision veth (demo topology)" "$LOGS/veth.log" vagrant provision --provision-with veth || exit 1
timed "provision test ($XDP_VSWITCH_TESTS)" "$LOGS/suite.log" timeout "$SUITE_TIMEOUT" vagrant provision --provision-with test
RESULT=$?
exit "$RESULT"
