#!/bin/sh
# Loads the 5.10 kernel's openvswitch module (and its dependencies) and lists
# the generic netlink families it registers, with ids, versions, commands and
# multicast groups (iproute2 `genl ctrl list`). Groundwork for dpif-netlink.
#
# Prints "VMTEST genl| ..." (the raw `genl ctrl list` output for the ovs_* families),
# and from genl-families.js "VMTEST genljson| {...}" and
# "VMTEST fact genl.<family>=id:... version:... hdrsize:... maxattr:... ops:... mcgrps:..." lines.
GENL=/usr/sbin/genl
FAILS=0
before=$($GENL ctrl list 2>&1 | awk '/^Name:/{print $2}' | sort)
if modprobe openvswitch; then
  echo "VMTEST ok: modprobe openvswitch"
else
  echo "VMTEST check failed: modprobe openvswitch"; exit 1
fi
echo "VMTEST fact ovs_modules=$(awk '{print $1}' /proc/modules | sort | tr '\n' ',' | sed 's/,$//')"
$GENL ctrl list > /run/genl.txt 2>&1
after=$(awk '/^Name:/{print $2}' /run/genl.txt | sort)
new=$(echo "$after" | grep -vxF "$before" | tr '\n' ' ')
echo "VMTEST fact genl_families_added_by_openvswitch=$new"
# The raw output, one block per ovs family
awk '/^Name:/{on = ($2 ~ /^ovs_/)} on' /run/genl.txt | sed 's/[[:space:]]*$//' | grep -v '^$' | sed 's/^/VMTEST genl| /'
# One JSON and one summary line per family, op flags included (node + the netlink package)
/usr/bin/node /vm/genl-families.js '^ovs_' || { echo "VMTEST check failed: genl family dump (node)"; FAILS=$((FAILS + 1)); }
for f in ovs_datapath ovs_vport ovs_flow ovs_packet; do
  if grep -q "^Name: $f\$" /run/genl.txt; then echo "VMTEST ok: genl family $f"; else echo "VMTEST check failed: genl family $f missing"; FAILS=$((FAILS + 1)); fi
done
[ "$FAILS" = 0 ]
