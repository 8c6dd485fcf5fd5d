/*
 * One oracle run: a random pipeline in OfTables, MAC learning, ports, and a
 * Udpif over some Dpif (the in-process model or the real BPF datapath), wired
 * for revalidation the way the bridge wires it. The caller streams packets
 * and compares each cache decision with reference(): translation by the naive
 * lookup, right after, on the same MAC table. mutate() applies random
 * flow_mods / group_mods / port-liveness changes (each followed by
 * revalidation, as before a barrier reply), and checkMegaflows() re-translates
 * what is installed.
 */
import { Dpif } from '../../../src/dpif/dpif';
import { FlowKey } from '../../../src/dpif/flow-key';
import { OdpAction } from '../../../src/dpif/odp-netlink';
import { formatFlowMatch, formatActions } from '../../../src/dpif/odp-util';
import { MacLearning } from '../../../src/ofproto/mac-learning';
import { OfTables, FlowMod } from '../../../src/ofproto/tables';
import { Udpif } from '../../../src/ofproto/udpif';
import { xlate, XlateContext, XPort } from '../../../src/ofproto/xlate';
import { Rule } from '../../../src/ofproto/ofp-actions';
import { setLogSink } from '../../../src/lib/vlog';
import { Rng, randomPipeline, randomFlowMod, randomGroup, randomActions, shapeOf, PipelineSpec, GroupSpec } from './random-tables';
import { randomKey, keyForRule, perturbKey, canonicalize } from './packets';
import { NaiveTables } from './naive';
import { actionsKey } from './dpcls-model';

export interface Divergence { what: string; key: FlowKey; got: OdpAction[]; want: OdpAction[]; megaflow?: string }

export interface InstalledFlow { key: FlowKey; mask: FlowKey; actions: OdpAction[] }

/** Log lines of the switch (udpif errors: failed installs or executes) captured during a run. */
export const logLines: string[] = [];
export function captureLogs(): () => void {
  logLines.length = 0;
  setLogSink((l) => { if (logLines.length < 1000) logLines.push(l); });
  return () => setLogSink((l) => process.stderr.write(l + '\n'));
}

/** A MAC table read through to the bridge's, whose own learning is kept aside (and dropped by reset()). */
class MacOverlay extends MacLearning {
  private readonly local = new Map<string, number>();
  constructor(private readonly base: MacLearning) { super(300); }
  reset(): void { this.local.clear(); }
  override learn(vlan: number, src: Buffer, port: number): boolean {
    if (src[0] & 1) return false;
    const id = `${vlan}/${src.toString('hex')}`;
    if ((this.local.get(id) ?? this.base.lookup(vlan, src)) === port) return false;
    this.local.set(id, port);
    return true;
  }
  override lookup(vlan: number, dst: Buffer): number | undefined {
    return this.local.get(`${vlan}/${dst.toString('hex')}`) ?? this.base.lookup(vlan, dst);
  }
}

/**
 * A bridge as ofproto.ts wires one, over any Dpif: OfTables (mirrored by the
 * naive reference), MAC learning, ports, Udpif with MAC and table revalidation.
 */
export class OracleBridge {
  readonly tables = new OfTables();
  readonly naive: NaiveTables;
  readonly macs = new MacLearning(300);
  readonly ctx: XlateContext;
  readonly refCtx: XlateContext;
  readonly udpif: Udpif;
  private readonly overlay: MacOverlay;
  private readonly overlayCtx: XlateContext;
  readonly divergences: Divergence[] = [];
  readonly mods: string[] = [];
  private pending = false;

  constructor(readonly dpif: Dpif, readonly ports: XPort[], flows: FlowMod[] = [], groups: GroupSpec[] = []) {
    this.naive = new NaiveTables(this.tables);
    for (const g of groups) this.tables.addGroup(g);
    for (const fm of flows) this.naive.add(fm);
    this.naive.check();
    this.ctx = { bridge: 'br0', tables: this.tables, macs: this.macs, ports: () => this.ports };
    this.refCtx = { ...this.ctx, tables: this.naive };
    this.overlay = new MacOverlay(this.macs);
    this.overlayCtx = { ...this.refCtx, macs: this.overlay };
    this.udpif = new Udpif(dpif, this.ctx);
    // As the bridge (ofproto.ts): a learned MAC that appears, moves or ages out
    // changes NORMAL's answer for flows with it (revalidated at once); table
    // changes are revalidated once per burst of flow_mods, at the latest by
    // the barrier (sync()).
    this.macs.on('changed', (c: { mac: string }) => this.udpif.revalidateMac(c.mac));
    this.tables.on('changed', () => { this.pending = true; this.udpif.bumpRevalSeq(); });
  }

