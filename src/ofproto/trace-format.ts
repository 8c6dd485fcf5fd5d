/*
 * `ofproto/trace` output in OVS's layout: the flow, each table visited with
 * the rule that matched and its actions (notes from NORMAL, groups and
 * errors underneath), then the final flow, the megaflow and the datapath
 * actions — the lines OVS users grep for.
 */
import { FlowKey, KEY_SIZE } from '../dpif/flow-key';
import { formatActions as formatOdpActions } from '../dpif/odp-util';
import { formatMatch, formatFlow, formatMegaflow, formatActions } from './ofp-print';
import { XlateResult } from './xlate';

export function formatTrace(bridge: string, key: FlowKey, x: XlateResult): string {
  const flow = Buffer.alloc(x.finalFlow.length);
  key.buf.copy(flow, 0, 0, KEY_SIZE);
  flow.writeUInt16LE(0, 78);
  const out = [`Flow: ${formatFlow(flow)}`, '', `bridge("${bridge}")`, '-'.repeat(bridge.length + 10)];
  let skipNoMatch = false;
  for (const n of x.trace) {
    const pad = ' '.repeat(2 * n.depth);
    if (n.kind === 'table') {
      const head = `${pad} ${n.tableId}. `;
      if (!n.rule) { out.push(`${head}No match.`); skipNoMatch = true; continue; }
      const m = formatMatch(n.rule.match);
      const cookie = n.rule.cookie ? `, cookie 0x${n.rule.cookie.toString(16)}` : '';
      out.push(`${head}${m ? `${m}, ` : ''}priority ${n.rule.priority}${cookie}`);
    } else if (n.kind === 'action') {
      if (n.action.type === 'note') continue;
      const text = formatActions([n.action], 'OpenFlow13');
      out.push(`${' '.repeat(2 * n.depth + 2)}${text}`);
    } else {
      if (skipNoMatch && n.text === 'No match.') { skipNoMatch = false; continue; }
      out.push(`${' '.repeat(2 * n.depth + 3)}-> ${n.text}`);
    }
  }
  const changed = !x.finalFlow.subarray(0, KEY_SIZE).equals(flow.subarray(0, KEY_SIZE)) || x.finalFlow.subarray(KEY_SIZE).some((b) => b !== 0);
  out.push('', `Final flow: ${changed ? formatFlow(x.finalFlow) : 'unchanged'}`);
  out.push(`Megaflow: ${formatMegaflow(key.and(x.wc).buf, x.wc.buf)}`);
  out.push(`Datapath actions: ${x.actions.length ? formatOdpActions(x.actions) : 'drop'}`);
  if (x.error) out.push(`Translation failed (${x.error}), packet is dropped.`);
  return out.join('\n') + '\n';
}
