/*
 * One OpenFlow table (OVS lib/classifier): tuple-space search with priority
 * sorting, staged lookup and prefix tracking.
 *
 * - Rules with the same mask share a subtable: one hash probe per subtable.
 * - Subtables are visited by decreasing max priority, and the visit stops
 *   once no remaining subtable can beat the rule found.
 * - Staged lookup: a subtable keeps the set of hashes of its rules' masked
 *   metadata, metadata+L2, metadata+L2+L3 words; a packet that misses at a
 *   stage needs only the bits of the stages so far in its megaflow.
 * - Prefix tracking (PrefixTree) on nw_src, nw_dst (IPv4 and IPv6) and the
 *   L4 ports: when no rule of a subtable has the packet's prefix, only the
 *   leading bits that prove it are un-wildcarded.
 *
 * Every lookup ORs into `wc` exactly the bits its decision depended on; the
 * megaflow built from them is what keeps the caches equal to the tables.
 */
import { FLOW_SIZE, FLOW_WORDS, WORD_STAGE, N_STAGES } from './meta-flow';
import { Match } from './match';
import { Rule } from './ofp-actions';
import { PrefixTree } from './prefix-tree';

/** A prefix-tracked field: byte offset and width in bits. */
interface TrieField { off: number; width: number }
const TRIE_FIELDS: readonly TrieField[] = [
  { off: 28, width: 128 },   // nw_src / ipv6_src / arp_spa
  { off: 44, width: 128 },   // nw_dst / ipv6_dst / arp_tpa
  { off: 72, width: 16 },    // tp_src
  { off: 74, width: 16 },    // tp_dst
];

/** Length of the prefix `mask` has on the field, or -1 if it is not a prefix (0 = unmatched). */
function prefixLen(mask: Buffer, t: TrieField): number {
  let n = 0;
  const bytes = t.width / 8;
  let i = 0;
  for (; i < bytes && mask[t.off + i] === 0xff; i++) n += 8;
  if (i < bytes) {
    const b = mask[t.off + i];
    const ones = Math.clz32(~(b << 24));
    if (((b << ones) & 0xff) !== 0) return -1;
    n += ones;
    for (i++; i < bytes; i++) if (mask[t.off + i]) return -1;
  }
  return n;
}

/** The field's leading `plen` bits of `flow`, as the PrefixTree key. */
function prefixKey(flow: Buffer, t: TrieField, plen: number): number | bigint {
  if (plen <= 32) {
    const top = t.width === 16 ? flow.readUInt16BE(t.off) << 16 : flow.readUInt32BE(t.off);
    return plen === 32 ? top >>> 0 : top >>> (32 - plen);
  }
  let v = 0n;
  for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(flow[t.off + i]);
  return v >> BigInt(128 - plen);
}

/** Sets the first `n` bits of a field in a wildcard buffer. */
function wcPrefix(wc: Buffer, off: number, n: number): void {
  let i = off;
  for (; n >= 8; n -= 8) wc[i++] = 0xff;
  if (n > 0) wc[i] |= (0xff00 >> n) & 0xff;
}

const mix = (h: number, w: number): number => {
  h = Math.imul(h ^ w, 0x9e3779b1);
  return (h ^ (h >>> 15)) | 0;
};

class Subtable {
  readonly mask: Buffer;
  readonly maskWords = new Int32Array(FLOW_WORDS);
  /** Word indices with mask bits, per stage; only non-empty stages are kept. */
  readonly stages: number[][] = [];
  /** Mask of stages 0..i, to un-wildcard on a miss at stage i. */
  readonly stageMasks: Buffer[] = [];
  /** Hash (through stage i, i < last) -> number of rules with it. */
  readonly stageHashes: Map<number, number>[] = [];
  readonly buckets = new Map<number, Rule[]>();
  readonly tries: { t: TrieField; plen: number; tree: PrefixTree }[] = [];
  /** Tries to consult before hashing each stage (OVS checks a trie at its field's stage). */
  readonly stageTries: { t: TrieField; plen: number; tree: PrefixTree }[][] = [];
  readonly priorities = new Map<number, number>();
  maxPriority = -1;
  nRules = 0;

