/*
 * Translation (OVS ofproto-dpif-xlate): runs a flow key through the OpenFlow
 * table and returns the datapath actions plus the wildcards, i.e. the
 * megaflow mask: exactly the fields that decided the outcome.
 */
import { FlowKey, VLAN_PRESENT, FRAG_ANY, FRAG_LATER, isBroadcastOrMulticast, macToString } from '../dpif/flow-key';
import { OdpAction } from '../dpif/odp-netlink';
import { Classifier, Rule } from './classifier';
import { MacLearning } from './mac-learning';

export interface XlateContext {
  table: Classifier;
  macs: MacLearning;
  ports: () => number[];          // OpenFlow port numbers of the bridge (== datapath port numbers)
}

export interface XlateResult {
  actions: OdpAction[];
  wc: FlowKey;                    // megaflow mask
  rule?: Rule;
  trace: string[];                // what happened, for ofproto/trace and logs
}

const vlanOf = (key: FlowKey): number => (key.vlanTci & VLAN_PRESENT ? key.vlanTci & 0x0fff : 0);

export function xlate(ctx: XlateContext, key: FlowKey, learn = true): XlateResult {
  const wc = new FlowKey();
  // What the datapath always matches (as OVS): ingress port and Ethernet type,
  // and for IP the fragment state (fragments never match L4 fields).
  wc.exact('in_port').exact('eth_type');
  if (key.isIpv4 || key.isIpv6) wc.setField('nw_frag', FRAG_ANY | FRAG_LATER);
  const trace: string[] = [];
  const actions: OdpAction[] = [];
  const rule = ctx.table.lookup(key, wc);
  if (!rule) {
    trace.push('No match: drop (OpenFlow 1.3 table miss)');
    addPrerequisites(wc);
    return { actions, wc, trace };
  }
  trace.push(`priority ${rule.priority}`);
  const ports = ctx.ports();
  const others = ports.filter((p) => p !== key.inPort);
  const out = (p: number): void => {
    if (!actions.some((a) => a.type === 'output' && a.port === p)) actions.push({ type: 'output', port: p });
  };
  for (const a of rule.actions) {
    switch (a.type) {
      case 'output':
        // OpenFlow: output to the ingress port needs IN_PORT explicitly.
        if (a.port === key.inPort) trace.push(`output:${a.port}: skipping output to input port`);
        else if (ports.includes(a.port)) out(a.port);
        else trace.push(`output:${a.port}: no such port`);
        break;
      case 'in_port': out(key.inPort); break;
      case 'flood': case 'all': others.forEach(out); break;
      case 'normal': normal(ctx, key, wc, others, out, trace, learn); break;
    }
  }
  if (!actions.length) trace.push('drop');
  addPrerequisites(wc);
  return { actions, wc, rule, trace };
}

/**
 * A field only means something under its headers: consulting L4 fields
 * consulted nw_proto and eth_type too, and L3 fields eth_type (OVS's match
 * prerequisites). Narrowing the megaflow this way is always safe.
 */
function addPrerequisites(wc: FlowKey): void {
  if (!wc.isZero('tp_src') || !wc.isZero('tp_dst') || !wc.isZero('tcp_flags')) wc.exact('nw_proto');
  for (const f of ['nw_src', 'nw_dst', 'nw_proto', 'nw_tos', 'nw_ttl', 'ipv6_label', 'arp_sha', 'arp_tha'] as const) {
    if (!wc.isZero(f)) { wc.exact('eth_type'); return; }
  }
}

/** The NORMAL action: L2 learning switch. */
function normal(ctx: XlateContext, key: FlowKey, wc: FlowKey, others: number[], out: (p: number) => void,
  trace: string[], learn: boolean): void {
  wc.exact('eth_src').exact('eth_dst').setField('vlan_tci', VLAN_PRESENT | 0x0fff);
  const vlan = vlanOf(key);
  if (learn && ctx.macs.learn(vlan, key.ethSrc, key.inPort)) {
    trace.push(`learned that ${macToString(key.ethSrc)} is on port ${key.inPort} in VLAN ${vlan}`);
  }
  const dst = key.ethDst;
  const port = isBroadcastOrMulticast(dst) ? undefined : ctx.macs.lookup(vlan, dst);
  if (port === undefined) {
    trace.push('no learned MAC for destination, flooding');
    others.forEach(out);
  } else if (port === key.inPort) {
    trace.push('learned port is input port, dropping');
  } else {
    trace.push('forwarding to learned port');
    out(port);
  }
}
