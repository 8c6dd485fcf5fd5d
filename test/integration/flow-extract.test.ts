/*
 * Userspace flow extraction (packet-out, ofproto/trace) must key a frame
 * exactly as the BPF parser does: both run on the same frames — well-formed,
 * truncated at every length, and random bytes — and the keys must be equal.
 */
import { strict as assert } from 'assert';
import { randomBytes } from 'crypto';
import { DpifXdp } from '../../src/dpif/dpif-xdp';
import { FlowKey } from '../../src/dpif/flow-key';
import { flowExtract } from '../../src/dpif/flow-extract';
import { decodePacketMsg, PacketCmd } from '../../src/dpif/odp-netlink';
import { progTestRun } from '../../src/bpf';
import { frame, FrameSpec } from '../support/packets';
import { sh, shTry } from '../support/topo';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('flow extraction: userspace equals the BPF parser (root, BPF_PROG_RUN)', function () {
  this.timeout(120000);
  const pfx = `xf${randomBytes(3).toString('hex')}`;
  let dp: DpifXdp;
  let ifA = 0;
  const keys = new Map<string, FlowKey>();

  before(async () => {
    assert.strictEqual(process.getuid?.(), 0, 'must run as root');
    sh('ip', ['link', 'add', `${pfx}a`, 'type', 'veth', 'peer', 'name', `${pfx}b`]);
    shTry('sysctl', ['-qw', `net.ipv6.conf.${pfx}a.disable_ipv6=1`]);
    sh('ip', ['link', 'set', `${pfx}a`, 'up']);
    ifA = Number(sh('cat', [`/sys/class/net/${pfx}a/ifindex`]).trim());
    dp = await DpifXdp.open(pfx, {});
    await dp.addPort(`${pfx}a`, 7, 'xdp');
    dp.on('upcall', (b: Buffer) => {
      const m = decodePacketMsg(b);
      if (m.cmd === PacketCmd.MISS) keys.set(m.packet.toString('hex'), m.key);
    });
  });

  after(async () => {
    await dp?.close();
    shTry('ip', ['link', 'del', `${pfx}a`]);
  });

  /** Keys of `frames` as the BPF program extracts them (a miss upcalls each one). */
  async function bpfKeys(frames: Buffer[]): Promise<(FlowKey | undefined)[]> {
    keys.clear();
    for (const f of frames) {
      const ctx = Buffer.alloc(24);
      ctx.writeUInt32LE(f.length, 4); ctx.writeUInt32LE(ifA, 12);
      progTestRun(dp.programFd('xdp'), { data: f, ctxIn: ctx });
    }
    const want = new Set(frames.map((f) => f.toString('hex')));
    for (let i = 0; i < 200 && [...want].some((h) => !keys.has(h)); i++) await sleep(5);
    return frames.map((f) => keys.get(f.toString('hex')));
  }

  const specs: FrameSpec[] = [
    { proto: 'udp', sport: 1234, dport: 53, ttl: 17, tos: 0x2e },
    { proto: 'tcp', sport: 40000, dport: 80, tcpFlags: 0x12 },
    { proto: 'icmp', icmpType: 8, icmpCode: 0 },
    { proto: 'sctp', sport: 5, dport: 6 },
    { proto: 'udp', fragOffset: 0, moreFragments: true },
    { proto: 'udp', fragOffset: 64 },
    { l3: 'ipv6', proto: 'tcp', sport: 1, dport: 2, tcpFlags: 0x2 },
    { l3: 'ipv6', proto: 'icmpv6', icmpType: 135 },
    { l3: 'ipv6', proto: 'udp', fragOffset: 8 },
    { l3: 'arp', arpOp: 1 },
    { l3: 'arp', arpOp: 2, vlan: { vid: 10, pcp: 3 } },
    { vlan: { vid: 100 }, proto: 'udp', sport: 7, dport: 8 },
    { l3: 'raw', ethType: 0x88cc },
    { l3: 'raw', ethType: 0x0100 },
  ];

  it('well-formed frames of every kind', async () => {
    const frames = specs.map((s) => frame({ ...s, payload: 16 }));
    const got = await bpfKeys(frames);
    frames.forEach((f, i) => {
      assert.ok(got[i], `BPF upcalled frame ${i}`);
      assert.equal(flowExtract(f, 7).hex(), got[i]!.hex(), `frame ${i} (${JSON.stringify(specs[i])})`);
    });
  });

  it('every truncation of each frame, and random bytes', async () => {
    const frames: Buffer[] = [];
    for (const s of specs) {
      const f = frame({ ...s, payload: 8 });
      for (let n = 14; n < f.length; n++) frames.push(f.subarray(0, n));
    }
    for (let i = 0; i < 300; i++) {
      const f = randomBytes(14 + (i % 90));
      f.writeUInt16BE([0x0800, 0x86dd, 0x0806, 0x8100, 0x0050][i % 5], 12);
      frames.push(f);
    }
    const got = await bpfKeys(frames);
    let compared = 0;
    frames.forEach((f, i) => {
      if (!got[i]) return;               // identical frames collapse into one upcall key
      compared++;
      assert.equal(flowExtract(f, 7).hex(), got[i]!.hex(), `frame ${f.toString('hex')}`);
    });
    assert.ok(compared > frames.length * 0.9, `${compared} of ${frames.length} compared`);
  });
});
