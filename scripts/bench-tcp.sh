#!/usr/bin/env bash
# TCP through the switch (benchmark, not a test): iperf3 between two
# namespaces with their default offloads, through xdp-vswitchd with veth
# ports on the TC hook, on the XDP hook, and through a Linux bridge, on the
# same veths in one run, alternating; median of RUNS runs of SECS seconds.
# Usage: sudo bash scripts/bench-tcp.sh [RUNS=3] [SECS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}; SECS=${2:-5}
P=xbt$RANDOM
RUN=$(mktemp -d /tmp/$P-XXXX)
export XDP_VSWITCH_RUNDIR=$RUN/run XDP_VSWITCH_DBDIR=$RUN/db XDP_VSWITCH_BPFFS=/sys/fs/bpf/$(basename "$RUN")
NODE=$(command -v node)
cleanup() {
  [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null; wait 2>/dev/null || true
  ip link del ${P}br 2>/dev/null || true
  for h in a b; do ip link del ${P}$h 2>/dev/null || true; ip netns del ${P}$h 2>/dev/null || true; done
  rm -rf "$RUN" "$XDP_VSWITCH_BPFFS"
}
trap cleanup EXIT
i=0
for h in a b; do
  i=$((i + 1)); ip netns add ${P}$h
  ip link add ${P}$h type veth peer name eth0 netns ${P}$h
  ip -n ${P}$h link set lo up; ip -n ${P}$h link set eth0 up
  ip -n ${P}$h addr add 10.98.0.$i/24 dev eth0; ip link set ${P}$h up
done
ip netns exec ${P}b iperf3 -s -D -p 5398 --pidfile $RUN/iperf.pid
"$NODE" dist/src/daemon/main.js --cleanup --log-level WARN & DPID=$!
for _ in $(seq 100); do [ -S $RUN/run/xdp-vswitchd.ctl ] && break; sleep 0.05; done
vsctl() { "$NODE" dist/src/cli/vsctl.js "$@"; }

setup() {  # contender
  vsctl --if-exists del-br br0
  ip link del ${P}br 2>/dev/null || true
  case $1 in
    xvs-tc|xvs-xdp) vsctl add-br br0
      for h in a b; do vsctl add-port br0 ${P}$h -- set Interface ${P}$h options:dp-hook=${1#xvs-}; done ;;
    linux-bridge) ip link add ${P}br type bridge; ip link set ${P}br up
      for h in a b; do ip link set ${P}$h master ${P}br; done ;;
  esac
  ip netns exec ${P}a ping -c 2 -W 2 10.98.0.2 >/dev/null
}
declare -A R
for r in $(seq "$RUNS"); do
  for c in xvs-tc linux-bridge xvs-xdp; do
    setup $c
    g=$(ip netns exec ${P}a iperf3 -c 10.98.0.2 -p 5398 -t "$SECS" -J | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log((j.end.sum_received.bits_per_second/1e9).toFixed(2))})')
    R[$c]="${R[$c]:-} $g"
    [ $c = linux-bridge ] && for h in a b; do ip link set ${P}$h nomaster; done
  done
done
med() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo ${R[linux-bridge]} | med)
echo
echo "TCP, iperf3 -t $SECS, one stream, namespace offloads default; median of $RUNS (all runs); $(uname -r); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| contender | Gbit/s | runs | x Linux bridge |"
echo "|---|---|---|---|"
for c in xvs-tc linux-bridge xvs-xdp; do
  m=$(echo ${R[$c]} | med)
  echo "| $c | $m | ${R[$c]} | $(awk -v a="$m" -v b="$base" 'BEGIN{printf "%.2f", a/b}') |"
done
