/*
 * The OpenFlow agent under hostile input (root: a private xdp-vswitchd).
 *
 * A daemon with br0 listening on ptcp:PORT:127.0.0.1 (a free port) and on
 * RUNDIR/br0.mgmt takes seeded fuzz connections (test/support/of-fuzz.ts:
 * valid messages of every type, hostile and mutated ones, stream-level
 * damage, random TCP segmentation) in batches over both sockets, while one
 * long-lived witness connection does ECHO+BARRIER round trips during and
 * between the batches. Checked: the daemon stays alive, the witness always
 * answers with the right xids, every reply decodes, every ERROR has a valid
 * type/code and the start of the message it names as data, every fuzz
 * connection answers its closing ECHO or is closed (never left hanging),
 * and afterwards a fresh connection adds and dumps a flow and
 * `xdp-appctl dpctl/show` answers. The last test replays the minimal byte
 * strings of the bugs the fuzz found.
 *
 * OF_FUZZ_SEED picks another seed (default below); OF_FUZZ_MESSAGES and
 * OF_FUZZ_SECONDS scale the campaign (defaults keep the file under ~60 s).
 */
import { strict as assert } from 'assert';
import * as net from 'net';
import * as path from 'path';
import * as of from '../../src/openflow';
import { Topology } from '../support/topo';
import {
  OfFuzzer, Rng, PeerFramer, Witness, Target, CampaignStats, connectionBytes, planConnection, planItems, runCampaign, summarize,
  verifyFlowRoundTrip, waitListening, connect, OfClient, openSession, frame, errorName, targetName, internalErrors,
} from '../support/of-fuzz';

const SEED = Number(process.env.OF_FUZZ_SEED ?? 0x5eed0f) >>> 0;
const MESSAGES = Number(process.env.OF_FUZZ_MESSAGES ?? 40000);
const SECONDS = Number(process.env.OF_FUZZ_SECONDS ?? 30);
const BATCHES = 4;

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => res(p)); });
  });
}

/** Sends `bytes` in one write on a fresh connection; collects replies until the peer closes or `quietMs` of silence. */
async function exchange(t: Target, bytes: Buffer, quietMs = 1000): Promise<{ c: OfClient; msgs: of.OfMessage[] }> {
  const c = new OfClient(await connect(t));
  await c.write(bytes);
  let n = -1;
  while (!c.closed && n !== c.received.length) { n = c.received.length; await c.waitFor(() => false, quietMs); }
  const msgs = c.received.map((r, i) => { assert.ok(r.msg, `reply ${i} does not decode (${r.err}): ${r.raw.toString('hex')}`); return r.msg; });
  return { c, msgs };
}

