/*
 * xdp-ofctl without root: the vconn against a scripted OpenFlow peer in
 * this process (a net.Server on a unix socket speaking the codec):
 * negotiation, multipart collection, errors, malformed and truncated
 * replies, echo, timeouts, the monitor queue; target parsing; printing
 * against what ovs-ofctl 3.1 printed for the same bytes (the captured
 * session in test/fixtures/openflow); the requests against the bytes
 * ovs-ofctl sent (ovs-ofctl-requests.txt); flow files, --sort, packet-out
 * parsing; and the command line itself against the scripted peer.
 */
import { strict as assert } from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as of from '../../src/openflow';
import { Vconn, VconnError, OfErrorReply, OfRequest, parseTarget, parseProtocols, resetXids } from '../../src/openflow/vconn';
import { formatMessage, formatDurationNs, hexDump, errorName, formatPacket } from '../../src/openflow/ofp-print-msg';
import {
  AnyPortName, flowModFor, flowStatsRequestFor, parseFlowFile, parseFileFlows, sortFlows, sortCriterion, parsePacketOut, parsePacketOutArgs,
  ethFromHex, needsTableIdExtension,
} from '../../src/cli/ofctl-flows';
import { parseFlowMod } from '../../src/ofproto/ofp-parse';
import { Match } from '../../src/ofproto/match';
import { mfField, OFPP } from '../../src/ofproto/meta-flow';
import { packageRoot } from '../../src/lib/paths';

const FIX = path.join(packageRoot(), 'test', 'fixtures', 'openflow');
const OFCTL = path.join(packageRoot(), 'dist', 'src', 'cli', 'ofctl.js');
const mac = (s: string): Buffer => Buffer.from(s.replace(/:/g, ''), 'hex');

/* ---- a scripted OpenFlow switch ------------------------------------------- */

type Reply = (m: OfRequest) => void;
type Handler = (m: of.OfMessage, raw: Buffer, reply: Reply, sock: net.Socket, sw: FakeSwitch) => void;

interface FakeOptions {
  /** Versions in our HELLO's bitmap (default 1.0 and 1.3). */
  versions?: number[];
  /** Bytes to send instead of a HELLO. */
  hello?: Buffer;
  handler?: Handler;
}

/** Answers like a small OpenFlow switch unless a test handler does something else first. */
class FakeSwitch {
  readonly path: string;
  connections = 0;
  readonly received: of.OfMessage[] = [];
  readonly raw: Buffer[] = [];
  version = 0;
  flows: of.FlowStats[] = [];
  private readonly server: net.Server;
  private readonly socks = new Set<net.Socket>();

  constructor(dir: string, readonly opts: FakeOptions = {}, name = 'sw.sock') {
    this.path = path.join(dir, name);
    this.server = net.createServer((s) => this.accept(s));
  }

  listen(): Promise<void> { return new Promise((r) => this.server.listen(this.path, r)); }

  close(): Promise<void> {
    for (const s of this.socks) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }

  private accept(sock: net.Socket): void {
    this.connections++;
    this.socks.add(sock);
    sock.on('close', () => this.socks.delete(sock));
    sock.on('error', () => undefined);
    const versions = this.opts.versions ?? [1, 4];
    sock.write(this.opts.hello ?? of.encodeMessage({ type: 'hello', version: Math.max(...versions), xid: 0x77, versions }));
    const framer = new of.OfFramer();
    let version = 0;
    sock.on('data', (d: Buffer) => {
      let raws: Buffer[];
      try { raws = framer.push(d); } catch { sock.destroy(); return; }
      for (const raw of raws) {
        this.raw.push(raw);
        const m = of.decodeMessage(raw);
        this.received.push(m);
        if (m.type === 'hello') {
          version = of.negotiateVersion(versions, m.version, m) ?? 0;
          this.version = version;
          continue;
        }
        const reply: Reply = (r) => { if (!sock.destroyed) sock.write(of.encodeMessage({ ...r, version, xid: m.xid } as of.OfMessage)); };
        if (this.opts.handler) this.opts.handler(m, raw, reply, sock, this);
        else this.answer(m, raw, reply);
      }
    });
  }

  /** The default switch behaviour. */
  answer(m: of.OfMessage, raw: Buffer, reply: Reply): void {
    const port = (n: number, name: string): of.OfPort => ({
      portNo: n, hwAddr: mac(`02:00:00:00:00:0${n & 7}`), name, config: 0, state: of.OFPPS.LIVE, curr: of.OFPPF['10GB_FD'] | of.OFPPF.COPPER,
      advertised: 0, supported: 0, peer: 0, currSpeed: 10000000, maxSpeed: 0,
    });
    const ports = [port(1, 'eth1'), port(2, 'eth2')];
    switch (m.type) {
      case 'features_request':
        reply({ type: 'features_reply', datapathId: 0xabcn, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f, actionsBitmap: 0xfff, ports: m.version === 1 ? ports : undefined });
        return;
      case 'get_config_request': reply({ type: 'get_config_reply', flags: 0, missSendLen: 0 }); return;
      case 'barrier_request': reply({ type: 'barrier_reply' }); return;
      case 'flow_mod':
        if (m.priority === 666) reply({ type: 'error', errType: of.OFPET.BAD_MATCH, code: of.OFPBMC_ALL.BAD_PREREQ, data: raw });
        return;
      case 'multipart_request':
        switch (m.body.mpType) {
          case 'flow': reply({ type: 'multipart_reply', flags: 0, body: { mpType: 'flow', flows: this.flows } }); return;
          case 'port_desc': reply({ type: 'multipart_reply', flags: 0, body: { mpType: 'port_desc', ports } }); return;
          case 'table_features': reply({ type: 'multipart_reply', flags: 0, body: { mpType: 'table_features', tables: [] } }); return;
          case 'table': reply({ type: 'multipart_reply', flags: 0, body: { mpType: 'table', tables: [] } }); return;
          default: reply({ type: 'error', errType: of.OFPET.BAD_REQUEST, code: of.OFPBRC.BAD_MULTIPART, data: raw }); return;
        }
      default: return;
    }
  }
}