  constructor(mask: Buffer) {
    this.mask = Buffer.from(mask);
    for (let w = 0; w < FLOW_WORDS; w++) this.maskWords[w] = mask.readInt32LE(w * 4);
    const acc = Buffer.alloc(FLOW_SIZE);
    for (let s = 0; s < N_STAGES; s++) {
      const words: number[] = [];
      for (let w = 0; w < FLOW_WORDS; w++) if (WORD_STAGE[w] === s && this.maskWords[w] !== 0) words.push(w);
      if (!words.length) continue;
      for (const w of words) acc.writeInt32LE(this.maskWords[w], w * 4);
      this.stages.push(words);
      this.stageMasks.push(Buffer.from(acc));
      this.stageHashes.push(new Map());
    }
    if (!this.stages.length) { this.stages.push([]); this.stageMasks.push(Buffer.from(acc)); this.stageHashes.push(new Map()); }
    for (const _ of this.stages) this.stageTries.push([]);
    for (const t of TRIE_FIELDS) {
      const plen = prefixLen(mask, t);
      if (plen <= 0) continue;
      const tr = { t, plen, tree: new PrefixTree(plen) };
      this.tries.push(tr);
      const w = t.off >> 2;
      this.stageTries[this.stages.findIndex((ws) => ws.includes(w) || ws.includes(w + 1) || ws.includes(w + 2) || ws.includes(w + 3))].push(tr);
    }
  }

  /** Hashes of the masked flow after each stage (the last is the bucket hash). */
  hashes(flow: Buffer): number[] {
    const out: number[] = [];
    let h = 0x2545f491;
    for (const words of this.stages) {
      for (const w of words) h = mix(h, flow.readInt32LE(w * 4) & this.maskWords[w]);
      out.push(h);
    }
    return out;
  }

  matches(flow: Buffer, r: Rule): boolean {
    const v = r.match.value;
    for (const words of this.stages) {
      for (const w of words) if ((flow.readInt32LE(w * 4) & this.maskWords[w]) !== v.readInt32LE(w * 4)) return false;
    }
    return true;
  }
}

const betterThan = (a: Rule, b: Rule | undefined): boolean =>
  !b || a.priority > b.priority || (a.priority === b.priority && a.id < b.id);

export class Classifier {
  private readonly subtables = new Map<string, Subtable>();
  private sorted: Subtable[] = [];
  private resort = false;
  private n = 0;

  get count(): number { return this.n; }
  get nSubtables(): number { return this.subtables.size; }

  /**
   * Adds `rule`. A rule with an identical match and priority is replaced and
   * returned (OFPFC_ADD semantics).
   */
  insert(rule: Rule): Rule | undefined {
    const old = this.findStrict(rule.match, rule.priority);
    if (old) this.remove(old);
    const mk = rule.match.mask.toString('latin1');
    let st = this.subtables.get(mk);
    if (!st) { st = new Subtable(rule.match.mask); this.subtables.set(mk, st); this.resort = true; }
    const hs = st.hashes(rule.match.value);
    for (let i = 0; i < hs.length - 1; i++) st.stageHashes[i].set(hs[i], (st.stageHashes[i].get(hs[i]) ?? 0) + 1);
    const bucket = st.buckets.get(hs[hs.length - 1]);
    if (!bucket) st.buckets.set(hs[hs.length - 1], [rule]);
    else {
      // Highest priority first, then oldest: the first match in a bucket is the answer.
      let i = 0;
      while (i < bucket.length && !betterThan(rule, bucket[i])) i++;
      bucket.splice(i, 0, rule);
    }
    for (const tr of st.tries) tr.tree.insert(prefixKey(rule.match.value, tr.t, tr.plen));
    st.priorities.set(rule.priority, (st.priorities.get(rule.priority) ?? 0) + 1);
    if (rule.priority > st.maxPriority) { st.maxPriority = rule.priority; this.resort = true; }
    st.nRules++;
    this.n++;
    return old;
  }

