#!/usr/bin/env bash
# Vagrant provisioner "veth" (runs as root in the guest, after the build):
# a demo topology on veth pairs. Two namespaces xvg-a/xvg-b (10.98.0.1/.2)
# are joined by veth pairs to bridge br0 of a private xdp-vswitchd; port
# xvg-a uses the TC hook, port xvg-b native XDP on the veth. Pings both ways
# (the first packet goes up as an upcall, the rest stay in the kernel),
# prints the megaflows and datapath counters, checks the hits, cleans up.
# Usage: guest-veth-demo.sh [PROJECT_DIR]   (default: the checkout it is in)
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"
[ "$(id -u)" -eq 0 ] || { echo "veth: run as root" >&2; exit 1; }
[ -f dist/src/daemon/main.js ] || { echo "veth: not built (run scripts/setup.sh first)" >&2; exit 1; }

RUN=$(mktemp -d /tmp/xvg-XXXXXX)
XDP_VSWITCH_BPFFS=/sys/fs/bpf/${RUN##*/}   # pinned fast path, where the daemon pins one
export XDP_VSWITCH_RUNDIR=$RUN/run XDP_VSWITCH_DBDIR=$RUN/db XDP_VSWITCH_BPFFS
NODE=$(command -v node)
vsctl() { "$NODE" dist/src/cli/vsctl.js "$@"; }
appctl() { "$NODE" dist/src/cli/appctl.js "$@"; }
HOSTS=(a b)
DPID=
cleanup() {
  if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true; fi
  for h in "${HOSTS[@]}"; do ip link del "xvg-$h" 2>/dev/null || true; ip netns del "xvg-$h" 2>/dev/null || true; done
  rm -rf "$RUN" "$XDP_VSWITCH_BPFFS"
}
trap cleanup EXIT INT TERM
fail() {
  echo "veth: FAIL: $*" >&2
  echo "--- daemon log:" >&2; tail -40 "$RUN/daemon.log" >&2 || true
  exit 1
}

i=0
for h in "${HOSTS[@]}"; do
  i=$((i + 1))
  ip netns add "xvg-$h"
  ip link add "xvg-$h" type veth peer name eth0 netns "xvg-$h"
  ip -n "xvg-$h" link set lo up
  ip -n "xvg-$h" addr add "10.98.0.$i/24" dev eth0
  ip -n "xvg-$h" link set eth0 up
  ip link set "xvg-$h" up
done
echo "veth: namespaces and veth pairs:"; ip -br link show type veth

"$NODE" dist/src/daemon/main.js > "$RUN/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 600); do [ -S "$RUN/run/xdp-vswitchd.ctl" ] && break; kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
[ -S "$RUN/run/xdp-vswitchd.ctl" ] || fail "xdp-vswitchd did not come up"

vsctl add-br br0
vsctl add-port br0 xvg-a -- set Interface xvg-a options:dp-hook=tc
vsctl add-port br0 xvg-b -- set Interface xvg-b options:dp-hook=xdp
vsctl show

echo; echo "== ping a -> b, b -> a (first packet: upcall; then the kernel alone)"
ip netns exec xvg-a ping -c 5 -i 0.2 -W 3 10.98.0.2 || fail "ping a -> b"
ip netns exec xvg-b ping -c 5 -i 0.2 -W 3 10.98.0.1 || fail "ping b -> a"
echo; echo "== xdp-appctl dpctl/dump-flows"; appctl dpctl/dump-flows
echo; echo "== xdp-appctl dpctl/show"; SHOW=$(appctl dpctl/show); echo "$SHOW"
HIT=$(sed -n 's/.*lookups: hit:\([0-9]*\).*/\1/p' <<<"$SHOW" | head -1)
[ "${HIT:-0}" -gt 0 ] || fail "no packet was forwarded in the kernel (lookups hit: ${HIT:-?})"
echo; echo "veth: ok on $(uname -r): 5 pings each way through br0 (TC port + XDP port), $HIT datapath hits"