/** Waits for the scripted peer to have processed what was sent (it runs in this event loop too). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition never became true');
}

const tmpdir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'ofctl-unit-'));
const opts = (extra: Partial<Parameters<typeof Vconn.open>[1]> = {}): Parameters<typeof Vconn.open>[1] => ({ versions: [4, 1], rundir: '/nonexistent', timeoutMs: 3000, ...extra });

async function rejects(p: Promise<unknown>, re: RegExp, cls: new (...a: never[]) => Error = VconnError): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${(e as Error)?.stack}`);
    assert.match((e as Error).message, re);
    return e as Error;
  }
  assert.fail(`expected a rejection matching ${re}`);
}

const flow = (priority: number, spec: Record<string, number>, actions: string): of.FlowStats => {
  const m = new Match();
  for (const [k, v] of Object.entries(spec)) m.set(mfField(k), BigInt(v));
  return {
    tableId: 0, durationSec: 1, durationNsec: 500000000, priority, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie: 0n, packetCount: 3n, byteCount: 180n,
    match: m, actions: actions === 'drop' ? [] : [{ type: 'output', port: Number(actions) }],
  };
};

/* ---- targets ------------------------------------------------------------------- */

describe('xdp-ofctl vconn: targets and protocols', () => {
  it('unix:PATH, tcp:IP[:PORT] (default 6653, IPv6 in brackets), a socket path, a bridge name', () => {
    const dir = tmpdir();
    try {
      assert.deepEqual(parseTarget('unix:/run/x.sock', dir), { kind: 'unix', path: '/run/x.sock' });
      assert.deepEqual(parseTarget('tcp:127.0.0.1', dir), { kind: 'tcp', host: '127.0.0.1', port: 6653 });
      assert.deepEqual(parseTarget('tcp:10.0.0.1:16653', dir), { kind: 'tcp', host: '10.0.0.1', port: 16653 });
      assert.deepEqual(parseTarget('tcp:[::1]:99', dir), { kind: 'tcp', host: '::1', port: 99 });
      const server = net.createServer();
      return new Promise<void>((resolve, reject) => server.listen(path.join(dir, 'br0.mgmt'), () => {
        try {
          assert.deepEqual(parseTarget('br0', dir), { kind: 'unix', path: path.join(dir, 'br0.mgmt') });
          assert.deepEqual(parseTarget(path.join(dir, 'br0.mgmt'), '/nonexistent'), { kind: 'unix', path: path.join(dir, 'br0.mgmt') });
          assert.throws(() => parseTarget('br1', dir), /^VconnError: br1 is not a bridge or a socket$/);
          resolve();
        } catch (e) { reject(e); } finally { server.close(); }
      }));
    } finally {
      setTimeout(() => fs.rmSync(dir, { recursive: true, force: true }), 100);
    }
  });

  it('refuses other methods and bad addresses, naming the target', () => {
    assert.throws(() => parseTarget('ssl:1.2.3.4:6653', '/'), /ssl:1\.2\.3\.4:6653: unknown connection method "ssl"/);
    assert.throws(() => parseTarget('ptcp:6653', '/'), /unknown connection method "ptcp"/);
    assert.throws(() => parseTarget('tcp:nohost', '/'), /tcp:nohost: bad address "nohost"/);
    assert.throws(() => parseTarget('tcp:1.2.3.4:70000', '/'), /bad port "70000"/);
    assert.throws(() => parseTarget('unix:', '/'), /missing socket path/);
  });

  it('-O/--protocols: OpenFlow13, OpenFlow10, both (any case), highest first', () => {
    assert.deepEqual(parseProtocols('OpenFlow13'), [4]);
    assert.deepEqual(parseProtocols('openflow10,OpenFlow13'), [4, 1]);
    assert.throws(() => parseProtocols('OpenFlow14'), /OpenFlow14: unknown or unsupported OpenFlow version/);
    assert.throws(() => parseProtocols(','), /no OpenFlow version/);
  });
});

/* ---- the vconn against a scripted peer ------------------------------------------ */

