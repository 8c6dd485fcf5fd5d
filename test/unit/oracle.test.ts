/*
 * The switch's one invariant: forwarding through the caches (megaflows
 * installed by udpif) equals forwarding by the OpenFlow tables. Random
 * pipelines and packet streams through Udpif over an in-process model of the
 * fast path's megaflow table (oracle/dpcls-model.ts); every decision is
 * compared with translation by a naive linear-scan lookup, and after every
 * flow_mod (revalidated, as before a barrier reply) every installed megaflow
 * is re-translated. Seeds: ORACLE_SEEDS=1,2,3 to replay; ORACLE_PACKETS to scale.
 */
import { strict as assert } from 'assert';
import { Oracle, captureLogs, logLines } from '../support/oracle/harness';
import { DpclsModel } from '../support/oracle/dpcls-model';
import { formatFlowMatch } from '../../src/dpif/odp-util';

const SEEDS = process.env.ORACLE_SEEDS ? process.env.ORACLE_SEEDS.split(',').map(Number) : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const TOTAL = Number(process.env.ORACLE_PACKETS ?? 100_000);
const PER_SEED = Math.ceil(TOTAL / SEEDS.length);
const MOD_EVERY = 400;

describe('oracle: megaflow cache vs OpenFlow tables (model datapath)', function () {
  this.timeout(120_000);
  let restore: () => void;
  before(() => { restore = captureLogs(); });
  after(() => restore());

  for (const seed of SEEDS) {
    it(`seed ${seed}: ${PER_SEED} packets, flow_mods every ${MOD_EVERY}, 0 divergences`, () => {
      const dp = new DpclsModel();
      const o = Oracle.create(seed, dp);
      let maxFlows = 0, maxMasks = 0, checked = 0;
      try {
        for (let i = 0; i < PER_SEED && o.divergences.length < 5; i++) {
          if (i && i % MOD_EVERY === 0) {
            o.mutate();
            checked += o.checkMegaflows([...dp.flows.values()], 1);
          }
          const key = o.nextKey();
          const want = o.reference(key);
          const r = dp.receive(key);
          o.compare(r.flow ? `packet ${i}: cache hit` : `packet ${i}: upcall`, key, r.actions, r.flow, want);
          maxFlows = Math.max(maxFlows, dp.flows.size);
          maxMasks = Math.max(maxMasks, dp.nMasks);
        }
        checked += o.checkMegaflows([...dp.flows.values()], 3);
        const s = dp.counters;
        console.log(`      seed ${seed}: ${o.tables.ruleCount} rules in ${o.spec.nTables} tables, ${o.tables.groups.size} groups; ` +
          `${s.hits} hits / ${s.misses} upcalls; megaflows ${dp.flows.size} (max ${maxFlows}), masks ${dp.nMasks} (max ${maxMasks}); ` +
          `${o.mods.length} mods, ${o.udpif.counters.revalidated} revalidated away; ${checked} megaflow checks`);
        if (o.divergences.length) assert.fail(`seed ${seed}: cache and tables disagree (first ${o.divergences.length}):\n${o.divergences.map((d) => o.describe(d)).join('\n')}`);
        assert.equal(o.udpif.counters.installFailed, 0, `seed ${seed}: megaflows not installed:\n${logLines.slice(0, 5).join('\n')}`);
        const ov = dp.overlaps.slice(0, 3).map((x) => `${formatFlowMatch(x.a.key, x.a.mask)}\n  vs ${formatFlowMatch(x.b.key, x.b.mask)} (same actions: ${x.sameActions})`);
        assert.equal(dp.overlaps.length, 0, `seed ${seed}: ${dp.overlaps.length} overlapping megaflows, ${dp.orderDependent} order-dependent lookups:\n${ov.join('\n')}`);
      } finally {
        o.close();
      }
    });
  }
});
