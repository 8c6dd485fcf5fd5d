/*
 * The classifier (tuple space + staged lookup + prefix tries) against a
 * linear scan, on random rule sets of up to a few thousand overlapping rules:
 * the same rule is chosen, OFPFC_ADD-style replace/remove keep it so, and the
 * wildcards it reports are sound: a packet that agrees with P on every
 * un-wildcarded bit gets P's rule (checked by flipping random other bits).
 */
import { strict as assert } from 'assert';
import { Classifier } from '../../src/ofproto/classifier';
import { Match } from '../../src/ofproto/match';
import { FLOW_SIZE, OFS_METADATA, OFS_REGS, mfField } from '../../src/ofproto/meta-flow';
import { Rule } from '../../src/ofproto/ofp-actions';
import { XPort } from '../../src/ofproto/xlate';
import { Rng, randomMatch } from '../support/oracle/random-tables';
import { randomKey, keyForRule } from '../support/oracle/packets';

const PORTS: XPort[] = [1, 2, 3, 4].map((p) => ({ ofport: p, name: `p${p}`, live: true }));

let nextId = 1;
function rule(match: Match, priority: number, id = nextId++): Rule {
  return { id, tableId: 0, priority, match, actions: [], cookie: 0n, idleTimeout: 0, hardTimeout: 0, flags: 0, importance: 0,
    created: 0, modified: 0, usedAt: 0, nPackets: 0n, nBytes: 0n };
}

/** The reference: highest priority, then lowest id (insertion order), by Match.matches. */
function linear(rules: Iterable<Rule>, flow: Buffer): Rule | undefined {
  let best: Rule | undefined;
  for (const r of rules) {
    if (!r.match.matches(flow)) continue;
    if (!best || r.priority > best.priority || (r.priority === best.priority && r.id < best.id)) best = r;
  }
  return best;
}

function randomRules(rng: Rng, n: number): Rule[] {
  const prios = [0, 10, 100, 100, 200, 1000, 32768, 65535];
  return Array.from({ length: n }, () => rule(randomMatch(rng, rng.int(3), PORTS).match, rng.chance(0.7) ? rng.pick(prios) : rng.int(2000)));
}

/** A 120-byte flow: a datapath key aimed at some rule (or random), plus pipeline state. */
function randomFlow(rng: Rng, rules: Rule[]): Buffer {
  const k = rules.length && rng.chance(0.7) ? keyForRule(rng, rng.pick(rules), PORTS) : randomKey(rng, PORTS);
  const flow = Buffer.alloc(FLOW_SIZE);
  k.buf.copy(flow, 0, 0, 78);
  flow.writeBigUInt64BE(BigInt(rng.int(4)), OFS_METADATA);
  flow.writeUInt32BE(rng.int(3), OFS_REGS);
  if (rules.length && rng.chance(0.3)) {
    // pipeline state as some rule wants it
    const r = rng.pick(rules);
    for (let i = OFS_METADATA; i < FLOW_SIZE; i++) flow[i] = (flow[i] & ~r.match.mask[i]) | r.match.value[i];
  }
  return flow;
}

const show = (r: Rule | undefined): string => (r ? `rule ${r.id} prio ${r.priority}` : 'no rule');