describe('OpenFlow agent under fuzz (root: private xdp-vswitchd, TCP + unix socket)', function () {
  this.timeout(SECONDS * 1000 + 90000);
  let t: Topology | undefined;
  let tcp: Target, unix: Target;
  let witness: Witness | undefined;
  const batches: CampaignStats[] = [];

  before(async function () {
    assert.strictEqual(process.getuid?.(), 0, 'integration tests must run as root');
    t = new Topology();
    await t.startDaemon();
    t.ctl('vsctl', 'add-br', 'br0');
    const port = await freePort();
    t.ctl('vsctl', 'set-controller', 'br0', `ptcp:${port}:127.0.0.1`);
    tcp = { kind: 'tcp', host: '127.0.0.1', port };
    unix = { kind: 'unix', path: path.join(t.rundir, 'br0.mgmt') };
    await waitListening(tcp);
    await waitListening(unix);
    witness = await Witness.open(tcp);
  });

  after(async function () {
    witness?.close();
    if (t && !t.daemonAlive()) console.log(`      daemon log (tail):\n${t.daemonLog.split('\n').slice(-30).join('\n')}`);
    await t?.teardown();
  });

  it('the generator is deterministic, its seeds are valid OpenFlow and it covers every kind of damage', function () {
    const tgt: Target = { kind: 'tcp', host: '127.0.0.1', port: 1 };
    const p = planConnection(SEED, 5, tgt, [200, 200]);
    assert.ok(connectionBytes(p).equals(connectionBytes(planConnection(SEED, 5, tgt, [200, 200]))), 'same seed and connection, same bytes');
    assert.ok(!connectionBytes(p).equals(connectionBytes(planConnection(SEED + 1, 5, tgt, [200, 200]))), 'another seed, other bytes');
    for (const version of [of.OFP13_VERSION, of.OFP10_VERSION]) {
      const f = new OfFuzzer(new Rng(SEED), version);
      let decoded = 0;
      const n = 3000;
      for (let i = 0; i < n; i++) {
        const m = f.valid();
        assert.equal(m.bytes.readUInt16BE(2), m.bytes.length, `${m.kind}: header length`);
        assert.equal(m.bytes[0], version, `${m.kind}: version`);
        try { of.decodeMessage(m.bytes); decoded++; } catch { /* queue/experimenter multiparts are valid OpenFlow our codec does not speak */ }
        const mut = f.mutate(m);
        assert.equal(mut.bytes.readUInt16BE(2), mut.bytes.length, `${mut.kind}: mutations keep the header length true`);
      }
      assert.ok(decoded > n * 0.95, `v${version}: ${decoded}/${n} seeds decode`);
    }
    const kinds = new Set<string>();
    for (let id = 0; id < 300; id++) for (const m of planItems(planConnection(SEED, id, tgt, [100, 100]))) kinds.add(m.kind.replace(/[:(].*$/, ''));
    for (const k of ['hello', 'flow_mod', 'packet_out', 'multipart', 'group_mod', 'meter_mod', 'port_mod', 'table_mod', 'role_request', 'experimenter',
      'bad-oxm', 'bad-oxm-mp', 'bad-act', 'bad-act-po', 'bad-act-gm', 'bad-inst', 'huge', 'odd', 'unknown-type', 'hello-again', 'mp-more', 'mut', 'stream',
      'bad-act.v1', 'hello-late', 'big-reply']) {
      assert.ok(kinds.has(k), `300 connections generate no ${k} (have ${[...kinds].sort().join(' ')})`);
    }
    // The peer framer re-aligns any cut of a stream with filler, unless a header was unframeable.
    const r = new Rng(SEED);
    for (let i = 0; i < 500; i++) {
      const pf = new PeerFramer(false);
      const bytes = connectionBytes(planConnection(SEED, 1000 + i, tgt, [3, 6]));
      pf.push(bytes.subarray(0, r.int(bytes.length + 1)));
      pf.push(pf.filler(4));
      assert.ok(pf.aligned || pf.unframeable !== undefined, `cut ${i} not re-aligned`);
    }
  });

  it(`takes ${BATCHES} batches of fuzz connections (seed 0x${SEED.toString(16)}) over TCP and the unix socket; the witness answers between batches`, async function () {
    for (let b = 0; b < BATCHES; b++) {
      const st = await runCampaign({
        seed: (SEED + b * 0x1000) >>> 0, targets: b % 2 ? [unix, tcp] : [tcp, unix], witness: witness!, totalMessages: Math.ceil(MESSAGES / BATCHES),
        timeBudgetMs: (SECONDS * 1000) / BATCHES, concurrency: 4, messagesPerConn: [50, 400], alive: () => t!.daemonAlive(),
      });
      batches.push(st);
      console.log(`      batch ${b} (seed 0x${((SEED + b * 0x1000) >>> 0).toString(16)}):\n${summarize(st).replace(/^/gm, '        ')}`);
      assert.ok(t!.daemonAlive(), `xdp-vswitchd died during batch ${b}`);
      assert.ok(witness!.alive, 'the witness connection was closed');
      const rtt = await witness!.roundTrip();
      console.log(`        witness round trip after the batch: ${rtt.toFixed(2)} ms`);
    }
    const all = batches.flatMap((s) => s.violations);
    const sum = (f: (s: CampaignStats) => number): number => batches.reduce((a, s) => a + f(s), 0);
    const errors = sum((s) => [...s.errors.values()].reduce((a, n) => a + n, 0));
    console.log(`      total: ${sum((s) => s.messages)} messages sent, ${errors} errors received, ${sum((s) => s.connections)} connections, ` +
      `${sum((s) => s.closedByPeer)} closed by the peer, ${sum((s) => s.answered)} answered their closing ECHO, ${witness!.rtts.length} witness round trips`);
    const byCode = new Map<string, number>();
    for (const s of batches) for (const [k, n] of s.errors) byCode.set(k, (byCode.get(k) ?? 0) + n);
    console.log(`      errors by type/code: ${[...byCode].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    const kinds = new Map<string, number>();
    for (const v of all) kinds.set(v.kind, (kinds.get(v.kind) ?? 0) + 1);
    if (all.length) console.log(`      violations by kind: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const v of all.slice(0, 30)) {
      // connectionBytes(plan) gives the whole stream of that connection again.
      console.log(`      [${v.kind}] ${v.conn}: ${v.detail}` + (v.plan ? `\n        stream: connectionBytes(${JSON.stringify({ ...v.plan, target: targetName(v.plan.target) })}), starts ${connectionBytes(v.plan).subarray(0, 32).toString('hex')}` : ''));
    }
    assert.ok(sum((s) => s.messages) > 5000, `only ${sum((s) => s.messages)} messages sent`);
    assert.ok(sum((s) => s.answered) > 0 && sum((s) => s.closedByPeer) > 0, 'some connections must be answered to the end and some closed');
    assert.ok(errors > 1000, 'hostile input must draw errors');
    const internal = internalErrors(t!.daemonLog);
    for (const l of internal.slice(0, 20)) console.log(`      daemon: ${l}`);
    assert.equal(all.length, 0, `${all.length} violations (first: [${all[0]?.kind}] ${all[0]?.detail})`);
    assert.deepEqual(internal, [], 'the daemon logged internal errors');
  });

  it('afterwards a fresh connection adds a flow, the barrier covers it, a flow dump lists it; xdp-appctl dpctl/show answers', async function () {
    assert.ok(t!.daemonAlive(), 'xdp-vswitchd is not running');
    for (const target of [tcp, unix]) {
      const err = await verifyFlowRoundTrip(target);
      assert.equal(err, undefined, `${targetName(target)}: ${err}`);
    }
    const show = t!.ctlTry('appctl', 'dpctl/show');
    assert.equal(show.status, 0, `dpctl/show: ${show.err}`);
    assert.match(show.out, /lookups: hit:\d+ missed:\d+ lost:\d+/);
  });

  it('reproducers of what the fuzz found: well-formed errors, nothing received before a bad header is lost', async function () {
    const H = hex('04000010 00000001 00010008 00000012');              // HELLO, bitmap {1, 4}
    const problems: string[] = [];
    // 1. FLOW_MOD add to table 0xff: FLOW_MOD_FAILED/BAD_TABLE_ID is code 2 (OVS sends it); code 9 does not exist for that type.
    {
      const fm = frame(4, 14, 2, hex('0000000000000000 0000000000000000 ff 00 0000 0000 8000 ffffffff ffffffff ffffffff 0000 0000 00010004 00000000'));
      const { c, msgs } = await exchange(tcp, Buffer.concat([H, fm]), 500);
      c.close();
      const e = msgs.find((m): m is of.ErrorMsg => m.type === 'error' && m.xid === 2);
      if (!e || e.errType !== 5 || e.code !== 2) problems.push(`FLOW_MOD to table 255: want FLOW_MOD_FAILED/BAD_TABLE_ID (5/2), got ${e ? `${e.errType}/${e.code} (${errorName(4, e.errType, e.code)})` : 'no error'}`);
    }
    // 2. ECHO_REQUEST then a header with length 0 in one write: the echo is answered before the close, and an ERROR
    //    for the bad header (if any) carries that header and its xid, not the first bytes of the TCP read.
    {
      const { c, msgs } = await exchange(tcp, Buffer.concat([H, hex('0402000c 00000005 61626364'), hex('04000000 00000099')]));
      c.close();
      if (!msgs.some((m) => m.type === 'echo_reply' && m.xid === 5)) problems.push('ECHO_REQUEST before a bad header in the same read got no reply (OVS answers it)');
      for (const m of msgs) {
        if (m.type === 'error' && !(m.xid === 0x99 && m.data.subarray(0, 8).equals(hex('0400000000000099')))) {
          problems.push(`the error for a bad header names xid 0x${m.xid.toString(16)} with data ${m.data.toString('hex')} (want xid 0x99, data 0400000000000099)`);
        }
      }
    }
    // 3. FLOW_MOD then a bad header in one write: the flow is installed (OVS installs it), as it would be one read earlier.
    {
      const cookie = '00000000f022c0de';
      const fm = frame(4, 14, 2, hex(`${cookie} 0000000000000000 00 00 0000 0000 7777 ffffffff ffffffff ffffffff 0000 0000 0001000a 80000a020800 000000000000`));
      (await exchange(tcp, Buffer.concat([H, fm, hex('04000000 00000099')]))).c.close();
      const { c } = await openSession(tcp, [4]);
      await c.write(frame(4, 18, 3, hex(`0001 0000 00000000 ff000000 ffffffff ffffffff 00000000 ${cookie} ffffffffffffffff 00010004 00000000`)));
      const r = await c.waitFor((m) => m.xid === 3, 5000);
      const n = typeof r !== 'string' && r.type === 'multipart_reply' && r.body.mpType === 'flow' ? r.body.flows.length : -1;
      await c.write(frame(4, 14, 4, hex(`${cookie} ffffffffffffffff ff 03 0000 0000 7777 ffffffff ffffffff ffffffff 0000 0000 00010004 00000000`)));
      c.close();
      if (n !== 1) problems.push(`FLOW_MOD followed by a bad header in the same read: ${n < 0 ? 'flow dump failed' : `${n} flows with its cookie`} (OVS: 1)`);
    }
    // 4. An OpenFlow 1.0 flow on in_port 0xfff6 (a number 1.0 reserves): accepting it is what OVS does, but then a 1.3
    //    flow dump must still decode; ours says OXM in_port 0xfffffff6, which the codec (and so xdp-ofctl dump-flows) rejects.
    {
      const cookie = '00000000f022c0df';
      const m10 = hex(`003ffffe fff6 ${'00'.repeat(34)}`);
      const add = frame(1, 14, 2, Buffer.concat([m10, hex(`${cookie} 0000 0000 0000 1234 ffffffff ffff 0000`)]));
      const { c: c1, msgs } = await exchange(tcp, Buffer.concat([hex('0100000800000001'), add, frame(1, 18, 3, Buffer.alloc(0))]), 500);
      c1.close();
      if (!msgs.some((m) => m.type === 'error' && m.xid === 2)) {
        const c = new OfClient(await connect(tcp));
        await c.write(Buffer.concat([H, frame(4, 18, 3, hex(`0001 0000 00000000 ff000000 ffffffff ffffffff 00000000 ${cookie} ffffffffffffffff 00010004 00000000`))]));
        await c.waitFor((m) => m.xid === 3, 3000);
        const bad = c.received.find((r) => !r.msg);
        await c.write(frame(4, 14, 4, hex(`${cookie} ffffffffffffffff ff 03 0000 0000 0000 ffffffff ffffffff ffffffff 0000 0000 00010004 00000000`)));
        c.close();
        if (bad) problems.push(`after an OF1.0 flow with in_port=0xfff6, the 1.3 flow dump does not decode (${bad.err}): ${bad.raw.toString('hex')}`);
      }
    }
    assert.ok(t!.daemonAlive(), 'xdp-vswitchd died');
    assert.deepEqual(problems, []);
  });
});
