/*
 * A minimal OpenFlow table: rules with a priority, a match (value + mask over
 * the flow key) and actions. Lookup reports the wildcards it consulted:
 * every rule examined contributes its mask, because the fields it looked at
 * decided that it did (or did not) match. (Staged lookup and prefix tracking,
 * which narrow these wildcards, belong to the full classifier.)
 */
import { FlowKey } from '../dpif/flow-key';

export type OfAction =
  | { type: 'output'; port: number }
  | { type: 'in_port' }
  | { type: 'normal' }
  | { type: 'flood' }
  | { type: 'all' };

export interface Rule {
  priority: number;
  match: FlowKey;      // value, already masked
  mask: FlowKey;
  actions: OfAction[]; // empty = drop
  cookie: bigint;
  nPackets: bigint;
  nBytes: bigint;
  created: number;
}

export class Classifier {
  private rules: Rule[] = [];

  insert(r: Omit<Rule, 'nPackets' | 'nBytes' | 'created' | 'match'> & { match: FlowKey }): Rule {
    const mask = r.mask.clone().setField('tuple_id', 0);
    const rule: Rule = { ...r, match: r.match.and(mask), mask, nPackets: 0n, nBytes: 0n, created: Date.now() };
    // An identical match at the same priority replaces the old rule, as OFPFC_ADD does.
    this.rules = this.rules.filter((x) => !(x.priority === rule.priority && x.mask.equals(mask) && x.match.equals(rule.match)));
    const i = this.rules.findIndex((x) => x.priority < rule.priority);
    this.rules.splice(i < 0 ? this.rules.length : i, 0, rule);
    return rule;
  }

  remove(pred: (r: Rule) => boolean): Rule[] {
    const gone = this.rules.filter(pred);
    this.rules = this.rules.filter((r) => !pred(r));
    return gone;
  }

  /** Highest-priority rule matching `key`; ORs the consulted fields into `wc`. */
  lookup(key: FlowKey, wc: FlowKey): Rule | undefined {
    for (const r of this.rules) {
      wc.or(r.mask);
      if (key.and(r.mask).equals(r.match)) return r;
    }
    return undefined;
  }

  all(): readonly Rule[] { return this.rules; }
}