describe('classifier vs linear scan', () => {
  for (const [seed, n] of [[1, 20], [2, 200], [3, 1000], [4, 3000]] as const) {
    it(`seed ${seed}: ${n} random rules, 3000 lookups: same rule, sound wildcards`, () => {
      const rng = new Rng(seed);
      const rules = randomRules(rng, n);
      const c = new Classifier();
      for (const r of rules) c.insert(r);
      const live = [...c.rules()];
      assert.equal(c.count, live.length);
      let flips = 0;
      for (let i = 0; i < 3000; i++) {
        const flow = randomFlow(rng, live);
        const wc = Buffer.alloc(FLOW_SIZE);
        const got = c.lookup(flow, wc);
        const want = linear(live, flow);
        assert.equal(show(got), show(want), `lookup ${i} (seed ${seed}): flow ${flow.toString('hex')}`);
        assert.equal(c.lookup(flow, null), got, 'lookup without wildcards gives the same rule');
        for (let t = 0; t < 4; t++) {
          const other = Buffer.from(flow);
          const nFlip = rng.range(1, 24);
          for (let f = 0; f < nFlip; f++) {
            const byte = rng.int(FLOW_SIZE), bit = 1 << rng.int(8);
            if (!(wc[byte] & bit)) other[byte] ^= bit;
          }
          flips++;
          assert.equal(show(c.lookup(other, Buffer.alloc(FLOW_SIZE))), show(got),
            `wildcards unsound (seed ${seed}, lookup ${i}): ${flow.toString('hex')} and ${other.toString('hex')} agree on wc ${wc.toString('hex')}`);
        }
      }
      assert.ok(flips >= 12000);
    });
  }

  it('insert/replace/remove: OFPFC_ADD replaces same match+priority; lookups follow every change', () => {
    const rng = new Rng(7);
    const c = new Classifier();
    const ref = new Map<string, Rule>();              // match+priority -> rule, what OpenFlow says the table holds
    const id = (r: Rule): string => `${r.match.key()}/${r.priority}`;
    const pool = randomRules(rng, 150);                // matches to reuse, so replaces happen
    for (let step = 0; step < 4000; step++) {
      const op = rng.int(10);
      if (op < 6) {
        const base = rng.pick(pool);
        const r = rule(base.match.clone(), rng.chance(0.8) ? base.priority : rng.pick([0, 100, 200]));
        const old = c.insert(r);
        assert.equal(old, ref.get(id(r)), 'insert returns the rule it replaced');
        ref.set(id(r), r);
      } else if (ref.size) {
        const r = rng.pick([...ref.values()]);
        if (op < 8) {
          assert.equal(c.findStrict(r.match, r.priority), r, 'findStrict finds exactly match+priority');
          assert.equal(c.findStrict(r.match, r.priority + 1), ref.get(`${r.match.key()}/${r.priority + 1}`));
        }
        assert.equal(c.remove(r), true);
        assert.equal(c.remove(r), false, 'a removed rule is gone');
        ref.delete(id(r));
      }
      assert.equal(c.count, ref.size);
      if (step % 20 === 0) {
        for (let i = 0; i < 20; i++) {
          const flow = randomFlow(rng, [...ref.values()]);
          assert.equal(show(c.lookup(flow, Buffer.alloc(FLOW_SIZE))), show(linear(ref.values(), flow)), `step ${step}`);
        }
      }
    }
    assert.deepEqual([...c.rules()].map((r) => r.id).sort((a, b) => a - b), [...ref.values()].map((r) => r.id).sort((a, b) => a - b));
  });

  it('ties: equal priorities on overlapping rules go to the oldest rule, also after the oldest is replaced', () => {
    const c = new Classifier();
    const m1 = new Match().set(mfField('dl_type'), 0x0800n);
    const m2 = new Match().set(mfField('dl_type'), 0x0800n).set(mfField('nw_proto'), 17n);
    const a = rule(m1, 100), b = rule(m2, 100);
    c.insert(a); c.insert(b);
    const flow = Buffer.alloc(FLOW_SIZE); flow.writeUInt16BE(0x0800, 16); flow[20] = 17;
    assert.equal(c.lookup(flow, null), a);
    const a2 = rule(m1.clone(), 100);                   // OFPFC_ADD of the same match: a newer rule
    assert.equal(c.insert(a2), a);
    assert.equal(c.lookup(flow, null), b, 'the replacement is younger than b');
  });

  it('prefix tries: a miss on a /24 needs only the bits that prove it (plus the stages before)', () => {
    const c = new Classifier();
    c.insert(rule(new Match().set(mfField('dl_type'), 0x0800n).set(mfField('nw_src'), 0x0a000100n, 0xffffff00n), 100));
    const flow = Buffer.alloc(FLOW_SIZE); flow.writeUInt16BE(0x0800, 16);
    flow.writeUInt32BE(0x0b000001, 28);                 // 11.0.0.1: differs from 10.0.1.0/24 in the 8th bit
    const wc = Buffer.alloc(FLOW_SIZE);
    assert.equal(c.lookup(flow, wc), undefined);
    assert.equal(wc.readUInt32BE(28), 0xff000000, 'nw_src: 8 leading bits');
    assert.equal(wc.readUInt16BE(16), 0xffff, 'eth_type (an earlier stage) pinned');
  });
});
