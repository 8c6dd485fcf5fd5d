/*
 * A bridge's OpenFlow state (OVS ofproto.c): 255 tables, the group table and
 * the meter table, with OpenFlow 1.3 flow_mod/group_mod/meter_mod semantics.
 * Every successful change bumps `version` and emits 'changed', which the
 * bridge answers by revalidating its megaflows before the next barrier.
 */
import { EventEmitter } from 'events';
import { Classifier } from './classifier';
import { Match } from './match';
import { prereqOk, OFPP } from './meta-flow';
import { OfpAction, Rule, Group, GroupType, Meter, N_TABLES, OFPFF, OFPG_ANY, OFPG_MAX } from './ofp-actions';
import { OfpError, OFPET, OFPBAC, OFPBIC, OFPBMC, OFPFMFC, OFPGMFC, OFPMMFC } from './ofp-errors';

export interface FlowMod {
  tableId?: number;          // undefined (or 0xff) = every table, for modify/delete
  priority?: number;         // 32768 by default, as OpenFlow
  match: Match;
  actions?: OfpAction[];
  cookie?: bigint;
  cookieMask?: bigint;       // modify/delete select rules with (cookie & mask) == (this cookie & mask)
  idleTimeout?: number;
  hardTimeout?: number;
  flags?: number;
  importance?: number;
  outPort?: number;          // delete: only rules that output to it
  outGroup?: number;         // delete: only rules that use it
}

export enum RemovedReason { IDLE_TIMEOUT = 0, HARD_TIMEOUT = 1, DELETE = 2, GROUP_DELETE = 3, METER_DELETE = 4 }

export interface TableStats { tableId: number; active: number; lookups: bigint; matched: bigint }

const ALL_TABLES = 0xff;
export const DEFAULT_PRIORITY = 32768;

export class OfTables extends EventEmitter {
  readonly tables: Classifier[] = Array.from({ length: N_TABLES }, () => new Classifier());
  readonly groups = new Map<number, Group>();
  readonly meters = new Map<number, Meter>();
  version = 0;
  private nextId = 1;
  /** Packets looked up / matched per table (OFPMP_TABLE): only real packets count, not traces or revalidation. */
  private readonly lookups = new Array<bigint>(N_TABLES).fill(0n);
  private readonly matched = new Array<bigint>(N_TABLES).fill(0n);

  lookup(tableId: number, flow: Buffer, wc: Buffer | null): Rule | undefined {
    return this.tables[tableId].lookup(flow, wc);
  }

  group(id: number): Group | undefined { return this.groups.get(id); }

  countLookup(tableId: number, hit: boolean, packets: bigint): void {
    this.lookups[tableId] += packets;
    if (hit) this.matched[tableId] += packets;
  }

  *rules(tableId?: number): IterableIterator<Rule> {
    if (tableId !== undefined && tableId !== ALL_TABLES) { yield* this.tables[tableId].rules(); return; }
    for (const t of this.tables) yield* t.rules();
  }

  get ruleCount(): number { return this.tables.reduce((n, t) => n + t.count, 0); }

  tableStats(): TableStats[] {
    return this.tables.map((t, tableId) => ({ tableId, active: t.count, lookups: this.lookups[tableId], matched: this.matched[tableId] }));
  }

  /* ---- flow_mod ------------------------------------------------------- */

