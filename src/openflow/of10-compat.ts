/*
 * Telling an OpenFlow 1.0 peer about flows it cannot fully express (OVS
 * ofputil_match_to_ofp10_match and the OF1.0 encodings of instructions):
 * a flow dump or FLOW_REMOVED must not fail because one flow matches on a
 * register or uses goto_table. The match keeps what OpenFlow 1.0 can say
 * and the actions turn goto_table into resubmit(,T), as OVS encodes it;
 * instructions 1.0 has no form for (meter, write/clear actions,
 * write_metadata) and group are left out.
 */
import { Match } from '../ofproto/match';
import { FIELDS } from '../ofproto/meta-flow';
import { OfpAction } from '../ofproto/ofp-actions';
import { OfWriter } from './buf';
import { encodeOf10Match } from './of10-match';
import { encodeActions } from './actions';
import { OFP10_VERSION } from './ofp-header';

function fits(m: Match): boolean {
  try { encodeOf10Match(new OfWriter(64), m); return true; } catch { return false; }
}

/** The widest-kept subset of `m` that OpenFlow 1.0 can carry: each field is kept if the match with it still encodes. */
export function of10Match(m: Match): Match {
  if (fits(m)) return m;
  const out = new Match();
  for (const f of FIELDS) {
    const { value, mask } = m.get(f);
    if (mask === 0n) continue;
    const trial = out.clone().set(f, value, mask);
    if (fits(trial)) out.set(f, value, mask);
  }
  return out;
}

/** The flat list as OpenFlow 1.0 can carry it (see above). */
export function of10Actions(list: readonly OfpAction[], match: Match): OfpAction[] {
  const out: OfpAction[] = [];
  for (const a of list) {
    if (a.type === 'goto_table') out.push({ type: 'resubmit', table: a.table });
    else if (a.type === 'write_actions') continue;
    else {
      try { encodeActions(new OfWriter(32), [a], OFP10_VERSION, { match }); out.push(a); } catch { /* no 1.0 form */ }
    }
  }
  return out;
}