  close(): void { this.udpif.close(); this.macs.close(); this.overlay.close(); }

  /** The barrier: revalidate after the flow_mods so far (and port changes). */
  sync(): void {
    if (!this.pending) return;
    this.pending = false;
    this.udpif.revalidate();
  }

  /** Marks a change the tables do not announce (port liveness) for the next sync(). */
  changed(): void { this.pending = true; this.udpif.bumpRevalSeq(); }

  /**
   * The decision of the OpenFlow tables for `key` now: the naive lookup, with
   * MAC learning on a copy of the bridge's MAC table (a translation can learn
   * and then look up what it learned, e.g. two NORMALs with resubmit(port);
   * the copy keeps the reference from changing the bridge's state).
   */
  reference(key: FlowKey): OdpAction[] {
    this.overlay.reset();
    return xlate(this.overlayCtx, key, { learn: true }).actions;
  }


  /**
   * Compares a cache decision with the reference (for an upcall, computed
   * before the packet was handled: from the same MAC table); records a divergence.
   */
  compare(what: string, key: FlowKey, got: OdpAction[], megaflow?: InstalledFlow, want = this.reference(key)): boolean {
    if (actionsKey(got) === actionsKey(want)) return true;
    this.divergences.push({ what, key: key.clone(), got, want, megaflow: megaflow && formatFlowMatch(megaflow.key, megaflow.mask) });
    return false;
  }

  describe(d: Divergence): string {
    const x = xlate(this.refCtx, d.key, { learn: false });
    const rules = x.rules.map((r) => `  table=${r.tableId} prio=${r.priority} id=${r.id} ${JSON.stringify(r.actions, bigintJson)}`).join('\n');
    return [`${d.what}`, `  key ${d.key.hex()}`, `  packet ${formatFlowMatch(d.key, FlowKey.exactMask())}`,
      d.megaflow ? `  megaflow ${d.megaflow}` : '  (upcall)', `  cache     ${formatActions(d.got)}`, `  reference ${formatActions(d.want)}`,
      `  reference rules:\n${rules}`, `  last mods: ${this.mods.slice(-5).join('; ') || 'none'}`].join('\n');
  }
}

/** The random side: a random pipeline, packet stream and flow_mods from one seed. */
export class Oracle extends OracleBridge {
  readonly rng: Rng;
  readonly spec: PipelineSpec;
  private readonly recent: FlowKey[] = [];
  private groupIds: number[];

  static create(seed: number, dpif: Dpif): Oracle {
    const rng = new Rng(seed);
    return new Oracle(seed, dpif, rng, randomPipeline(rng));
  }

  private constructor(readonly seed: number, dpif: Dpif, rng: Rng, spec: PipelineSpec) {
    super(dpif, spec.ports, spec.flows, spec.groups);
    this.rng = rng;
    this.spec = spec;
    this.groupIds = spec.groups.map((g) => g.id);
  }

  override describe(d: Divergence): string { return `seed ${this.seed}: ${super.describe(d)}`; }

  /** Next packet: fresh keys aimed at rules, fully random ones, repeats, and neighbours of recent keys. */
  nextKey(): FlowKey {
    const rng = this.rng;
    const kind = this.recent.length ? rng.weighted([[30, 'rule'], [15, 'random'], [25, 'repeat'], [30, 'near']] as const) : 'random';
    let k: FlowKey;
    if (kind === 'rule') {
      const rules = [...this.tables.rules()];
      k = rules.length ? keyForRule(rng, rng.pick(rules), this.ports) : randomKey(rng, this.ports);
    } else if (kind === 'random') k = randomKey(rng, this.ports);
    else if (kind === 'repeat') k = rng.pick(this.recent).clone();
    else k = perturbKey(rng, rng.pick(this.recent), this.ports);
    if (this.recent.length < 256) this.recent.push(k); else this.recent[rng.int(256)] = k;
    return k;
  }