  /** OFPFC_ADD. Returns the new rule; an identical match+priority is replaced. */
  add(fm: FlowMod, now = Date.now()): Rule {
    const tableId = fm.tableId ?? 0;
    if (tableId >= N_TABLES) throw new OfpError(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_TABLE_ID, `table ${tableId} does not exist (0-${N_TABLES - 1})`);
    const priority = fm.priority ?? DEFAULT_PRIORITY;
    if (priority < 0 || priority > 0xffff) throw new OfpError(OFPET.FLOW_MOD_FAILED, OFPFMFC.UNKNOWN, `priority ${priority} out of range`);
    const actions = fm.actions ?? [];
    this.checkMatch(fm.match);
    this.checkActions(actions, fm.match, tableId);
    const flags = fm.flags ?? 0;
    const table = this.tables[tableId];
    if (flags & OFPFF.CHECK_OVERLAP) {
      for (const r of table.rules()) {
        if (r.priority === priority && r.match.overlaps(fm.match) && !r.match.equals(fm.match)) {
          throw new OfpError(OFPET.FLOW_MOD_FAILED, OFPFMFC.OVERLAP, 'flow overlaps an existing flow of the same priority');
        }
      }
    }
    const rule: Rule = {
      id: this.nextId++, tableId, priority, match: fm.match.clone(), actions, cookie: fm.cookie ?? 0n,
      idleTimeout: fm.idleTimeout ?? 0, hardTimeout: fm.hardTimeout ?? 0, flags, importance: fm.importance ?? 0,
      created: now, modified: now, usedAt: now, nPackets: 0n, nBytes: 0n,
    };
    const old = table.insert(rule);
    // OF1.3: a replaced rule's counters carry over unless RESET_COUNTS.
    if (old && !(flags & OFPFF.RESET_COUNTS)) { rule.nPackets = old.nPackets; rule.nBytes = old.nBytes; }
    this.bump();
    return rule;
  }

  /** OFPFC_MODIFY(_STRICT): new actions for the selected rules; returns them. */
  modify(fm: FlowMod, strict: boolean, now = Date.now()): Rule[] {
    const actions = fm.actions ?? [];
    const sel = this.select(fm, strict, false);
    for (const r of sel) this.checkActions(actions, r.match, r.tableId);
    for (const r of sel) {
      r.actions = actions;
      r.modified = now;
      if ((fm.flags ?? 0) & OFPFF.RESET_COUNTS) { r.nPackets = 0n; r.nBytes = 0n; }
    }
    if (sel.length) this.bump();
    return sel;
  }

  /** OFPFC_DELETE(_STRICT): removes and returns the selected rules. */
  delete(fm: FlowMod, strict: boolean, reason = RemovedReason.DELETE): Rule[] {
    const sel = this.select(fm, strict, true);
    this.removeRules(sel, reason);
    return sel;
  }

  /** The rules a flow stats request selects (loose match, cookie, out_port/out_group), in dump order. */
  query(req: FlowMod): Rule[] {
    return this.select(req, false, true).sort((a, b) => a.tableId - b.tableId || b.priority - a.priority || a.id - b.id);
  }

  removeRules(rules: Rule[], reason: RemovedReason): void {
    for (const r of rules) {
      this.tables[r.tableId].remove(r);
      this.emit('removed', r, reason);
    }
    if (rules.length) this.bump();
  }

  /** Rules whose idle or hard timeout has passed at `now`. */
  expired(now = Date.now()): { rule: Rule; reason: RemovedReason }[] {
    const out: { rule: Rule; reason: RemovedReason }[] = [];
    for (const r of this.rules()) {
      if (r.hardTimeout && now - r.created >= r.hardTimeout * 1000) out.push({ rule: r, reason: RemovedReason.HARD_TIMEOUT });
      else if (r.idleTimeout && now - r.usedAt >= r.idleTimeout * 1000) out.push({ rule: r, reason: RemovedReason.IDLE_TIMEOUT });
    }
    return out;
  }

  private select(fm: FlowMod, strict: boolean, isDelete: boolean): Rule[] {
    const tableId = fm.tableId ?? ALL_TABLES;
    if (tableId !== ALL_TABLES && tableId >= N_TABLES) throw new OfpError(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_TABLE_ID, `table ${tableId} does not exist`);
    const cookieMask = fm.cookieMask ?? 0n;
    const cookie = (fm.cookie ?? 0n) & cookieMask;
    const priority = fm.priority ?? DEFAULT_PRIORITY;
    const outPort = isDelete ? fm.outPort ?? OFPP.ANY : OFPP.ANY;
    const outGroup = isDelete ? fm.outGroup ?? OFPG_ANY : OFPG_ANY;
    const sel: Rule[] = [];
    const tables = tableId === ALL_TABLES ? this.tables : [this.tables[tableId]];
    for (const t of tables) {
      if (strict) {
        const r = t.findStrict(fm.match, priority);
        if (r && (r.cookie & cookieMask) === cookie && usesPort(r.actions, outPort) && usesGroup(r.actions, outGroup)) sel.push(r);
        continue;
      }
      if (!t.count) continue;
      for (const r of t.rules()) {
        if ((r.cookie & cookieMask) !== cookie) continue;
        if (!r.match.isSubsetOf(fm.match)) continue;
        if (!usesPort(r.actions, outPort) || !usesGroup(r.actions, outGroup)) continue;
        sel.push(r);
      }
    }
    return sel;
  }

