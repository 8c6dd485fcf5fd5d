/*
 * The cache oracle over the real fast path (root): random pipelines and
 * packet streams (test/support/oracle) through Udpif over DpifXdp, each packet
 * built as a frame from its model key and run through the XDP program with
 * BPF_PROG_RUN. For every packet:
 *  - a miss must come back as a MISS upcall whose key (extracted by the BPF
 *    parser) is the model key; the actions udpif executes for it are compared
 *    with the reference translation;
 *  - a hit must land on the megaflow the model predicts (a shadow DpclsModel
 *    fed the same flow messages): that flow's packet counter moves by one,
 *    and its actions are compared with the reference.
 * After each flow_mod (+ barrier), every megaflow dumped from the datapath is
 * re-translated. Ports are veths whose peers stay outside the datapath, and
 * udpif's executes are captured instead of sent, so nothing else reaches it.
 * ORACLE_BPF_SEEDS / ORACLE_BPF_PACKETS to replay or scale.
 */
import { strict as assert } from 'assert';
import { randomBytes } from 'crypto';
import { DpifXdp } from '../../src/dpif/dpif-xdp';
import { decodePacketMsg, encodeFlowMsg, FlowCmd, PacketCmd, OvsPacketMsg, OdpAction, XDP_FAMILY_IDS } from '../../src/dpif/odp-netlink';
import { formatFlowMatch } from '../../src/dpif/odp-util';
import { progTestRun } from '../../src/bpf';
import { Oracle, captureLogs } from '../support/oracle/harness';
import { DpclsModel, actionsKey } from '../support/oracle/dpcls-model';
import { keyToFrame } from '../support/oracle/packets';
import { sh, shTry } from '../support/topo';

const XDP_DROP = 1;
const SEEDS = process.env.ORACLE_BPF_SEEDS ? process.env.ORACLE_BPF_SEEDS.split(',').map(Number) : [101, 102, 103, 104];
const TOTAL = Number(process.env.ORACLE_BPF_PACKETS ?? 20_000);
const PER_SEED = Math.ceil(TOTAL / SEEDS.length);
const MOD_EVERY = 500;
const N_PORTS = 6;                     // random pipelines use ports 1..4-6

