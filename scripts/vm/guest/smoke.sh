#!/bin/sh
# The xdp-vswitch smoke test inside the Linux 5.10 guest (run by /init).
#
#   br0: namespaces a1, a2 on ports with the default hook (veth: TC)
#   br1: namespaces b1, b2, b3 on ports with options:dp-hook=xdp - the path where
#        5.10's missing DEVMAP broadcast matters: floods from XDP ports run in
#        the slow path
# On each: first-packet ping (count 1, first try), a TCP transfer (byte count
# and SHA-256 both ends), megaflows in dpctl/dump-flows with packets. On br1
# also: a broadcast that hits an installed flood megaflow reaches an unlearned
# host through the slow path (the datapath's slow-path counter rises). Then:
# the daemon log says once that DEVMAP broadcast is missing, has no uncaught
# errors, and the daemon is still alive and answering. Then a restart: after
# `xdp-appctl exit` both bridges still forward (fast path pinned in bpffs), the
# next start adopts the megaflows, and `exit --cleanup` removes it all.
#
# Prints "VMTEST fact key=value" lines (run-510.sh and the mocha test read them),
# "VMTEST ok: ..." / "VMTEST check failed: ..." per check; exits 1 on any failure.
IP=/usr/sbin/ip                 # busybox's sh would run its own ip applet otherwise
NODE=/usr/bin/node
XVS=/opt/xdp-vswitch
RUN=/run/xdp-vswitch
DB=/var/lib/xdp-vswitch
LOG=/run/xdp-vswitchd.log
export XDP_VSWITCH_RUNDIR=$RUN XDP_VSWITCH_DBDIR=$DB
TCP_BYTES=8388608
FAILS=0