  remove(rule: Rule): boolean {
    const st = this.subtables.get(rule.match.mask.toString('latin1'));
    if (!st) return false;
    const hs = st.hashes(rule.match.value);
    const bucket = st.buckets.get(hs[hs.length - 1]);
    const i = bucket ? bucket.indexOf(rule) : -1;
    if (i < 0) return false;
    bucket!.splice(i, 1);
    if (!bucket!.length) st.buckets.delete(hs[hs.length - 1]);
    for (let s = 0; s < hs.length - 1; s++) {
      const c = st.stageHashes[s].get(hs[s])! - 1;
      if (c) st.stageHashes[s].set(hs[s], c); else st.stageHashes[s].delete(hs[s]);
    }
    for (const tr of st.tries) tr.tree.remove(prefixKey(rule.match.value, tr.t, tr.plen));
    const pc = st.priorities.get(rule.priority)! - 1;
    if (pc) st.priorities.set(rule.priority, pc);
    else {
      st.priorities.delete(rule.priority);
      if (rule.priority === st.maxPriority) {
        st.maxPriority = -1;
        for (const p of st.priorities.keys()) if (p > st.maxPriority) st.maxPriority = p;
        this.resort = true;
      }
    }
    st.nRules--;
    this.n--;
    if (!st.nRules) { this.subtables.delete(rule.match.mask.toString('latin1')); this.resort = true; }
    return true;
  }

  /** The rule with exactly this match and priority (strict modify/delete). */
  findStrict(match: Match, priority: number): Rule | undefined {
    const st = this.subtables.get(match.mask.toString('latin1'));
    if (!st) return undefined;
    const hs = st.hashes(match.value);
    return st.buckets.get(hs[hs.length - 1])?.find((r) => r.priority === priority && r.match.value.equals(match.value));
  }

  /**
   * The highest-priority rule matching `flow` (ties: the oldest). ORs into
   * `wc` (a FLOW_SIZE buffer) the bits the answer depended on.
   */
  lookup(flow: Buffer, wc: Buffer | null): Rule | undefined {
    if (this.resort) this.sortSubtables();
    let best: Rule | undefined;
    for (const st of this.sorted) {
      if (best && st.maxPriority < best.priority) break;
      let h = 0x2545f491;
      const last = st.stages.length - 1;
      let s = 0;
      let pruned = false;
      for (; s <= last; s++) {
        for (const w of st.stages[s]) h = mix(h, flow.readInt32LE(w * 4) & st.maskWords[w]);
        if (s === last || st.stageHashes[s].has(h)) continue;
        // A miss at this stage. If a prefix of this stage's fields proves it with
        // fewer bits (OVS's tries), use that proof; it is only worth its cost when
        // wildcards are wanted.
        if (wc && st.stageTries[s].length && this.skippedByPrefix(st.stageTries[s], flow, wc)) pruned = true;
        break;
      }
      if (pruned) {                             // earlier stages matched, the prefix did not
        if (wc && s > 0) orInto(wc, st.stageMasks[s - 1]);
        continue;
      }
      const bucket = s > last ? st.buckets.get(h) : undefined;
      if (!bucket && wc && s >= last && st.stageTries[last].length && this.skippedByPrefix(st.stageTries[last], flow, wc)) {
        if (last > 0) orInto(wc, st.stageMasks[last - 1]);   // the last stage missed: a prefix may prove it
        continue;
      }
      if (wc) orInto(wc, st.stageMasks[Math.min(s, last)]);
      if (s <= last || !bucket) continue;       // missed at stage s, or no rule with this hash
      for (const r of bucket) {
        if (st.matches(flow, r)) { if (betterThan(r, best)) best = r; break; }
      }
    }
    return best;
  }

  private skippedByPrefix(tries: Subtable['tries'], flow: Buffer, wc: Buffer | null): boolean {
    for (const tr of tries) {
      const need = tr.tree.check(prefixKey(flow, tr.t, tr.plen));
      if (need < 0) continue;
      if (wc) wcPrefix(wc, tr.t.off, need);
      return true;
    }
    return false;
  }

  private sortSubtables(): void {
    this.sorted = [...this.subtables.values()].sort((a, b) => b.maxPriority - a.maxPriority);
    this.resort = false;
  }

  *rules(): IterableIterator<Rule> {
    for (const st of this.subtables.values()) for (const b of st.buckets.values()) yield* b;
  }
}

/** wc |= m, over the bytes m has (Buffer word writes validate and cost ~1 us per call). */
function orInto(wc: Buffer, m: Buffer): void {
  let nz = NONZERO.get(m);
  if (!nz) {
    nz = [];
    for (let i = 0; i < FLOW_SIZE; i++) if (m[i]) nz.push(i);
    NONZERO.set(m, nz);
  }
  for (const i of nz) wc[i] |= m[i];
}
const NONZERO = new WeakMap<Buffer, number[]>();