describe('oracle over the BPF fast path (root, BPF_PROG_RUN)', function () {
  this.timeout(180_000);
  const pfx = `xo${randomBytes(3).toString('hex')}`;
  const ifindex: number[] = [];
  let dp: DpifXdp;
  let shadow = new DpclsModel();
  let executed: OdpAction[] = [];
  let restoreLogs: () => void;
  let total = { packets: 0, ms: 0 };
  const dumpMismatch: string[] = [];

  before(async () => {
    assert.strictEqual(process.getuid?.(), 0, 'the BPF oracle must run as root');
    restoreLogs = captureLogs();
    for (let p = 1; p <= N_PORTS; p++) {
      // p<N> is the datapath port; its peer q<N> is nobody's port (nothing comes back in)
      sh('ip', ['link', 'add', `${pfx}p${p}`, 'type', 'veth', 'peer', 'name', `${pfx}q${p}`]);
      for (const d of ['p', 'q']) {
        shTry('sysctl', ['-qw', `net.ipv6.conf.${pfx}${d}${p}.disable_ipv6=1`]);
        sh('ip', ['link', 'set', `${pfx}${d}${p}`, 'up']);
      }
      ifindex[p] = Number(sh('cat', [`/sys/class/net/${pfx}p${p}/ifindex`]).trim());
    }
    dp = await DpifXdp.open(pfx, { rerankMs: 3_600_000 });
    for (let p = 1; p <= N_PORTS; p++) await dp.addPort(`${pfx}p${p}`, p, 'tc');
    // Every flow message also goes to the shadow model (after the datapath took it);
    // executes are recorded as the decision for the upcalled packet, not sent.
    const transact = dp.transact.bind(dp);
    dp.transact = (req: Buffer): Buffer[] => {
      if (req.readUInt16LE(4) === XDP_FAMILY_IDS.ovs_packet) {
        executed = [...executed, ...(decodePacketMsg(req).actions ?? [])];
        return [];
      }
      const r = transact(req);
      shadow.transact(req);
      return r;
    };
    // udpif's puts, deletes and executes skip the messages (dpif-xdp's direct methods): mirror those too.
    const put = dp.flowPut.bind(dp), del = dp.flowDel.bind(dp);
    dp.flowPut = (m, modify = false): void => {
      put(m, modify);
      shadow.transact(encodeFlowMsg({ ...m, cmd: modify ? FlowCmd.SET : FlowCmd.NEW, dpIfindex: dp.dpIfindex }));
    };
    dp.flowDel = (ufid) => {
      const r = del(ufid);
      shadow.transact(encodeFlowMsg({ cmd: FlowCmd.DEL, dpIfindex: dp.dpIfindex, ufid }));
      return r;
    };
    const putMany = dp.flowPutMany.bind(dp), delMany = dp.flowDelMany.bind(dp);
    dp.flowPutMany = (ms) => {
      const errs = putMany(ms);
      ms.forEach((m, i) => { if (!errs[i]) shadow.transact(encodeFlowMsg({ ...m, cmd: FlowCmd.NEW, dpIfindex: dp.dpIfindex })); });
      return errs;
    };
    dp.flowDelMany = (ufids) => {
      const n = delMany(ufids);
      for (const ufid of ufids) shadow.transact(encodeFlowMsg({ cmd: FlowCmd.DEL, dpIfindex: dp.dpIfindex, ufid }));
      return n;
    };
    dp.execute = (_packet, _key, actions): void => { executed = [...executed, ...actions]; };
  });

  after(async () => {
    await dp?.close();
    for (let p = 1; p <= N_PORTS; p++) shTry('ip', ['link', 'del', `${pfx}p${p}`]);
    restoreLogs?.();
    if (total.packets) console.log(`      BPF oracle: ${total.packets} packets in ${(total.ms / 1000).toFixed(1)} s, ${Math.round(total.packets / (total.ms / 1000))} packets/s`);
  });

  const run = (pkt: Buffer, port: number): number => {
    const ctx = Buffer.alloc(24);
    ctx.writeUInt32LE(pkt.length, 4); ctx.writeUInt32LE(ifindex[port], 12);
    return progTestRun(dp.programFd('xdp'), { data: pkt, ctxIn: ctx }).retval;
  };

  for (const seed of SEEDS) {
    it(`seed ${seed}: ${PER_SEED} packets through the XDP program agree with the tables`, async () => {
      dp.flowFlush();
      shadow = new DpclsModel();
      const o = Oracle.create(seed, dp);
      const problems: string[] = [];              // the BPF path differing from the model's prediction
      const misses: OvsPacketMsg[] = [];
      let wake: (() => void) | undefined;
      // After udpif's own listener: the upcall has been handled (flow put, packet executed) when this runs.
      const onUpcall = (b: Buffer): void => { const m = decodePacketMsg(b); if (m.cmd === PacketCmd.MISS) { misses.push(m); wake?.(); } };
      dp.on('upcall', onUpcall);
      const nextMiss = async (): Promise<OvsPacketMsg | undefined> => {
        const end = Date.now() + 1000;
        while (!misses.length && Date.now() < end) await new Promise<void>((r) => { wake = r; setTimeout(r, 20); });
        wake = undefined;
        return misses.shift();
      };
      let hits = 0, upcalls = 0, checked = 0;
      const s0 = dp.stats();
      const t0 = Date.now();
      try {
        for (let i = 0; i < PER_SEED && problems.length < 5 && o.divergences.length < 5; i++) {
            if (i && i % MOD_EVERY === 0) {
            o.mutate();
            checked += o.checkMegaflows([...shadow.flows.values()], 0);
          }
          const key = o.nextKey();
          const pkt = keyToFrame(key);
          const want = o.reference(key);
          const f = shadow.lookup(key);
          executed = [];
          if (f) {
            const before = dp.flowGet(f.ufid)?.stats.packets ?? -1n;
            run(pkt, key.inPort);
            const after = dp.flowGet(f.ufid)?.stats.packets ?? -1n;
            hits++;
            if (after !== before + 1n) problems.push(`packet ${i}: expected a hit on ${formatFlowMatch(f.key, f.mask)} (packets ${before} -> ${after})`);
            o.compare(`packet ${i}: BPF hit`, key, f.actions, f, want);
            if (misses.length) problems.push(`packet ${i}: unexpected upcall for ${formatFlowMatch(misses[0].key, misses.shift()!.key)}`);
            continue;
          }
          upcalls++;
          const rv = run(pkt, key.inPort);
          if (rv !== XDP_DROP) problems.push(`packet ${i}: a miss returned ${rv}, not XDP_DROP`);
          const m = await nextMiss();
          if (!m) { problems.push(`packet ${i}: no upcall for ${formatFlowMatch(key, key)}`); continue; }
          if (!m.packet.equals(pkt)) problems.push(`packet ${i}: upcall carries another packet`);
          if (!m.key.equals(key)) problems.push(`packet ${i}: BPF key ${m.key.hex()}\n  model key ${key.hex()}`);
          o.compare(`packet ${i}: BPF upcall`, key, executed, undefined, want);
        }
        checked += o.checkMegaflows([...shadow.flows.values()], 2);
        // The shadow holds the same flows as the datapath (UFIDs and actions); the
        // matches a dump reports are checked separately (last test).
        const dump = dp.flowDump();
        assert.deepEqual(dump.map((f) => `${f.ufid.toString('hex')} ${actionsKey(f.actions)}`).sort(),
          [...shadow.flows.values()].map((f) => `${f.ufid.toString('hex')} ${actionsKey(f.actions)}`).sort(), 'datapath flows = model flows');
        for (const d of dump) {
          const f = shadow.flows.get(d.ufid.toString('hex'))!;
          if (!d.mask.equals(f.mask) || !d.key.equals(f.key)) dumpMismatch.push(`put  ${formatFlowMatch(f.key, f.mask)}  (mask ${f.mask.hex()})\n  dump ${formatFlowMatch(d.key, d.mask)}  (mask ${d.mask.hex()})`);
        }
        const s1 = dp.stats();
        const ms = Date.now() - t0;
        total = { packets: total.packets + PER_SEED, ms: total.ms + ms };
        console.log(`      seed ${seed}: ${o.tables.ruleCount} rules, ${hits} hits / ${upcalls} upcalls (datapath: ${s1.hit - s0.hit} / ${s1.missed - s0.missed}), ` +
          `${s1.flows} megaflows, ${s1.masksTotal} masks, ${o.udpif.counters.installFailed} installs refused, ${checked} megaflow checks, ` +
          `${Math.round(PER_SEED / (ms / 1000))} packets/s`);
        assert.deepEqual(problems, [], `seed ${seed}: the BPF datapath did not do what the model predicts`);
        if (o.divergences.length) assert.fail(`seed ${seed}: cache and tables disagree:\n${o.divergences.map((d) => o.describe(d)).join('\n')}`);
        assert.equal(s1.hit - s0.hit, BigInt(hits), 'datapath hits = predicted hits');
        assert.equal(s1.missed - s0.missed, BigInt(upcalls), 'datapath misses = predicted misses');
        assert.equal(shadow.orderDependent, 0, 'no packet matched megaflows with different actions');
      } finally {
        dp.off('upcall', onUpcall);
        o.close();
      }
    });
  }

  it('flow dumps report the match the datapath uses (what was put)', () => {
    assert.ok(total.packets > 0, 'the seeds ran');
    assert.equal(dumpMismatch.length, 0, `${dumpMismatch.length} dumped megaflows differ from their put, e.g.\n${dumpMismatch.slice(0, 3).join('\n')}`);
  });
});
