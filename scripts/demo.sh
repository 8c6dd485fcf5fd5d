#!/usr/bin/env bash
# Sets everything up, then runs xdp-vswitchd on a demo topology: three
# namespaces (xdemo-a/b/c, 10.99.0.1-3) on bridge br0. Shows a first-packet
# ping, TCP through the switch, the megaflows and datapath counters, then
# keeps the switch running until Ctrl-C, and cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (XDP, TC and namespaces need it)" >&2; exit 1; }
bash scripts/setup.sh

RUN=$(mktemp -d /tmp/xdemo-XXXXXX)
export XDP_VSWITCH_RUNDIR=$RUN/run XDP_VSWITCH_DBDIR=$RUN/db XDP_VSWITCH_BPFFS=/sys/fs/bpf/$(basename "$RUN")
NODE=$(command -v node)
vsctl() { "$NODE" dist/src/cli/vsctl.js "$@"; }
appctl() { "$NODE" dist/src/cli/appctl.js "$@"; }
ofctl() { "$NODE" dist/src/cli/ofctl.js "$@"; }
HOSTS=(a b c)

cleanup() {
  [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null || true
  for h in "${HOSTS[@]}"; do ip link del "xdemo-$h" 2>/dev/null || true; ip netns del "xdemo-$h" 2>/dev/null || true; done
  rm -rf "$RUN" "$XDP_VSWITCH_BPFFS"
}
trap cleanup EXIT INT TERM

i=0
for h in "${HOSTS[@]}"; do
  i=$((i + 1))
  ip netns add "xdemo-$h"
  ip link add "xdemo-$h" type veth peer name eth0 netns "xdemo-$h"
  ip -n "xdemo-$h" link set lo up
  ip -n "xdemo-$h" link set eth0 up
  ip -n "xdemo-$h" addr add "10.99.0.$i/24" dev eth0
  ip link set "xdemo-$h" up
done

"$NODE" dist/src/daemon/main.js --cleanup &   # Ctrl-C: the fast path goes with the demo
DPID=$!
for _ in $(seq 100); do [ -S "$RUN/run/xdp-vswitchd.ctl" ] && break; sleep 0.05; done

vsctl add-br br0
for h in "${HOSTS[@]}"; do vsctl add-port br0 "xdemo-$h"; done
vsctl show

echo; echo "== ping -c 1 (first packet of a fresh switch goes up as an upcall and is delivered)"
ip netns exec xdemo-a ping -c 1 -W 2 10.99.0.2
echo; echo "== TCP through the switch, default offloads (iperf3, 3 s)"
ip netns exec xdemo-b iperf3 -s -1 -D -p 5399
sleep 0.3
ip netns exec xdemo-a iperf3 -c 10.99.0.2 -p 5399 -t 3 | tail -4
echo; echo "== xdp-appctl dpctl/dump-flows"
appctl dpctl/dump-flows
echo; echo "== xdp-appctl dpctl/show"
appctl dpctl/show
echo; echo "== xdp-appctl fdb/show br0"
appctl fdb/show br0
echo; echo "== xdp-ofctl dump-flows br0 (OpenFlow 1.3 over the bridge's management socket; datapath counts pushed once a second)"
sleep 1.2
ofctl dump-flows br0
echo
echo "The switch keeps running. In another shell:"
echo "  export XDP_VSWITCH_RUNDIR=$RUN/run"
echo "  ip netns exec xdemo-c ping 10.99.0.1"
echo "  node $PWD/dist/src/cli/appctl.js dpctl/dump-flows"
echo "  node $PWD/dist/src/cli/ofctl.js add-flow br0 'priority=100,icmp,actions=drop'   # or ovs-ofctl after: vsctl set-controller br0 ptcp:6653"
echo "Press Ctrl-C to stop and clean up."
wait "$DPID"
