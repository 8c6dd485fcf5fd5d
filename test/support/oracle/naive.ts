/*
 * The reference lookup: every rule of a table scanned in order of priority
 * (highest first) and then insertion (lowest rule id first, the classifier's
 * tie-break), the first Match.matches() wins. No subtables, hashes, stages or
 * tries, and it never touches the wildcards: only the chosen rule matters.
 *
 * It keeps its own rule lists, fed by applying the same flow_mods with
 * OpenFlow's selection rules written out here, so a rule the classifier
 * loses or keeps by mistake shows up as a difference (check()).
 */
import { Match } from '../../../src/ofproto/match';
import { Rule, Group, OfpAction } from '../../../src/ofproto/ofp-actions';
import { OfTables, FlowMod, DEFAULT_PRIORITY } from '../../../src/ofproto/tables';
import { RuleLookup } from '../../../src/ofproto/xlate';

const before = (a: Rule, b: Rule): number => b.priority - a.priority || a.id - b.id;

export class NaiveTables implements RuleLookup {
  private readonly lists = new Map<number, Rule[]>();
  private readonly dirty = new Set<number>();

  constructor(private readonly tables: OfTables) {}

  lookup(tableId: number, flow: Buffer): Rule | undefined {
    const l = this.lists.get(tableId);
    if (!l) return undefined;
    if (this.dirty.delete(tableId)) l.sort(before);
    for (const r of l) if (r.match.matches(flow)) return r;
    return undefined;
  }

  group(id: number): Group | undefined { return this.tables.group(id); }

  rules(tableId: number): Rule[] { return this.lists.get(tableId) ?? []; }

  get count(): number { let n = 0; for (const l of this.lists.values()) n += l.length; return n; }

  /* ---- flow_mods applied to OfTables and mirrored here ------------------- */

  add(fm: FlowMod): Rule {
    const rule = this.tables.add(fm);
    const t = fm.tableId ?? 0, prio = fm.priority ?? DEFAULT_PRIORITY;
    const l = this.list(t).filter((r) => !(r.priority === prio && r.match.equals(fm.match)));   // OFPFC_ADD replaces
    l.push(rule);
    this.lists.set(t, l);
    this.dirty.add(t);
    return rule;
  }

  /** Modify: the rules OpenFlow selects get the new actions (the same Rule objects, so nothing to mirror but the selection). */
  modify(fm: FlowMod, strict: boolean): Rule[] {
    const want = this.select(fm, strict);
    const got = this.tables.modify(fm, strict);
    sameRules(got, want, 'modify');
    return got;
  }

  delete(fm: FlowMod, strict: boolean): Rule[] {
    const want = this.select(fm, strict);
    const got = this.tables.delete(fm, strict);
    sameRules(got, want, 'delete');
    this.drop(got);
    return got;
  }

  /** Deleting a group deletes the rules that use it (also inside write_actions). */
  deleteGroup(id: number): void {
    const want = [...this.lists.values()].flat().filter((r) => usesGroup(r.actions, id));
    this.tables.deleteGroup(id);
    this.drop(want);
  }

  /** Throws unless OfTables holds exactly the rules mirrored here. */
  check(): void {
    for (let t = 0; t < this.tables.tables.length; t++) {
      const mine = this.rules(t).map((r) => r.id).sort((a, b) => a - b);
      const theirs = [...this.tables.rules(t)].map((r) => r.id).sort((a, b) => a - b);
      if (mine.join() !== theirs.join()) throw new Error(`table ${t}: OfTables has rules [${theirs}], the flow_mods applied give [${mine}]`);
    }
  }

  private list(t: number): Rule[] { return this.lists.get(t) ?? []; }

  private drop(rules: Rule[]): void {
    const gone = new Set(rules);
    for (const [t, l] of this.lists) this.lists.set(t, l.filter((r) => !gone.has(r)));
  }

  /** OpenFlow 1.3 selection (no cookie or out_port filters: the oracle does not use them). */
  private select(fm: FlowMod, strict: boolean): Rule[] {
    const prio = fm.priority ?? DEFAULT_PRIORITY;
    const tables = fm.tableId === undefined || fm.tableId === 0xff ? [...this.lists.keys()] : [fm.tableId];
    return tables.flatMap((t) => this.list(t).filter((r) => (strict ? r.priority === prio && r.match.equals(fm.match) : looser(r.match, fm.match))));
  }
}

/** Non-strict selection: every bit `sel` matches, the rule matches the same way. */
function looser(rule: Match, sel: Match): boolean {
  for (let i = 0; i < rule.mask.length; i++) {
    if ((sel.mask[i] & ~rule.mask[i]) !== 0) return false;
    if ((rule.value[i] & sel.mask[i]) !== sel.value[i]) return false;
  }
  return true;
}

function usesGroup(actions: OfpAction[], id: number): boolean {
  return actions.some((a) => (a.type === 'group' && a.groupId === id) || (a.type === 'write_actions' && usesGroup(a.actions, id)));
}

function sameRules(got: Rule[], want: Rule[], what: string): void {
  const g = got.map((r) => r.id).sort((a, b) => a - b).join(), w = want.map((r) => r.id).sort((a, b) => a - b).join();
  if (g !== w) throw new Error(`${what} selected rules [${g}], OpenFlow selects [${w}]`);
}