  private checkMatch(m: Match): void {
    const missing = m.missingPrereqs();
    if (missing.length) throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_PREREQ, `prerequisites not met for ${missing.map((f) => f.name).join(', ')}`);
  }

  /** Validates an action list for a rule with `match` in `tableId` (OVS ofpacts_check). */
  checkActions(actions: OfpAction[], match: Match, tableId: number): void {
    for (const a of actions) {
      switch (a.type) {
        case 'output':
          if (a.port === OFPP.ANY || (a.port >= OFPP.MAX && a.port < OFPP.IN_PORT)) {
            throw new OfpError(OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT, `output to invalid port ${a.port}`);
          }
          break;
        case 'goto_table':
          if (a.table <= tableId || a.table >= N_TABLES) {
            throw new OfpError(OFPET.BAD_INSTRUCTION, OFPBIC.BAD_TABLE_ID, `goto_table:${a.table} must name a later table than ${tableId}`);
          }
          break;
        case 'resubmit':
          if (a.table !== undefined && a.table >= N_TABLES) throw new OfpError(OFPET.BAD_ACTION, OFPBAC.BAD_ARGUMENT, `resubmit to table ${a.table}`);
          break;
        case 'group':
          if (!this.groups.has(a.groupId)) throw new OfpError(OFPET.BAD_ACTION, OFPBAC.BAD_OUT_GROUP, `group ${a.groupId} does not exist`);
          break;
        case 'meter':
          if (!this.meters.has(a.meterId)) throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.UNKNOWN_METER, `meter ${a.meterId} does not exist`);
          break;
        case 'set_field':
          if (!a.field.writable) throw new OfpError(OFPET.BAD_ACTION, OFPBAC.BAD_SET_TYPE, `field ${a.field.name} cannot be set`);
          if (!prereqOk(a.field.prereq, match.value, match.mask)) {
            throw new OfpError(OFPET.BAD_ACTION, OFPBAC.MATCH_INCONSISTENT, `set_field ${a.field.name} lacks its prerequisites in the match`);
          }
          break;
        case 'push_vlan':
          if (a.ethertype !== 0x8100 && a.ethertype !== 0x88a8) throw new OfpError(OFPET.BAD_ACTION, OFPBAC.BAD_ARGUMENT, `push_vlan ethertype 0x${a.ethertype.toString(16)}`);
          break;
        case 'write_actions':
          if (a.actions.some((x) => x.type === 'write_actions' || x.type === 'goto_table' || x.type === 'clear_actions' || x.type === 'write_metadata' || x.type === 'meter')) {
            throw new OfpError(OFPET.BAD_INSTRUCTION, OFPBIC.UNKNOWN_INST, 'instructions inside write_actions');
          }
          this.checkActions(a.actions, match, tableId);
          break;
        default:
          break;
      }
    }
  }

  /* ---- group_mod / meter_mod ------------------------------------------ */

  addGroup(g: Omit<Group, 'nPackets' | 'nBytes' | 'created'>, replace = false): Group {
    if (g.id > OFPG_MAX) throw new OfpError(OFPET.GROUP_MOD_FAILED, OFPGMFC.INVALID_GROUP, `group id ${g.id} is reserved`);
    if (!replace && this.groups.has(g.id)) throw new OfpError(OFPET.GROUP_MOD_FAILED, OFPGMFC.GROUP_EXISTS, `group ${g.id} exists`);
    if (replace && !this.groups.has(g.id)) throw new OfpError(OFPET.GROUP_MOD_FAILED, OFPGMFC.UNKNOWN_GROUP, `group ${g.id} does not exist`);
    if (!(g.type in GroupType)) throw new OfpError(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_TYPE, `group type ${g.type}`);
    if (g.type === GroupType.INDIRECT && g.buckets.length !== 1) throw new OfpError(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_BUCKET, 'an indirect group has exactly one bucket');
    for (const b of g.buckets) {
      if (g.type === GroupType.FF && b.watchPort === OFPP.ANY && b.watchGroup === OFPG_ANY) throw new OfpError(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_WATCH, 'fast failover bucket watches nothing');
      this.checkActions(b.actions, new Match(), 0);
      if (this.reaches(b.actions, g.id)) throw new OfpError(OFPET.GROUP_MOD_FAILED, OFPGMFC.LOOP, `group ${g.id} would loop`);
    }
    const old = this.groups.get(g.id);
    const group: Group = { ...g, nPackets: old?.nPackets ?? 0n, nBytes: old?.nBytes ?? 0n, created: old?.created ?? Date.now() };
    this.groups.set(g.id, group);
    this.bump();
    return group;
  }

  /** Deletes a group (OFPG_ALL: all) and the rules that use it. */
  deleteGroup(id: number): void {
    const ids = id === 0xfffffffc ? [...this.groups.keys()] : this.groups.has(id) ? [id] : [];
    for (const gid of ids) {
      this.groups.delete(gid);
      this.removeRules([...this.rules()].filter((r) => usesGroup(r.actions, gid)), RemovedReason.GROUP_DELETE);
    }
    if (ids.length) this.bump();
  }

  addMeter(m: Omit<Meter, 'created'>, replace = false): Meter {
    if (m.id === 0 || m.id > 0xffff0000) throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.INVALID_METER, `meter id ${m.id}`);
    if (!replace && this.meters.has(m.id)) throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.METER_EXISTS, `meter ${m.id} exists`);
    if (replace && !this.meters.has(m.id)) throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.UNKNOWN_METER, `meter ${m.id} does not exist`);
    if (m.bands.length !== 1 || m.bands[0].type !== 'drop') throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_BAND, 'one drop band per meter is supported');
    if (!(m.bands[0].rate > 0)) throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_RATE, 'meter rate must be positive');
    if (m.flags.kbps === m.flags.pktps) throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_FLAGS, 'a meter is either kbps or pktps');
    const meter: Meter = { ...m, created: this.meters.get(m.id)?.created ?? Date.now() };
    this.emit('meter', meter);           // the datapath may refuse (out of meters): then nothing changed
    this.meters.set(m.id, meter);
    this.bump();
    return meter;
  }

  deleteMeter(id: number): void {
    if (!this.meters.delete(id)) return;
    this.removeRules([...this.rules()].filter((r) => r.actions.some((a) => a.type === 'meter' && a.meterId === id)), RemovedReason.METER_DELETE);
    this.emit('meter-deleted', id);
    this.bump();
  }

  private reaches(actions: OfpAction[], gid: number, depth = 0): boolean {
    if (depth > 32) return true;
    for (const a of actions) {
      if (a.type === 'group') {
        if (a.groupId === gid) return true;
        const g = this.groups.get(a.groupId);
        if (g && g.buckets.some((b) => this.reaches(b.actions, gid, depth + 1))) return true;
      }
    }
    return false;
  }

  private bump(): void {
    this.version++;
    this.emit('changed', this.version);
  }
}

/** Does the list output to `port` (OFPP_ANY: no filter)? Looks inside write_actions. */
function usesPort(actions: OfpAction[], port: number): boolean {
  if (port === OFPP.ANY) return true;
  return actions.some((a) =>
    (a.type === 'output' && a.port === port) || (a.type === 'controller' && port === OFPP.CONTROLLER) ||
    (a.type === 'write_actions' && usesPort(a.actions, port)));
}

export function usesGroup(actions: OfpAction[], gid: number): boolean {
  if (gid === OFPG_ANY) return true;
  return actions.some((a) => (a.type === 'group' && a.groupId === gid) || (a.type === 'write_actions' && usesGroup(a.actions, gid)));
}
