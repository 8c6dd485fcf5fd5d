// Dumps the generic netlink families (CTRL_CMD_GETFAMILY with NLM_F_DUMP) through
// the `netlink` package the daemon already uses, and prints one JSON line per
// family whose name matches argv[2] (a regex, default ^ovs_): id, version,
// hdrsize, maxattr, every op with its CTRL_ATTR_OP_FLAGS, the multicast groups, as
//   VMTEST genljson| {...}
//   VMTEST fact genl.<name>=id:0x.. version:N hdrsize:N maxattr:N ops:CMD(caps),... mcgrps:name=id,...
// OVS command numbers are named after include/uapi/linux/openvswitch.h.
// (iproute2's `genl ctrl list` prints op flags only for families of version >= 2.)
'use strict';
const nl = require(process.env.XVS_NETLINK || '/opt/xdp-vswitch/node_modules/netlink');
const re = new RegExp(process.argv[2] || '^ovs_');
const OVS_CMDS = {
  ovs_datapath: ['', 'NEW', 'DEL', 'GET', 'SET'], ovs_vport: ['', 'NEW', 'DEL', 'GET', 'SET'],
  ovs_flow: ['', 'NEW', 'DEL', 'GET', 'SET'], ovs_packet: ['', 'MISS', 'ACTION', 'EXECUTE'],
  ovs_meter: ['', 'FEATURES', 'SET', 'DEL', 'GET'], ovs_ct_limit: ['', 'SET', 'DEL', 'GET'],
};
const CAPS = { adminPerm: 'admin-perm', cmdCapDo: 'do', cmdCapDump: 'dump', cmdCapHaspol: 'policy', unsAdminPerm: 'uns-admin-perm' };
(async () => {
  const sock = nl.createGenericNetlink();
  const fams = await sock.ctrlRequest(nl.genl.Commands.GET_FAMILY, {}, { flags: nl.FlagsGet.DUMP, timeout: 5000 });
  for (const f of fams.filter((x) => re.test(x.familyName || '')).sort((a, b) => a.familyId - b.familyId)) {
    const ops = (f.ops || []).map((o) => ({
      cmd: o.id,
      name: (OVS_CMDS[f.familyName] || [])[o.id] || undefined,
      flags: `0x${nl.genl.formatOperationFlags(o.flags || {}).toString(16)}`,
      caps: Object.keys(o.flags || {}).filter((k) => CAPS[k]).map((k) => CAPS[k]).join('+'),
    }));
    const mcgrps = (f.mcastGroups || []).map((g) => ({ name: g.name, id: g.id }));
    console.log(`VMTEST genljson| ${JSON.stringify({ name: f.familyName, id: f.familyId, version: f.version, hdrsize: f.hdrsize, maxattr: f.maxattr, ops, mcgrps })}`);
    console.log(`VMTEST fact genl.${f.familyName}=id:0x${f.familyId.toString(16)} version:${f.version} hdrsize:${f.hdrsize} maxattr:${f.maxattr}` +
      ` ops:${ops.map((o) => `${o.name || o.cmd}(${o.caps})`).join(',') || 'none'}` +
      ` mcgrps:${mcgrps.map((g) => `${g.name}=0x${g.id.toString(16)}`).join(',') || 'none'}`);
  }
  process.exit(0);
})().catch((e) => { console.error(`genl dump failed: ${e.stack || e}`); process.exit(1); });