describe('xdp-ofctl vconn against a scripted OpenFlow peer', () => {
  let dir: string;
  const switches: FakeSwitch[] = [];
  const vconns: Vconn[] = [];
  beforeEach(() => { dir = tmpdir(); resetXids(); });
  afterEach(async () => {
    for (const v of vconns.splice(0)) v.close();
    for (const s of switches.splice(0)) await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  async function peer(o: FakeOptions = {}, name?: string): Promise<FakeSwitch> {
    const s = new FakeSwitch(dir, o, name);
    await s.listen();
    switches.push(s);
    return s;
  }
  async function connect(s: FakeSwitch, o: Partial<Parameters<typeof Vconn.open>[1]> = {}): Promise<Vconn> {
    const v = await Vconn.open(`unix:${s.path}`, opts(o));
    vconns.push(v);
    return v;
  }

  it('offers 1.3 and 1.0 (HELLO with a version bitmap, first xid) and settles on 1.3', async () => {
    const s = await peer();
    const v = await connect(s);
    assert.equal(v.version, 4);
    await until(() => s.received.length > 0);
    const hello = s.received[0];
    assert.ok(hello.type === 'hello');
    assert.deepEqual([hello.version, hello.xid, hello.versions], [4, 1, [1, 4]]);
    const f = await v.transact({ type: 'features_request' });
    assert.deepEqual([f.msg!.type, f.msg!.xid], ['features_reply', 2]);
  });

  it('settles on 1.0 with a 1.0 peer (its HELLO: version 1, no bitmap); -O OpenFlow10 sends a plain 1.0 HELLO', async () => {
    const s = await peer({ versions: [1], hello: of.encodeMessage({ type: 'hello', version: 1, xid: 5 }) });
    const v = await connect(s);
    assert.equal(v.version, 1);
    const s2 = await peer({}, 'two.sock');
    const v2 = await connect(s2, { versions: [1] });
    assert.equal(v2.version, 1);
    await until(() => s2.raw.length > 0);
    assert.equal(s2.raw[0].toString('hex'), '0100000800000002');
  });

  it('no common version: a clear error, and the peer gets HELLO_FAILED', async () => {
    const s = await peer({ versions: [1], hello: of.encodeMessage({ type: 'hello', version: 1, xid: 5 }) });
    await rejects(Vconn.open(`unix:${s.path}`, opts({ versions: [4] })), /^unix:.*: version negotiation failed \(we support version 0x04, peer supports version 0x01\)$/);
    for (let i = 0; i < 50 && s.received.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const err = s.received[1];
    assert.ok(err?.type === 'error', `peer got ${err?.type}`);
    assert.equal(err.errType, of.OFPET.HELLO_FAILED);
  });

  it('a peer that refuses our HELLO, or sends something else first', async () => {
    const refuse = await peer({ hello: of.encodeMessage({ type: 'error', version: 4, xid: 0, errType: 0, code: 0, data: Buffer.from('go away') }) });
    await rejects(Vconn.open(`unix:${refuse.path}`, opts()), /peer rejected our hello \(error type 0 code 0\): go away/);
    const other = await peer({ hello: of.encodeMessage({ type: 'echo_request', version: 4, xid: 0, data: Buffer.alloc(0) }) }, 'b.sock');
    await rejects(Vconn.open(`unix:${other.path}`, opts()), /received echo_request while expecting hello/);
  });

  it('multipart: every reply message until one without MORE, skipping replies to other xids', async () => {
    const flows = Array.from({ length: 9 }, (_, i) => flow(100 + i, { in_port: i + 1 }, String(i + 2)));
    const s = await peer({
      handler: (m, _raw, reply) => {
        if (m.type !== 'multipart_request') return;
        for (let i = 0; i < 3; i++) {
          reply({ type: 'multipart_reply', flags: i < 2 ? of.OFPMPF_MORE : 0, body: { mpType: 'flow', flows: flows.slice(3 * i, 3 * i + 3) } });
          if (i === 0) reply({ type: 'barrier_reply' } as OfRequest);      // same xid, wrong type: must not end the dump
        }
      },
    });
    const v = await connect(s);
    await rejects(v.dump({ mpType: 'flow', tableId: 0xff, outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: new Match() }),
      /received bad reply to the flow statistics request \(barrier_reply\)/);

    const s2 = await peer({
      handler: (m, _raw, sockReply, sock, sw) => {
        if (m.type !== 'multipart_request') return;
        // A message answering nothing (another xid) between the parts.
        sock.write(of.encodeMessage({ type: 'packet_in', version: sw.version, xid: 0, bufferId: of.OFP_NO_BUFFER, totalLen: 14, reason: 1, tableId: 0, cookie: 0n, match: new Match(), data: Buffer.alloc(14) }));
        for (let i = 0; i < 3; i++) sockReply({ type: 'multipart_reply', flags: i < 2 ? of.OFPMPF_MORE : 0, body: { mpType: 'flow', flows: flows.slice(3 * i, 3 * i + 3) } });
      },
    }, 'two.sock');
    const v2 = await connect(s2);
    const parts = await v2.dump({ mpType: 'flow', tableId: 0xff, outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: new Match() });
    assert.equal(parts.length, 3);
    assert.deepEqual(parts.flatMap((p) => (p.msg.body.mpType === 'flow' ? p.msg.body.flows.map((f) => f.priority) : [])), flows.map((f) => f.priority));
    assert.match(formatMessage(parts[0].raw), /^OFPST_FLOW reply \(OF1\.3\) \(xid=0x4\): flags=\[more\]\n cookie=0x0, duration=1\.500s, table=0, n_packets=3, n_bytes=180, priority=100,in_port=1 actions=output:2\n/);
  });

  it('error replies: OfErrorReply, printed as ovs-ofctl prints them (the error, then the request it answers)', async () => {
    const s = await peer();
    const v = await connect(s);
    const spec = parseFlowMod('priority=666,udp,tp_dst=53,actions=output:2', 'add');
    const errors = await v.transactNoReply([{ type: 'flow_mod', ...flowModFor(spec, 'add', false, 4) }]);
    assert.equal(errors.length, 1);
    assert.equal(formatMessage(errors[0].error.raw, { verbosity: 2 }),
      'OFPT_ERROR (OF1.3) (xid=0x2): OFPBMC_BAD_PREREQ\nOFPT_FLOW_MOD (OF1.3) (xid=0x2): ADD priority=666,udp,tp_dst=53 actions=output:2\n');
    assert.ok(errors[0].request.equals(s.raw[1]), 'the request it answers, as sent');
    await rejects(v.dump({ mpType: 'group_desc' }), /OpenFlow error type 1 code 2/, OfErrorReply);
    // An error to a one-reply request.
    const s2 = await peer({ handler: (m, raw, reply) => reply({ type: 'error', errType: 1, code: 1, data: raw.subarray(0, 8) }) }, '2.sock');
    const v2 = await connect(s2, { versions: [1] });
    const e = await rejects(v2.transact({ type: 'features_request' }), /OpenFlow error type 1 code 1/, OfErrorReply) as OfErrorReply;
    assert.equal(formatMessage(e.raw, { verbosity: 2 }), 'OFPT_ERROR (xid=0x6): OFPBRC_BAD_TYPE\nOFPT_FEATURES_REQUEST (xid=0x6):\n');
  });

  it('malformed, truncated or unexpected replies: clear errors, no crash', async () => {
    const cases: [string, (sock: net.Socket, m: of.OfMessage, sw: FakeSwitch) => void, RegExp][] = [
      ['a reply that does not decode', (sock, m) => sock.write(Buffer.from([4, 6, 0, 12, 0, 0, 0, m.xid, 1, 2, 3, 4])), /received bad reply to features_request \(features_reply body is 4 bytes, expected 24\)/],
      ['a length below 8', (sock) => sock.write(Buffer.from([4, 6, 0, 4, 0, 0, 0, 2])), /received a malformed OpenFlow stream \(OpenFlow message length 4 is outside 8\.\.65535\)/],
      ['half a message, then close', (sock) => { sock.write(Buffer.from([4, 6, 0, 32, 0, 0, 0, 2, 0, 0])); sock.end(); }, /connection closed in the middle of a message/],
      ['close without answering', (sock) => sock.end(), /connection closed by peer \(End of file\)/],
      ['another version', (sock, m) => sock.write(of.encodeMessage({ type: 'barrier_reply', version: 1, xid: m.xid })), /received OpenFlow version 0x01 != expected 0x04/],
      ['an unknown message type as the reply', (sock, m) => sock.write(Buffer.from([4, 99, 0, 8, 0, 0, 0, m.xid])), /received bad reply to features_request \(unknown or unsupported message type 99/],
      ['text, then close', (sock) => { sock.write(Buffer.from('GET / HTTP/1.1\r\n\r\n')); sock.end(); }, /connection closed in the middle of a message/],
    ];
    for (const [what, act, re] of cases) {
      const s = await peer({ handler: (m, _raw, _reply, sock, sw) => act(sock, m, sw) }, `${cases.findIndex((c) => c[0] === what)}.sock`);
      const v = await connect(s);
      await rejects(v.transact({ type: 'features_request' }), re);
    }
  });

  it("answers the peer's echo requests with the same xid and payload", async () => {
    let echoed: of.OfMessage | undefined;
    const s = await peer({
      handler: (m, _raw, reply, sock, sw) => {
        if (m.type === 'features_request') {
          sock.write(of.encodeMessage({ type: 'echo_request', version: sw.version, xid: 0xabcd, data: Buffer.from('ping') }));
          setTimeout(() => reply({ type: 'get_config_reply', flags: 0, missSendLen: 0 } as OfRequest), 50);
        }
        if (m.type === 'echo_reply') echoed = m;
      },
    });
    const v = await connect(s);
    await v.transact({ type: 'features_request' });
    assert.ok(echoed?.type === 'echo_reply');
    assert.deepEqual([echoed.xid, echoed.data.toString()], [0xabcd, 'ping']);
  });

  it('times out waiting for a reply that never comes, naming what it waited for', async () => {
    const s = await peer({ handler: () => undefined });
    const v = await connect(s, { timeoutMs: 150 });
    await rejects(v.transact({ type: 'get_config_request' }), /timed out waiting for the reply to get_config_request/);
    await rejects(v.transactNoReply([{ type: 'barrier_request' }]), /timed out waiting for the barrier reply/);
  });

  it('monitor: messages that answer no request are queued for recv(); undefined once the peer is gone', async () => {
    const s = await peer({
      handler: (m, _raw, reply, sock, sw) => {
        if (m.type !== 'barrier_request') return;
        reply({ type: 'barrier_reply' });
        sock.write(of.encodeMessage({ type: 'port_status', version: sw.version, xid: 0, reason: of.PortReason.MODIFY, port: {
          portNo: 3, hwAddr: mac('02:00:00:00:00:03'), name: 'p3', config: 1, state: 1, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
        } }));
        sock.end();
      },
    });
    const v = await connect(s, { monitor: true });
    assert.deepEqual(await v.transactNoReply([]), []);
    const r = await v.recv();
    assert.equal(r?.msg?.type, 'port_status');
    assert.equal(formatMessage(r!.raw, { verbosity: 2 }),
      'OFPT_PORT_STATUS (OF1.3) (xid=0x0): MOD: 3(p3): addr:02:00:00:00:00:03\n     config:     PORT_DOWN\n     state:      LINK_DOWN\n     speed: 0 Mbps now, 0 Mbps max\n');
    assert.equal(await v.recv(), undefined);
    assert.match(v.error!.message, /connection closed by peer/);
  });

  it('connection errors name the target as ovs-ofctl does', async () => {
    await rejects(Vconn.open(`unix:${dir}/none.sock`, opts()), new RegExp(`^connecting to unix:${dir}/none\\.sock \\(No such file or directory\\)$`));
    const srv = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise((r) => srv.close(r));
    await rejects(Vconn.open(`tcp:127.0.0.1:${port}`, opts()), new RegExp(`^connecting to tcp:127\\.0\\.0\\.1:${port} \\(Connection refused\\)$`));
  });
});

/* ---- printing ------------------------------------------------------------------------- */

/** The captured session's messages, by pcap frame. */
function sessionFrames(): Map<number, Buffer> {
  const framers = new Map<string, of.OfFramer>(), out = new Map<number, Buffer>();
  for (const line of fs.readFileSync(path.join(FIX, 'of13-session.segments.txt'), 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [frame, src, dst, hex] = line.split(' ');
    const key = `${src}>${dst}`;
    if (!framers.has(key)) framers.set(key, new of.OfFramer());
    for (const raw of framers.get(key)!.push(Buffer.from(hex, 'hex'))) out.set(Number(frame), raw);
  }
  return out;
}

describe('xdp-ofctl printing: what ovs-ofctl 3.1 printed for the same bytes', () => {
  const frames = sessionFrames();
  const p = (frame: number): string => formatMessage(frames.get(frame)!, { verbosity: 1 });

  it('show: FEATURES_REPLY, PORT_DESC reply (ports sorted by number), GET_CONFIG_REPLY', () => {
    assert.equal(p(10) + p(12) + p(21), `OFPT_FEATURES_REPLY (OF1.3) (xid=0x2): dpid:000026624e849446
n_tables:254, n_buffers:0
capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS
OFPST_PORT_DESC reply (OF1.3) (xid=0x3):
 1(obva0): addr:ce:e1:c3:1b:86:5d
     config:     0
     state:      LIVE
     current:    10GB-FD COPPER
     speed: 10000 Mbps now, 0 Mbps max
 2(obvb0): addr:86:7d:24:f0:78:7f
     config:     0
     state:      LIVE
     current:    10GB-FD COPPER
     speed: 10000 Mbps now, 0 Mbps max
 LOCAL(obsw0): addr:26:62:4e:84:94:46
     config:     PORT_DOWN
     state:      LINK_DOWN
     current:    10GB-FD COPPER
     speed: 10000 Mbps now, 0 Mbps max
OFPT_GET_CONFIG_REPLY (OF1.3) (xid=0x5): frags=normal miss_send_len=0
`);
  });

  it('dump-flows and dump-ports replies', () => {
    assert.equal(p(51), `OFPST_FLOW reply (OF1.3) (xid=0x2):
 cookie=0x0, duration=3.796s, table=0, n_packets=0, n_bytes=0, priority=100,udp,in_port=1,tp_dst=9 actions=output:2
 cookie=0x0, duration=0.012s, table=0, n_packets=0, n_bytes=0, priority=100,udp,in_port=1,nw_dst=10.77.0.2,tp_dst=9 actions=output:2
 cookie=0x0, duration=794.538s, table=0, n_packets=87364779, n_bytes=31141770448, priority=0 actions=NORMAL
`);
    assert.equal(p(64), `OFPST_PORT reply (OF1.3) (xid=0x2): 3 ports
  port  1: rx pkts=214344036, bytes=42364804574, drop=13710422, errs=0, frame=0, over=0, crc=0
           tx pkts=2456890, bytes=189293735, drop=0, errs=0, coll=0
           duration=340.646s
  port LOCAL: rx pkts=0, bytes=0, drop=0, errs=0, frame=0, over=0, crc=0
           tx pkts=0, bytes=0, drop=26, errs=0, coll=0
           duration=794.547s
  port  2: rx pkts=2456876, bytes=183851647, drop=0, errs=0, frame=0, over=0, crc=0
           tx pkts=84907923, bytes=30952479445, drop=0, errs=0, coll=0
           duration=340.646s
`);
  });

  it('requests as OVS logs them (vconn debug): flow_mods, stats requests, barrier, echo', () => {
    assert.equal(p(35), 'OFPT_FLOW_MOD (OF1.3) (xid=0x2): ADD priority=100,udp,in_port=1,nw_dst=10.77.0.2,tp_dst=9 actions=output:2\n');
    assert.equal(p(75), 'OFPT_FLOW_MOD (OF1.3) (xid=0x2): DEL table:255 udp,tp_dst=9 actions=drop\n');
    assert.equal(p(11), 'OFPST_PORT_DESC request (OF1.3) (xid=0x3): port=ANY\n');
    assert.equal(p(62), 'OFPST_PORT request (OF1.3) (xid=0x2): port_no=ANY\n');
    assert.equal(p(37) + p(39), 'OFPT_BARRIER_REQUEST (OF1.3) (xid=0x3):\nOFPT_BARRIER_REPLY (OF1.3) (xid=0x3):\n');
    assert.equal(p(102), 'OFPT_ECHO_REQUEST (OF1.3) (xid=0x0): 0 bytes of payload\n');
  });

  const port10 = (n: number, name: string, hw: string, config: number, state: number): of.OfPort => ({
    portNo: n, hwAddr: mac(hw), name, config, state, curr: of.OFPPF['10GB_FD'] | of.OFPPF.COPPER, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
  });

  it('OpenFlow 1.0 show: capabilities, actions, ports in the features reply (speed from the features bits)', () => {
    const raw = of.encodeMessage({
      type: 'features_reply', version: 1, xid: 2, datapathId: 0x000026624e849446n, nBuffers: 0, nTables: 254, auxiliaryId: 0,
      capabilities: 0xc7, actionsBitmap: 0xfff,
      ports: [port10(OFPP.LOCAL, 'obsw0', '26:62:4e:84:94:46', 1, 1), port10(2, 'obvb0', '6a:d5:86:9e:a1:c1', 0, 0), port10(1, 'obva0', 'ee:aa:aa:6c:60:2c', 0, 0)],
    });
    // ovs-ofctl show obsw0 (OVS 3.1, OpenFlow 1.0), research/ovs-reference/reference-outputs-system-ports.txt.
    assert.equal(formatMessage(raw), `OFPT_FEATURES_REPLY (xid=0x2): dpid:000026624e849446
n_tables:254, n_buffers:0
capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP
actions: output enqueue set_vlan_vid set_vlan_pcp strip_vlan mod_dl_src mod_dl_dst mod_nw_src mod_nw_dst mod_nw_tos mod_tp_src mod_tp_dst
 1(obva0): addr:ee:aa:aa:6c:60:2c
     config:     0
     state:      0
     current:    10GB-FD COPPER
     speed: 10000 Mbps now, 0 Mbps max
 2(obvb0): addr:6a:d5:86:9e:a1:c1
     config:     0
     state:      0
     current:    10GB-FD COPPER
     speed: 10000 Mbps now, 0 Mbps max
 LOCAL(obsw0): addr:26:62:4e:84:94:46
     config:     PORT_DOWN
     state:      LINK_DOWN
     current:    10GB-FD COPPER
     speed: 10000 Mbps now, 0 Mbps max
`);
  });

  it('dump-tables: 1.3 and 1.0 (features, "(same features)", ditto runs) as OVS 3.1 prints them', () => {
    const tables = (v10: boolean): of.TableStats[] => Array.from({ length: 254 }, (_, i) => ({
      tableId: i, activeCount: [2, 1][i] ?? 0, lookupCount: i ? 0n : 15n, matchedCount: i ? 0n : 15n,
      ...(v10 ? { name: '', wildcards: 0x3fffff, maxEntries: 1000000 } : {}),
    }));
    const reply = (version: number): string => formatMessage(of.encodeMessage({ type: 'multipart_reply', version, xid: 2, flags: 0, body: { mpType: 'table', tables: tables(version === 1) } }));
    assert.equal(reply(4), `OFPST_TABLE reply (OF1.3) (xid=0x2):
  table 0:
    active=2, lookup=15, matched=15

  table 1:
    active=1, lookup=0, matched=0

  table 2:
    active=0, lookup=0, matched=0

  tables 3...253: ditto
`);
    assert.equal(reply(1), `OFPST_TABLE reply (xid=0x2):
  table 0:
    active=2, lookup=15, matched=15
    max_entries=1000000
    matching:
      exact match or wildcard: in_port eth_{src,dst,type} vlan_{vid,pcp} ip_{src,dst} nw_{proto,tos} tcp_{src,dst}

  table 1:
    active=1, lookup=0, matched=0
    (same features)

  table 2:
    active=0, lookup=0, matched=0
    (same features)

  tables 3...253: ditto
`);
  });

  it('PACKET_IN (1.3 and 1.0), FLOW_REMOVED, as ovs-ofctl monitor printed them', () => {
    const frame = Buffer.from('02000000000202000000000108004500001c00010000401166bc0a0900010a09000204d2003500080000', 'hex');
    const inPort = (n: number): Match => new Match().set(mfField('in_port'), BigInt(n));
    const pin = (version: number, cookie: bigint): Buffer => of.encodeMessage({
      type: 'packet_in', version, xid: 0, bufferId: of.OFP_NO_BUFFER, totalLen: 42, reason: 1, tableId: 0, cookie, match: inPort(2), data: frame,
    });
    const flowLine = 'udp,vlan_tci=0x0000,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_src=10.9.0.1,nw_dst=10.9.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=53 udp_csum:0\n';
    assert.equal(formatMessage(pin(4, 0xffffffffffffffffn), { verbosity: 2 }), `OFPT_PACKET_IN (OF1.3) (xid=0x0): total_len=42 in_port=2 (via action) data_len=42 (unbuffered)\n${flowLine}`);
    assert.equal(formatMessage(pin(4, 0n), { verbosity: 2 }), `OFPT_PACKET_IN (OF1.3) (xid=0x0): cookie=0x0 total_len=42 in_port=2 (via action) data_len=42 (unbuffered)\n${flowLine}`);
    assert.equal(formatMessage(pin(1, 0n), { verbosity: 2 }), `OFPT_PACKET_IN (xid=0x0): total_len=42 in_port=2 (via action) data_len=42 (unbuffered)\n${flowLine}`);
    const removed = (version: number, m: Partial<of.FlowRemovedMsg>): Buffer => of.encodeMessage({
      type: 'flow_removed', version, xid: 0, cookie: 0n, priority: 9, reason: 0, tableId: 0, durationSec: 1, durationNsec: 65000000, idleTimeout: 1, hardTimeout: 0,
      packetCount: 0n, byteCount: 0n, match: new Match().set(mfField('dl_type'), 0x800n), ...m,
    } as of.OfMessage);
    assert.equal(formatMessage(removed(4, { cookie: 0x42n, tableId: 3 })), 'OFPT_FLOW_REMOVED (OF1.3) (xid=0x0): priority=9,ip reason=idle table_id=3 cookie:0x42 duration1.065s idle1 pkts0 bytes0\n');
    assert.equal(formatMessage(removed(1, { reason: 1, idleTimeout: 0, durationNsec: 28000000 })), 'OFPT_FLOW_REMOVED (xid=0x0): priority=9,ip reason=hard duration1.028s idle0 pkts0 bytes0\n');
    assert.equal(formatMessage(removed(4, { reason: 1, idleTimeout: 0, hardTimeout: 1, durationNsec: 28000000 })), 'OFPT_FLOW_REMOVED (OF1.3) (xid=0x0): priority=9,ip reason=hard table_id=0 duration1.028s idle0 hard1 pkts0 bytes0\n');
  });

  it('durations, hex dumps, error names, undecodable and truncated messages', () => {
    assert.deepEqual([formatDurationNs(5, 0), formatDurationNs(3, 796000000), formatDurationNs(1, 500), formatDurationNs(0, 120000)], ['5s', '3.796s', '1.0000005s', '0.00012s']);
    assert.equal(hexDump(Buffer.from('0123456789abcdefABCDEFGHIJ')), '00000000  30 31 32 33 34 35 36 37-38 39 61 62 63 64 65 66 |0123456789abcdef|\n00000010  41 42 43 44 45 46 47 48-49 4a                   |ABCDEFGHIJ      |\n');
    assert.deepEqual([errorName(4, 4, 9), errorName(4, 12, 2), errorName(1, 3, 1), errorName(1, 1, 2), errorName(4, 5, 99)],
      ['OFPBMC_BAD_PREREQ', 'OFPMMFC_INVALID_METER', 'OFPFMFC_OVERLAP', 'OFPBRC_BAD_STAT', 'OFPET_FLOW_MOD_FAILED(code=99)']);
    const bad = Buffer.from([4, 6, 0, 12, 0, 0, 0, 2, 1, 2, 3, 4]);
    assert.equal(formatMessage(bad), 'OFPT_FEATURES_REPLY (OF1.3) (xid=0x2): ***decode error: OFPBRC_BAD_LEN***\n00000000  04 06 00 0c 00 00 00 02-01 02 03 04             |............    |\n');
    assert.equal(formatMessage(Buffer.from([4, 14, 0, 80, 0, 0, 0, 9, 0, 0])), 'OFPT_FLOW_MOD (OF1.3) (xid=0x9):\n(***truncated to 10 bytes from 80***)\n00000000  04 0e 00 50 00 00 00 09-00 00                   |...P......      |\n');
  });

  it('a packet as OVS prints it: its flow, then the L4 checksum (ICMP; none for ARP)', () => {
    const arp = ethFromHex('ffffffffffff000000000001' + '0806' + '0001080006040001' + '000000000001c0a80001' + '000000000000c0a80002');
    assert.equal(formatPacket(arp), 'arp,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=192.168.0.1,arp_tpa=192.168.0.2,arp_op=1,arp_sha=00:00:00:00:00:01,arp_tha=00:00:00:00:00:00\n');
    const icmp = Buffer.from('0200000000020200000000010800' + '4500001c00010000400100000101010102020202' + '08004d5a00010001', 'hex');
    assert.equal(formatPacket(icmp), 'icmp,vlan_tci=0x0000,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_src=1.1.1.1,nw_dst=2.2.2.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,icmp_type=8,icmp_code=0 icmp_csum:4d5a\n');
  });
});

/* ---- requests: the bytes ovs-ofctl sends ----------------------------------------------- */

describe('xdp-ofctl requests: the same bytes ovs-ofctl 3.1 sent (test/fixtures/openflow/ovs-ofctl-requests.txt)', () => {
  const rows = fs.readFileSync(path.join(FIX, 'ovs-ofctl-requests.txt'), 'utf8').split('\n')
    .filter((l) => l.startsWith('same|')).map((l) => l.split('|'));
  const FLOW_CMDS: Record<string, 'add' | 'modify' | 'delete'> = { 'add-flow': 'add', 'mod-flows': 'modify', 'del-flows': 'delete' };
  let n = 0;
  for (const [, command, hex] of rows) {
    const m = /^OF1\.([03]) (\S+)((?: --strict)?)(?: (.*))?$/.exec(command);
    if (!m) continue;
    const version = m[1] === '3' ? 4 : 1, cmd = m[2], strict = m[3] !== '', arg = (m[4] ?? '').replace(/^"|"$/g, '');
    let build: (() => OfRequest) | undefined;
    if (FLOW_CMDS[cmd]) {
      build = () => {
        const fm = flowModFor(parseFlowMod(arg, FLOW_CMDS[cmd]), FLOW_CMDS[cmd], strict, version);
        assert.equal(needsTableIdExtension(fm, version), false);
        return { type: 'flow_mod', ...fm };
      };
    } else if (cmd === 'dump-flows') build = () => ({ type: 'multipart_request', flags: 0, body: { mpType: 'flow', ...flowStatsRequestFor(parseFlowMod(arg, 'delete'), version) } });
    else if (cmd === 'dump-tables') build = () => ({ type: 'multipart_request', flags: 0, body: { mpType: 'table' } });
    else if (cmd === 'dump-ports') build = () => ({ type: 'multipart_request', flags: 0, body: { mpType: 'port_stats', portNo: OFPP.ANY } });
    else if (cmd === 'dump-ports-desc') build = () => ({ type: 'multipart_request', flags: 0, body: { mpType: 'port_desc' } });
    else if (cmd === 'packet-out') build = () => parsePacketOut(arg);
    if (!build) continue;
    n++;
    if (cmd === 'add-flow' && arg === 'actions=dec_ttl') {
      // ovs-ofctl sends this; our parser refuses dec_ttl without an IP match (ofp-parse reports what a switch would reject).
      const refused = build;
      it(`${command} (refused before sending: dec_ttl needs an ip match)`, () => assert.throws(() => refused(), /dec_ttl lacks correct prerequisites/));
      continue;
    }
    const make = build;
    it(`${command.slice(0, 110)}`, () => {
      const expected = Buffer.from(hex, 'hex');
      const ours = of.encodeMessage({ ...make(), version, xid: expected.readUInt32BE(4) } as of.OfMessage);
      assert.equal(ours.toString('hex'), hex);
    });
  }
  it('covers the flow, stats and packet-out requests of the fixture', () => assert.ok(n >= 40, `only ${n} requests`));
});

/* ---- flow files, --sort, packet-out ------------------------------------------------------- */

describe('xdp-ofctl flow files, --sort and packet-out syntax', () => {
  it('add-flows files: comments, blank lines, per-line commands (prefixes too), positions kept', () => {
    const flows = parseFlowFile('# header\n\npriority=1,actions=drop # why\n  \nadd priority=2,actions=drop\nd tcp\nmodify_strict priority=3,actions=drop\nmod udp,actions=drop\r\ndl_src=00:00:00:00:00:01,actions=drop\n');
    assert.deepEqual(flows.map((f) => [f.line, f.op, f.strict, f.text.trim()]), [
      [3, 'add', false, 'priority=1,actions=drop'], [5, 'add', false, 'priority=2,actions=drop'], [6, 'delete', false, 'tcp'],
      [7, 'modify', true, 'priority=3,actions=drop'], [8, 'modify', false, 'udp,actions=drop'], [9, 'add', false, 'dl_src=00:00:00:00:00:01,actions=drop'],
    ]);
    assert.equal(flows[1].text, '    priority=2,actions=drop');
    assert.throws(() => parseFileFlows('flows.txt', parseFlowFile('priority=1,actions=drop\n\nadd tcp,tp_dst=99999,actions=drop\n')),
      /^SyntaxError: flows\.txt:3: bad flow syntax at position 16 \("99999"\): value too large/);
  });

  it('--sort/--rsort: by field (flows without it last, either way), priority last, stable', () => {
    const flows = [flow(5, { dl_type: 0x800, nw_proto: 6, tp_dst: 80 }, '1'), flow(7, {}, '2'), flow(9, { dl_type: 0x800, nw_proto: 6, tp_dst: 22 }, '3'), flow(5, {}, '4')];
    const order = (c: ReturnType<typeof sortCriterion>[]): number[] => sortFlows(flows, c).map((f) => Number((f.actions[0] as { port: number }).port));
    assert.deepEqual(order([sortCriterion('asc', 'tp_dst')]), [3, 1, 2, 4]);
    assert.deepEqual(order([sortCriterion('desc', 'tp_dst')]), [1, 3, 2, 4]);
    assert.deepEqual(order([sortCriterion('asc')]), [1, 4, 2, 3]);
    assert.deepEqual(order([sortCriterion('desc', 'priority')]), [3, 2, 1, 4]);
    assert.deepEqual(order([]), [1, 2, 3, 4]);
    assert.throws(() => sortCriterion('asc', 'nosuch'), /nosuch: unknown field name/);
  });

  it('packet-out: in_port=,packet=,actions= (in_port CONTROLLER by default) and IN_PORT ACTIONS PACKET...', () => {
    const hex = 'ffffffffffff000000000001080600010800060400010000000000010a0000010000000000000a000002';
    const a = parsePacketOut(`in_port=eth1 packet=${hex} actions=output:2,CONTROLLER`, new Map([['eth1', 1]]));
    assert.deepEqual([a.inPort, a.data.toString('hex'), a.actions], [1, hex, [{ type: 'output', port: 2 }, { type: 'controller', maxLen: 0xffff }]]);
    assert.equal(parsePacketOut(`packet=${hex}`).inPort, OFPP.CONTROLLER);
    assert.deepEqual(parsePacketOut(`packet=${hex}`).actions, []);
    const b = parsePacketOutArgs('LOCAL', 'output:1', [hex, hex]);
    assert.deepEqual(b.map((x) => [x.inPort, x.data.length]), [[OFPP.LOCAL, 42], [OFPP.LOCAL, 42]]);
    assert.throws(() => parsePacketOut('in_port=1,packet=0200,actions=drop'), /^Error: packet: Packet data too short for Ethernet$/);
    assert.throws(() => parsePacketOut(`in_port=1,packet=${hex}zz`), /packet: Trailing garbage in packet data/);
    assert.throws(() => parsePacketOut('in_port=1'), /must specify packet/);
    assert.throws(() => parsePacketOut(`in_port=nosuch,packet=${hex}`), /nosuch is not a valid OpenFlow port/);
    assert.throws(() => parsePacketOut(`in_port=1,packet=${hex},actions=frob:1`), /bad action syntax/);
    assert.equal(parsePacketOut(`in_port=nosuch,packet=${hex}`, new AnyPortName()).inPort, 1);
  });

  it('flow_mods as ovs-ofctl fills them: tables, cookies, 1.0 table-id extension, importance and cookie masks refused where OVS needs more', () => {
    const mod13 = flowModFor(parseFlowMod('cookie=0x5,actions=drop', 'modify'), 'modify', false, 4);
    assert.deepEqual([mod13.tableId, mod13.cookie, mod13.cookieMask], [0, 0n, 0n]);
    const mod10 = flowModFor(parseFlowMod('actions=drop', 'modify'), 'modify', false, 1);
    assert.deepEqual([mod10.tableId, mod10.cookie], [0xff, 0n]);
    assert.equal(flowModFor(parseFlowMod('cookie=0x5,actions=drop', 'modify'), 'modify', false, 1).cookie, 5n);
    const add10 = flowModFor(parseFlowMod('table=3,actions=drop', 'add'), 'add', false, 1);
    assert.equal(needsTableIdExtension(add10, 1), true);
    assert.equal(needsTableIdExtension(flowModFor(parseFlowMod('table=3,actions=drop', 'add'), 'add', false, 4), 4), false);
    assert.throws(() => flowModFor(parseFlowMod('cookie=1/1', 'delete'), 'delete', false, 1), /cookie=VALUE\/MASK\) needs OpenFlow 1\.3/);
    assert.throws(() => flowModFor(parseFlowMod('importance=5,actions=drop', 'add'), 'add', false, 4), /importance needs OpenFlow 1\.4/);
  });
});

/* ---- the command line against a scripted switch --------------------------------------------- */

interface CliResult { code: number; out: string; err: string }

function cli(args: string[], input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = execFile(process.execPath, [OFCTL, ...args], { timeout: 20000 }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err });
    });
    if (input !== undefined) p.stdin!.end(input);
  });
}