  /** A random change to the OpenFlow state, then the barrier (revalidation). */
  mutate(): string {
    const rng = this.rng;
    const env = { nTables: this.spec.nTables, ports: this.ports, groups: this.groupIds };
    const anyRule = (): Rule | undefined => { const r = [...this.tables.rules()]; return r.length ? rng.pick(r) : undefined; };
    const what = rng.weighted<() => string>([
      [5, () => { const fm = randomFlowMod(rng, env); this.naive.add(fm); return `add table=${fm.tableId} prio=${fm.priority}`; }],
      [2, () => {
        // re-add an existing match+priority: OFPFC_ADD replaces it (new id, new actions)
        const r = anyRule(); if (!r) return 'nothing';
        this.naive.add({ tableId: r.tableId, match: r.match.clone(), priority: r.priority, actions: randomActions(rng, { ...env, tableId: r.tableId }, shapeOf(r.match)) });
        return `replace rule ${r.id}`;
      }],
      [2, () => {
        const r = anyRule(); if (!r) return 'nothing';
        const strict = rng.chance(0.5);
        // a non-strict modify may select rules of any shape: only prerequisite-free actions
        const actions = randomActions(rng, { ...env, tableId: r.tableId }, strict ? shapeOf(r.match) : { l3: 'any', l4: 'any' });
        const n = this.naive.modify({ tableId: r.tableId, priority: r.priority, match: strict ? r.match : looseOf(rng, r), actions }, strict).length;
        return `modify${strict ? '_strict' : ''} ${n} rules`;
      }],
      [3, () => {
        const r = anyRule(); if (!r) return 'nothing';
        const strict = rng.chance(0.6);
        const n = this.naive.delete({ tableId: rng.chance(0.8) ? r.tableId : undefined, priority: r.priority, match: strict ? r.match : looseOf(rng, r) }, strict).length;
        return `delete${strict ? '_strict' : ''} ${n} rules`;
      }],
      [1, () => {
        if (!this.groupIds.length) return 'nothing';
        const id = rng.pick(this.groupIds);
        this.tables.addGroup(randomGroup(rng, id, this.ports, this.groupIds), true);
        return `modify group ${id}`;
      }],
      [1, () => {
        if (!this.groupIds.length || rng.chance(0.5)) {
          const id = (this.groupIds.length ? Math.max(...this.groupIds) : 0) + 1;
          this.tables.addGroup(randomGroup(rng, id, this.ports, this.groupIds));
          this.groupIds = [...this.groupIds, id];
          return `add group ${id}`;
        }
        const id = rng.pick(this.groupIds);
        this.naive.deleteGroup(id);
        this.groupIds = this.groupIds.filter((g) => g !== id);
        return `delete group ${id}`;
      }],
      [1, () => {
        // port status change: fast-failover liveness; the bridge revalidates on it
        const p = rng.pick(this.ports);
        p.live = !p.live;
        this.changed();
        return `port ${p.ofport} ${p.live ? 'up' : 'down'}`;
      }],
    ])();
    this.sync();
    this.naive.check();
    this.mods.push(what);
    return what;
  }

  /**
   * Re-translates installed megaflows with the reference: the masked key
   * itself and `samples` random packets inside each megaflow must all get
   * the megaflow's actions.
   */
  checkMegaflows(flows: InstalledFlow[], samples = 1): number {
    let checked = 0;
    for (const f of flows) {
      const candidates = [canonicalize(f.key.clone(), this.ports)];
      for (let i = 0; i < samples; i++) {
        const k = randomKey(this.rng, this.ports);
        for (let b = 0; b < 78; b++) k.buf[b] = (k.buf[b] & ~f.mask.buf[b]) | f.key.buf[b];
        candidates.push(canonicalize(k, this.ports));
      }
      for (const k of candidates) {
        if (!k.and(f.mask).equals(f.key)) continue;       // not a packet the parser can produce inside this megaflow
        checked++;
        this.compare('installed megaflow', k, f.actions, f);
      }
    }
    return checked;
  }

}

/** A non-strict selector covering rule `r`: its match with some fields dropped. */
function looseOf(rng: Rng, r: Rule): Rule['match'] {
  const m = r.match.clone();
  for (let i = 0; i < m.mask.length; i++) if (rng.chance(0.3)) { m.mask[i] = 0; m.value[i] = 0; }
  return m;
}

export const bigintJson = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v && typeof v === 'object' && 'name' in v && 'off' in v ? (v as { name: string }).name : v);