now() { cut -d' ' -f1 /proc/uptime; }
T0=$(now)
step() { echo "VMTEST step [$(awk -v a="$T0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')s] $*"; }
fact() { echo "VMTEST fact $*"; }
ok() { echo "VMTEST ok: $*"; }
bad() { echo "VMTEST check failed: $*"; FAILS=$((FAILS + 1)); }
vsctl() { /usr/local/bin/xdp-vsctl "$@"; }
appctl() { /usr/local/bin/xdp-appctl "$@"; }
in_ns() { ns=$1; shift; $IP netns exec "$ns" "$@"; }
# A zombie is not alive; read status once (a process exiting between two reads looked alive).
alive() { _st=$(cat /proc/$1/status 2>/dev/null) || return 1; ! echo "$_st" | grep -q '^State:.*Z'; }

# host NS PORT IP MAC: a namespace whose eth0 is a veth; PORT (root namespace) is its switch side
host() {
  $IP netns add "$1"
  in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  $IP link add "$2" type veth peer name eth0 netns "$1"
  in_ns "$1" $IP link set lo up
  in_ns "$1" $IP link set eth0 address "$4" up
  in_ns "$1" $IP addr add "$3/24" dev eth0
  $IP link set "$2" up
}

# ping_first NAME NS DST: one echo request, the first try must be answered
ping_first() {
  if out=$(in_ns "$2" ping -c 1 -W 5 "$3" 2>&1); then
    ok "$1: first-packet ping $2 -> $3"; fact "$1.ping=ok"
  else
    bad "$1: first-packet ping $2 -> $3: $out"; fact "$1.ping=failed"
  fi
}

# tcp NAME SERVER-NS SERVER-IP CLIENT-NS: TCP_BYTES from client to server, count + SHA-256 both ends
tcp() {
  in_ns "$2" $NODE /vm/tcp.js server 5201 > /run/tcp-srv.out 2>/run/tcp-srv.err &
  spid=$!
  for i in $(seq 1 100); do grep -q listening /run/tcp-srv.err 2>/dev/null && break; sleep 0.1; done
  t=$(now)
  sent=$(in_ns "$4" timeout 60 $NODE /vm/tcp.js client "$3" 5201 "$TCP_BYTES" 2>&1)
  wait "$spid"
  got=$(cat /run/tcp-srv.out)
  secs=$(awk -v a="$t" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
  fact "$1.tcp_bytes=${got%% *}"
  fact "$1.tcp_seconds=$secs"
  if [ -n "$got" ] && [ "$sent" = "$got" ] && [ "${got%% *}" = "$TCP_BYTES" ]; then
    ok "$1: TCP $4 -> $2: $TCP_BYTES bytes arrived intact (SHA-256) in ${secs}s"
  else
    bad "$1: TCP $4 -> $2: sent '$sent', received '$got'"
  fi
}

# megaflows NAME BRIDGE: the bridge's megaflows (dpctl/dump-flows BRIDGE, left in $flows), and those with packets
megaflows() {
  flows=$(appctl dpctl/dump-flows "$2" 2>&1)
  echo "$flows" | sed "s/^/VMTEST flows $1| /"
  n=$(echo "$flows" | grep -c "packets:")
  np=$(echo "$flows" | grep -c "packets:[1-9]")
  fact "$1.megaflows=$n"
  fact "$1.megaflows_with_packets=$np"
  if [ "$np" -gt 0 ]; then ok "$1: $n megaflows, $np with packets"; else bad "$1: no megaflow with packets ($n flows)"; fi
}

dpstat() {  # dpstat BRIDGE FIELD: a counter of `dpctl/show` for xdp@BRIDGE (e.g. slow-path)
  appctl dpctl/show | awk -v b="xdp@$1:" -v f="$2:" '
    /^[^ ]/ { on = ($1 == b) } on { for (i = 1; i <= NF; i++) if (index($i, f) == 1) { print substr($i, length(f) + 1); exit } }'
}

step "kernel $(uname -r), $(nproc) cpu(s), node $($NODE -v)"
fact "kernel=$(uname -r)"
for m in veth sch_ingress cls_bpf; do modprobe "$m" || bad "modprobe $m"; done
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

step "start xdp-vswitchd"
$NODE $XVS/dist/src/daemon/main.js --rundir $RUN --dbdir $DB > $LOG 2>&1 &
DPID=$!
for i in $(seq 1 600); do
  [ -S $RUN/xdp-vswitchd.ctl ] && break
  alive $DPID || break
  sleep 0.1
done
if [ -S $RUN/xdp-vswitchd.ctl ]; then
  ok "daemon up (pid $DPID)"; fact "daemon_start_seconds=$(awk -v a="$T0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')"
else
  bad "daemon did not come up"; sed 's/^/VSWITCHD| /' $LOG; exit 1
fi

# Megaflows idle out after other_config:max-idle (10 s); under TCG a few CLI calls
# take that long, so keep them for the test's lifetime.
vsctl set Open_vSwitch . other_config:max-idle=600000 || bad "set other_config:max-idle"

step "br0: a1, a2 on the default hook"
host a1 xa1 10.0.1.1 02:00:00:00:01:01
host a2 xa2 10.0.1.2 02:00:00:00:01:02
vsctl add-br br0 || bad "add-br br0"
vsctl add-port br0 xa1 -- set Interface xa1 ofport_request=1 || bad "add-port br0 xa1"
vsctl add-port br0 xa2 -- set Interface xa2 ofport_request=2 || bad "add-port br0 xa2"
show=$(appctl dpctl/show br0); echo "$show" | sed 's/^/VMTEST dpctl| /'
echo "$show" | grep -q "port 1: xa1 (tc" && echo "$show" | grep -q "port 2: xa2 (tc" \
  && ok "br0: veth ports on the TC hook" || bad "br0: ports not on the TC hook"
step "br0: ping"
ping_first tc a1 10.0.1.2
step "br0: TCP"
tcp tc a2 10.0.1.2 a1
step "br0: flows"
megaflows tc br0

step "br1: b1, b2, b3 on the XDP hook"
host b1 xb1 10.0.2.1 02:00:00:00:02:01
host b2 xb2 10.0.2.2 02:00:00:00:02:02
host b3 xb3 10.0.2.3 02:00:00:00:02:03
vsctl add-br br1 || bad "add-br br1"
for i in 1 2 3; do
  vsctl add-port br1 xb$i -- set Interface xb$i ofport_request=$i options:dp-hook=xdp || bad "add-port br1 xb$i"
done
show=$(appctl dpctl/show br1); echo "$show" | sed 's/^/VMTEST dpctl| /'
[ "$(echo "$show" | grep -c "port [123]: xb[123] (xdp")" = 3 ] && ok "br1: ports on the XDP hook" || bad "br1: ports not on the XDP hook"
step "br1: ping (its ARP request floods to b2 and b3)"
ping_first xdp b1 10.0.2.2
step "br1: TCP"
tcp xdp b2 10.0.2.2 b1
step "br1: flood to an unlearned host through the slow path"
in_ns b3 $IP neigh flush all
slow0=$(dpstat br1 slow-path)
ping_first xdp_flood b1 10.0.2.3
slow1=$(dpstat br1 slow-path)
fact "xdp.slow_path_before=$slow0"
fact "xdp.slow_path_after=$slow1"
if [ -n "$slow0" ] && [ -n "$slow1" ] && [ "$slow1" -gt "$slow0" ]; then
  ok "br1: the flood ran in the slow path (slow-path $slow0 -> $slow1)"
else
  bad "br1: slow-path counter did not rise ($slow0 -> $slow1)"
fi
step "br1: flows"
megaflows xdp br1
flood=$(echo "$flows" | grep "^in_port(1),eth(src=02:00:00:00:02:01,dst=ff:ff:ff:ff:ff:ff)" | head -1)
fact "xdp.flood_flow=$flood"
case "$flood" in
  *actions:2,3*|*actions:3,2*) ok "br1: flood megaflow from b1 outputs to ports 2 and 3";;
  *) bad "br1: no flood megaflow from b1 to ports 2,3";;
esac

# The revalidator reads per-CPU flow_stats, which 5.10 cannot batch-read: counts must still reach
# OpenFlow and idle megaflows must still expire.
step "revalidator on 5.10: counts pushed to OpenFlow, idle megaflows expire"
np=$(/usr/local/bin/xdp-ofctl dump-flows br0 2>&1 | grep -o "n_packets=[0-9]*" | head -1 | cut -d= -f2)
fact "revalidator.of_n_packets=$np"
if [ -n "$np" ] && [ "$np" -gt 0 ]; then ok "br0: datapath counts reached the OpenFlow rule (n_packets=$np)"; else bad "br0: n_packets not pushed ('$np')"; fi
vsctl set Open_vSwitch . other_config:max-idle=2000
left=x
for i in $(seq 1 60); do
  left=$(appctl dpctl/dump-flows br0 2>&1 | grep -c "packets:")
  [ "$left" = 0 ] && break
  sleep 0.5
done
fact "revalidator.br0_megaflows_after_idle=$left"
[ "$left" = 0 ] && ok "br0: idle megaflows expired (max-idle 2000 ms)" || bad "br0: $left megaflows left after max-idle"
vsctl set Open_vSwitch . other_config:max-idle=600000
nrev=$(grep -c "revalidator:" $LOG)
fact "revalidator_warnings=$nrev"
[ "$nrev" = 0 ] || bad "the revalidator logged $nrev warnings"
ping_first revalidator.tc a1 10.0.1.2      # flows back for the restart checks below
ping_first revalidator.xdp b1 10.0.2.2

step "daemon health"
if alive $DPID && appctl version >/dev/null 2>&1; then
  ok "daemon alive and answering"; fact "daemon_alive=yes"
else
  bad "daemon died or does not answer"; fact "daemon_alive=no"
fi
nb=$(grep -c "has no DEVMAP broadcast (5.14+)" $LOG)
fact "devmap_broadcast_log_lines=$nb"
[ "$nb" = 1 ] && ok "the log says once that DEVMAP broadcast is missing" \
  || bad "the log has $nb lines about missing DEVMAP broadcast (want exactly 1)"
nerr=$(grep -ciE "uncaught exception|unhandled rejection" $LOG)
fact "daemon_uncaught_errors=$nerr"
[ "$nerr" = 0 ] || bad "the daemon logged $nerr uncaught exceptions/rejections"
fact "daemon_warn_lines=$(grep -c "|WARN|" $LOG)"
fact "daemon_err_lines=$(grep -c "|ERR|" $LOG)"
fact "bpffs_entries=$(find /sys/fs/bpf -mindepth 1 | wc -l)"
find /sys/fs/bpf -mindepth 1 | head -40 | sed 's/^/VMTEST bpffs| /'

# Restart: `exit` leaves the pinned fast path forwarding; the next start adopts it.
step "restart: xdp-appctl exit, the fast path keeps forwarding"
appctl exit >/dev/null 2>&1
for i in $(seq 1 150); do alive $DPID || break; sleep 0.1; done
if alive $DPID; then bad "the daemon did not exit"; kill -9 $DPID; else fact "daemon_exit=clean"; fi
ping_first restart.down_tc a1 10.0.1.2
ping_first restart.down_xdp b1 10.0.2.2
step "restart: start again, adopt the pinned fast path"
$NODE $XVS/dist/src/daemon/main.js --rundir $RUN --dbdir $DB > $LOG.2 2>&1 &
DPID=$!
for i in $(seq 1 600); do
  { [ -S $RUN/xdp-vswitchd.ctl ] && appctl version >/dev/null 2>&1; } && break
  alive $DPID || break
  sleep 0.2
done
if alive $DPID && appctl version >/dev/null 2>&1; then ok "daemon restarted (pid $DPID)"; else bad "the daemon did not restart"; fi
n=$(appctl dpctl/dump-flows br1 | grep -c "packets:")
fact "restart.adopted_megaflows=$n"
[ "$n" -gt 0 ] && ok "restart: br1 kept $n megaflows" || bad "restart: br1 has no megaflows after the restart"
ping_first restart.up_tc a1 10.0.1.2
ping_first restart.up_xdp b1 10.0.2.2
fact "restart.devmap_broadcast_log_lines=$(grep -c "has no DEVMAP broadcast (5.14+)" $LOG.2)"
nerr=$(grep -ciE "uncaught exception|unhandled rejection" $LOG.2)
fact "restart.daemon_uncaught_errors=$nerr"
[ "$nerr" = 0 ] || bad "the restarted daemon logged $nerr uncaught exceptions/rejections"
fact "restart.daemon_warn_lines=$(grep -c "|WARN|" $LOG.2)"
fact "restart.daemon_err_lines=$(grep -c "|ERR|" $LOG.2)"
step "xdp-appctl exit --cleanup"
appctl exit --cleanup >/dev/null 2>&1
for i in $(seq 1 150); do alive $DPID || break; sleep 0.1; done
if alive $DPID; then bad "the daemon did not exit"; kill -9 $DPID; fi
fact "cleanup.bpffs_entries=$(find /sys/fs/bpf -mindepth 1 | wc -l)"
fact "cleanup.xdp_on_xb1=$($IP -d link show xb1 | grep -c 'prog/xdp')"
step "daemon logs"
sed 's/^/VSWITCHD| /' $LOG
sed 's/^/VSWITCHD2| /' $LOG.2
fact "smoke_seconds=$(awk -v a="$T0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')"
fact "smoke_failures=$FAILS"
[ "$FAILS" = 0 ]