describe('xdp-ofctl command line against a scripted switch', function () {
  this.timeout(20000);
  let dir: string;
  let sw: FakeSwitch;
  beforeEach(async () => {
    dir = tmpdir();
    sw = new FakeSwitch(dir, {}, 'br0.mgmt');
    sw.flows = [flow(100, { in_port: 1 }, '2'), flow(0, {}, 'drop')];
    await sw.listen();
  });
  afterEach(async () => {
    await sw.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('dump-flows BRIDGE (RUNDIR/BRIDGE.mgmt): the reply as ovs-ofctl prints it', async () => {
    const r = await cli(['--rundir', dir, 'dump-flows', 'br0']);
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
    assert.equal(r.out, 'OFPST_FLOW reply (OF1.3) (xid=0x2):\n cookie=0x0, duration=1.500s, table=0, n_packets=3, n_bytes=180, priority=100,in_port=1 actions=output:2\n' +
      ' cookie=0x0, duration=1.500s, table=0, n_packets=3, n_bytes=180, priority=0 actions=drop\n');
  });

  it('--no-stats, --sort, --format json, -O OpenFlow10', async () => {
    const t = `unix:${sw.path}`;
    assert.equal((await cli(['--no-stats', 'dump-flows', t])).out, ' priority=100,in_port=1 actions=output:2\n priority=0 actions=drop\n');
    assert.equal((await cli(['--sort', 'dump-flows', t])).out.split('\n')[0], ' cookie=0x0, duration=1.500s, table=0, n_packets=3, n_bytes=180, priority=0 actions=drop');
    const j = JSON.parse((await cli(['--format', 'json', 'dump-flows', t])).out) as { version: string; flows: { priority: number; match: string; actions: string; n_bytes: number }[] };
    assert.deepEqual([j.version, j.flows.map((f) => [f.priority, f.match, f.actions, f.n_bytes])], ['OpenFlow13', [[100, 'in_port=1', 'output:2', 180], [0, '', 'drop', 180]]]);
    const v10 = await cli(['-O', 'OpenFlow10', 'show', t]);
    assert.match(v10.out, /^OFPT_FEATURES_REPLY \(xid=0x2\): dpid:0000000000000abc\n[^]* 1\(eth1\): addr:02:00:00:00:00:01\n[^]*OFPT_GET_CONFIG_REPLY \(xid=0x4\): frags=normal miss_send_len=0\n$/);
  });

  it('add-flow with names: fetches tables and ports on connections of their own (as ovs-ofctl), then sends the flow_mod and a barrier', async () => {
    const r = await cli(['add-flow', `unix:${sw.path}`, 'in_port=eth2,actions=output:eth1']);
    assert.deepEqual([r.code, r.err], [0, '']);
    assert.equal(sw.connections, 3);
    const types = sw.received.map((m) => (m.type === 'multipart_request' ? m.body.mpType : m.type));
    assert.deepEqual(types, ['hello', 'table_features', 'hello', 'port_desc', 'hello', 'flow_mod', 'barrier_request']);
    const fm = sw.received[5];
    assert.ok(fm.type === 'flow_mod');
    assert.deepEqual([Number(fm.match.get(mfField('in_port')).value), fm.actions], [2, [{ type: 'output', port: 1 }]]);
    assert.deepEqual(sw.received.map((m) => m.xid), [1, 2, 3, 4, 5, 6, 7]);
  });

  it('a bad flow: the syntax error with token and position, exit 1, no connection at all', async () => {
    for (const args of [['add-flow', 'priority=5,tp_dst=80,actions=drop'], ['mod-flows', 'ip,actions=mod_dl_src:zz'], ['del-flows', 'nw_src=1.2.3']]) {
      const r = await cli([args[0], `unix:${sw.path}`, args[1]]);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /^xdp-ofctl: bad (flow|action) syntax at position \d+ \("[^"]+"\): /);
    }
    const file = path.join(dir, 'f.txt');
    fs.writeFileSync(file, 'priority=1,actions=drop\npriority=2,foo=1,actions=drop\n');
    const r = await cli(['add-flows', `unix:${sw.path}`, file]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `xdp-ofctl: ${file}:2: bad flow syntax at position 12 ("foo"): unknown field foo\n`);
    assert.equal(sw.connections, 0);
  });

  it('an error reply: OVS-style OFPT_ERROR and the request on stderr, exit 1', async () => {
    const r = await cli(['--no-names', 'add-flow', `unix:${sw.path}`, 'priority=666,ip,actions=drop']);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.equal(r.err, 'OFPT_ERROR (OF1.3) (xid=0x2): OFPBMC_BAD_PREREQ\nOFPT_FLOW_MOD (OF1.3) (xid=0x2): ADD priority=666,ip actions=drop\n');
  });

  it('add-flows from stdin: every flow_mod, then one barrier', async () => {
    const r = await cli(['--no-names', 'add-flows', `unix:${sw.path}`, '-'], 'priority=1,actions=drop\n# c\n\npriority=2,actions=drop\ndelete_strict priority=3\n');
    assert.deepEqual([r.code, r.err], [0, '']);
    assert.deepEqual(sw.received.map((m) => (m.type === 'flow_mod' ? `${m.command}/${m.priority}` : m.type)), ['hello', '0/1', '0/2', '4/3', 'barrier_request']);
  });

  it('usage and connection errors', async () => {
    const cases: [string[], RegExp][] = [
      [['frob'], /^xdp-ofctl: unknown command 'frob'; use --help for help\n$/],
      [['show'], /^xdp-ofctl: 'show' command requires at least 1 arguments\n$/],
      [['dump-tables', 'a', 'b'], /^xdp-ofctl: 'dump-tables' command takes at most 1 arguments\n$/],
      [['-O', 'OpenFlow15', 'show', 'x'], /OpenFlow15: unknown or unsupported OpenFlow version/],
      [['show', `unix:${dir}/none`], new RegExp(`^xdp-ofctl: connecting to unix:${dir}/none \\(No such file or directory\\)\n$`)],
      [['--rundir', dir, 'show', 'br9'], /^xdp-ofctl: br9 is not a bridge or a socket\n$/],
      [['--sort=nosuch', 'dump-flows', 'x'], /nosuch: unknown field name/],
      [['monitor', `unix:${sw.path}`, 'watch:'], /watch:: unsupported "monitor" argument/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, re);
    }
  });
});
