/*
 * Malformed OpenFlow input: truncations at every length, lying lengths, bad
 * OXM TLVs, unknown types, oversized messages and a mutation fuzz loop over
 * real messages. The decoder must answer with OfpError (and the right type
 * and code where the spec names one), never with any other exception; what
 * it accepts must re-encode to something that decodes to the same object.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as of from '../../src/openflow';
import { OfpError, OFPET } from '../../src/ofproto/ofp-errors';

const FIX = path.resolve(__dirname, '../../../test/fixtures/openflow');
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const { OFPBRC, OFPBMC_ALL: BMC, OFPBAC_ALL: BAC, OFPBIC_ALL: BIC } = of;

/** Every message in the fixtures (captured session, ovs-ofctl requests, OVS-verified encodings). */
function corpus(): Buffer[] {
  const out: Buffer[] = [];
  for (const l of fs.readFileSync(path.join(FIX, 'of13-session.segments.txt'), 'utf8').split('\n')) {
    if (l && !l.startsWith('#')) out.push(hex(l.split(' ')[3]));
  }
  for (const f of ['ovs-ofctl-requests.txt', 'ovs-verified-encodings.txt']) {
    for (const l of fs.readFileSync(path.join(FIX, f), 'utf8').split('\n')) {
      if (l && !l.startsWith('#')) out.push(hex(l.slice(l.lastIndexOf('|') + 1)));
    }
  }
  return out;
}

/** Decodes; returns the message, or the OfpError; fails the test on anything else. */
function tryDecode(b: Buffer): of.OfMessage | OfpError {
  try {
    return of.decodeMessage(b);
  } catch (e) {
    if (e instanceof OfpError) return e;
    throw new Error(`non-OfpError from decodeMessage(${b.toString('hex')}): ${(e as Error)?.stack}`);
  }
}

function expectError(b: Buffer | string, type: number, code: number): void {
  const r = tryDecode(typeof b === 'string' ? hex(b) : b);
  assert.ok(r instanceof OfpError, `decoded, expected error ${type}/${code}`);
  assert.deepEqual([r.type, r.code], [type, code], r.message);
}

/** A message from a hex body with a correct header. */
function msg(version: number, type: number, body: string, xid = 1): Buffer {
  const b = hex(body);
  const h = Buffer.alloc(8);
  h[0] = version; h[1] = type; h.writeUInt16BE(8 + b.length, 2); h.writeUInt32BE(xid, 4);
  return Buffer.concat([h, b]);
}

/** An OF1.3 FLOW_MOD (ADD, table 0) with the given ofp_match and instruction bytes. */
const flowMod13 = (match: string, instructions = ''): Buffer =>
  msg(4, 14, `0000000000000000 0000000000000000 00 00 0000 0000 8000 ffffffff ffffffff ffffffff 0000 0000 ${match} ${instructions}`);
/** An ofp_match around the given TLVs (length and padding computed). */
function oxmMatch(tlvs: string): string {
  const t = hex(tlvs);
  const len = 4 + t.length;
  const pad = ((len + 7) & ~7) - len;
  return `0001${len.toString(16).padStart(4, '0')}${t.toString('hex')}${'00'.repeat(pad)}`;
}
const ETH_IP = '80000a020800';

describe('OpenFlow codec: malformed input', () => {
  const all = corpus();

  it('truncated at every length: only OfpError, or a shorter valid message that re-encodes to the same bytes', () => {
    let errors = 0;
    for (const m of all) {
      for (let len = 0; len < m.length; len++) {
        // The header still claims the full length: always BAD_LEN.
        const short = Buffer.from(m.subarray(0, len));
        const r1 = tryDecode(short);
        assert.ok(r1 instanceof OfpError && r1.type === OFPET.BAD_REQUEST && r1.code === OFPBRC.BAD_LEN, `len ${len} of ${m.toString('hex')}`);
        if (len < 8) continue;
        // The header agrees with the truncation.
        short.writeUInt16BE(len, 2);
        const r2 = tryDecode(short);
        if (r2 instanceof OfpError) { errors++; continue; }
        if (r2.type === 'hello') continue;        // a HELLO ignores what it cannot parse, as the spec says
        assert.ok(of.encodeMessage(r2).equals(short), `truncated ${r2.type} to ${len} decoded but does not re-encode the same`);
      }
    }
    assert.ok(errors > 10000);
  });

  it('header lengths: below 8, disagreeing with the buffer', () => {
    expectError('040000', OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    expectError('0400000700000001', OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    expectError('0400000900000001', OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    expectError('040000080000000100', OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    // Fixed-size bodies must be exact.
    expectError(msg(4, 20, '00'), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);                 // BARRIER_REQUEST with a body
    expectError(msg(4, 6, '00'.repeat(23)), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);        // FEATURES_REPLY one short
    expectError(msg(4, 24, '00'.repeat(17)), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);       // ROLE_REQUEST one long
    // Array bodies must be whole items.
    expectError(msg(4, 19, '000d0000 00000000' + '00'.repeat(65)), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);   // PORT_DESC 1 port + 1 byte
    // packet_out actions_len past the end.
    expectError(msg(4, 13, 'ffffffff 00000001 0020 000000000000 0000001000000002'), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
  });

  it('unknown or unsupported versions, types and multipart types', () => {
    expectError(msg(4, 200, ''), OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE);
    expectError(msg(4, 22, ''), OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE);          // QUEUE_GET_CONFIG_REQUEST: not supported
    expectError(msg(1, 15 + 100, ''), OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE);
    expectError(msg(1, 24, ''), OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE);          // ROLE_REQUEST has no 1.0 number
    expectError(msg(2, 14, ''), OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION);       // OF1.1 FLOW_MOD
    expectError(msg(5, 5, ''), OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION);        // OF1.4 FEATURES_REQUEST
    expectError(msg(0, 0, ''), OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION);
    assert.equal((tryDecode(msg(5, 0, '')) as of.OfMessage).type, 'hello');  // HELLO, ERROR and ECHO decode in any version
    assert.equal((tryDecode(msg(2, 2, 'ab')) as of.OfMessage).type, 'echo_request');
    expectError(msg(4, 18, '0005 0000 00000000'), OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART);     // QUEUE stats
    expectError(msg(4, 18, 'ffff 0000 00000000'), OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART);     // experimenter multipart
    expectError(msg(1, 16, '0006 0000'), OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART);             // 1.0 has no GROUP stats
    expectError(msg(4, 18, '0000 0000 00000000 00'), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);       // DESC request with a body
    expectError(msg(4, 14, '00'.repeat(40) + oxmMatch('')).fill(9, 25, 26), OFPET.FLOW_MOD_FAILED, of.OFPFMFC.BAD_COMMAND);
    expectError(msg(4, 15, '0003 00 00 00000001'), OFPET.GROUP_MOD_FAILED, of.OFPGMFC.BAD_COMMAND);
    expectError(msg(4, 15, '0000 07 00 00000001'), OFPET.GROUP_MOD_FAILED, of.OFPGMFC.BAD_TYPE);
    expectError(msg(4, 29, '0000 0001 00000001 0002 0010 00000001 00000000 00000000'), OFPET.METER_MOD_FAILED, of.OFPMMFC.BAD_BAND);   // dscp_remark
    expectError(msg(4, 29, '0009 0001 00000001'), OFPET.METER_MOD_FAILED, of.OFPMMFC.BAD_COMMAND);
  });

  it('bad OXM TLVs and ofp_match headers', () => {
    const fm = (tlvs: string): Buffer => flowMod13(oxmMatch(tlvs));
    assert.equal((tryDecode(fm(ETH_IP)) as of.OfMessage).type, 'flow_mod');
    expectError(fm('80007e02 0800'), OFPET.BAD_MATCH, BMC.BAD_FIELD);                    // OXM basic field 63
    expectError(fm('12340002 0800'), OFPET.BAD_MATCH, BMC.BAD_FIELD);                    // unknown class
    expectError(fm('ffff5406 00002320 0002'), OFPET.BAD_MATCH, BMC.BAD_FIELD);           // tcp_flags, wrong experimenter
    expectError(fm('ffff5402 4f4e'), OFPET.BAD_MATCH, BMC.BAD_LEN);                      // experimenter header cut
    expectError(fm('80000a03 080000'), OFPET.BAD_MATCH, BMC.BAD_LEN);                    // eth_type with 3 bytes
    expectError(fm('80000a04 0800'), OFPET.BAD_MATCH, BMC.BAD_LEN);                      // TLV longer than the match
    expectError(fm('80000a'), OFPET.BAD_MATCH, BMC.BAD_LEN);                             // header cut
    expectError(fm('80000108 00000001 ffffffff'), OFPET.BAD_MATCH, BMC.BAD_MASK);       // in_port masked
    expectError(fm(`${ETH_IP} 80001502 00ff`), OFPET.BAD_MATCH, BMC.BAD_MASK);          // ip_proto masked
    expectError(fm('80000e01 08'), OFPET.BAD_MATCH, BMC.BAD_VALUE);                      // vlan_pcp 8
    expectError(fm('80000c02 2000'), OFPET.BAD_MATCH, BMC.BAD_VALUE);                    // vlan_vid above 0x1fff
    expectError(fm(`${ETH_IP} 80001001 40`), OFPET.BAD_MATCH, BMC.BAD_VALUE);           // ip_dscp 64
    expectError(fm('80000004 ffffff00'), OFPET.BAD_MATCH, BMC.BAD_VALUE);                // in_port in the invalid range
    expectError(fm('80000d04 1000 e000'), OFPET.BAD_MATCH, BMC.BAD_MASK);                // vlan_vid mask above 0x1fff
    expectError(fm(`${ETH_IP} ${ETH_IP}`), OFPET.BAD_MATCH, BMC.DUP_FIELD);
    expectError(fm('80000d04 1000 1000 00000904 0000 1000'), OFPET.BAD_MATCH, BMC.DUP_FIELD);   // vlan_vid and NXM vlan_tci
    expectError(fm(`${ETH_IP} 80001401 06 80001a02 0050 80001e02 0035`), OFPET.BAD_MATCH, BMC.DUP_FIELD);   // tcp_src and udp_src
    expectError(fm('80001a02 0050'), OFPET.BAD_MATCH, BMC.BAD_PREREQ);                   // tcp_src alone
    expectError(fm(`${ETH_IP} 80001a02 0050`), OFPET.BAD_MATCH, BMC.BAD_PREREQ);        // tcp_src without ip_proto
    expectError(fm(`80000a0286dd 80001604 0a000001`), OFPET.BAD_MATCH, BMC.BAD_PREREQ);  // ipv4_src on IPv6 (its bits are ipv6_src's)
    expectError(fm(`80000a020806 80001401 06`), OFPET.BAD_MATCH, BMC.BAD_PREREQ);        // ip_proto on ARP (its bits are arp_op's)
    // ofp_match header itself.
    expectError(flowMod13('0000 0058' + '00'.repeat(84)), OFPET.BAD_MATCH, BMC.BAD_TYPE);     // OFPMT_STANDARD
    expectError(flowMod13('0001 0003 00000000'), OFPET.BAD_MATCH, BMC.BAD_LEN);
    expectError(flowMod13('0001 0010 80000a02 0800 0000'), OFPET.BAD_MATCH, BMC.BAD_LEN);     // longer than the message
    expectError(flowMod13('0001 000a 80000a02 0800'), OFPET.BAD_MATCH, BMC.BAD_LEN);          // padding missing
    expectError(flowMod13('00'), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);                         // no room for a match at all
  });

  it('bad actions and instructions', () => {
    const apply = (actions: string): Buffer => {
      const a = hex(actions);
      return flowMod13(oxmMatch(''), `0004${(8 + a.length).toString(16).padStart(4, '0')}00000000${a.toString('hex')}`);
    };
    assert.deepEqual((tryDecode(apply('0000001000000002 0000000000000000')) as of.FlowModMsg).actions, [{ type: 'output', port: 2 }]);
    expectError(apply('000b000800000000'), OFPET.BAD_ACTION, BAC.BAD_TYPE);                      // COPY_TTL_OUT: unsupported
    expectError(apply('0000000c00000002 0000000000000000'), OFPET.BAD_ACTION, BAC.BAD_LEN);       // not a multiple of 8
    expectError(apply('0000001800000002 0000000000000000 0000000000000000'), OFPET.BAD_ACTION, BAC.BAD_LEN);  // output of 24
    expectError(apply('0000002000000002 0000000000000000'), OFPET.BAD_ACTION, BAC.BAD_LEN);       // longer than the list
    expectError(apply('0000000000000000'), OFPET.BAD_ACTION, BAC.BAD_LEN);                        // length 0
    expectError(apply('00000010ffffff00 0000000000000000'), OFPET.BAD_ACTION, BAC.BAD_OUT_PORT);
    expectError(apply('00000010ffffffff 0000000000000000'), OFPET.BAD_ACTION, BAC.BAD_OUT_PORT);  // output:ANY
    expectError(apply('ffff001000001234 0001000000000000'), OFPET.BAD_ACTION, BAC.BAD_EXPERIMENTER);
    expectError(apply('ffff001000002320 0063000000000000'), OFPET.BAD_ACTION, BAC.BAD_EXP_TYPE);
    expectError(apply('ffff000800002320'), OFPET.BAD_ACTION, BAC.BAD_LEN);                       // NX action of 8
    expectError(apply('ffff001000002320 0014ffff00000300'), OFPET.BAD_ACTION, BAC.BAD_ARGUMENT);  // controller reason 3
    expectError(apply('ffff001800002320 0007 003f 00010404 0000000000000001'), OFPET.BAD_ACTION, BAC.BAD_ARGUMENT);  // reg_load reg2[0..63]
    expectError(apply('ffff001800002320 0007 0003 00010404 00000000000000ff'), OFPET.BAD_ACTION, BAC.BAD_ARGUMENT);  // value wider than 4 bits
    expectError(apply('ffff001800002320 0007 0003 7fff0004 0000000000000001'), OFPET.BAD_ACTION, BAC.BAD_ARGUMENT);  // unknown field
    expectError(apply('0019001080007e02 0005000000000000'), OFPET.BAD_ACTION, BAC.BAD_SET_TYPE);  // set_field unknown OXM
    expectError(apply('0019001080000c03 0005000000000000'), OFPET.BAD_ACTION, BAC.BAD_SET_LEN);
    expectError(apply('0019001080000d04 1005 1fff 00000000'), OFPET.BAD_ACTION, BAC.BAD_SET_ARGUMENT);  // masked SET_FIELD
    expectError(apply('0019001080000c02 0005000000000000'), OFPET.BAD_ACTION, BAC.BAD_SET_ARGUMENT);  // vlan_vid without PRESENT
    expectError(apply('0019001080000e01 0900000000000000'), OFPET.BAD_ACTION, BAC.BAD_SET_ARGUMENT);  // vlan_pcp 9
    expectError(apply('0019000880000c02'), OFPET.BAD_ACTION, BAC.BAD_SET_LEN);                   // TLV cut by the action length
    // Instructions.
    const inst = (i: string): Buffer => flowMod13(oxmMatch(''), i);
    expectError(inst('0009000800000000'), OFPET.BAD_INSTRUCTION, BIC.UNKNOWN_INST);
    expectError(inst('ffff000800000000'), OFPET.BAD_INSTRUCTION, BIC.BAD_EXPERIMENTER);
    expectError(inst('0001000c05000000 00000000'), OFPET.BAD_INSTRUCTION, BIC.BAD_LEN);
    expectError(inst('0002001000000000 0000000000000000'), OFPET.BAD_INSTRUCTION, BIC.BAD_LEN);   // write_metadata of 16
    expectError(inst('0001000805000000 0001000806000000'), OFPET.BAD_INSTRUCTION, BIC.UNSUP_INST); // goto twice
    expectError(inst('000100'), OFPET.BAD_INSTRUCTION, BIC.BAD_LEN);
    // Buckets.
    expectError(msg(4, 15, '0000 00 00 00000001 0008000000000000'), OFPET.GROUP_MOD_FAILED, of.OFPGMFC.BAD_BUCKET);
    expectError(msg(4, 15, '0000 00 00 00000001 0020 0000 ffffffff ffffffff 00000000'), OFPET.GROUP_MOD_FAILED, of.OFPGMFC.BAD_BUCKET);
    // OF1.0.
    const fm10 = (actions: string): Buffer => msg(1, 14, `003fffff ${'00'.repeat(36)} 0000000000000000 0000 0000 0000 8000 ffffffff ffff 0000 ${actions}`);
    assert.equal((tryDecode(fm10('0000000800020000')) as of.FlowModMsg).version, 1);
    expectError(fm10('000b001000010000 0000000000000002'), OFPET.BAD_ACTION, BAC.BAD_TYPE);      // enqueue
    expectError(fm10('0001000810000000'), OFPET.BAD_ACTION, BAC.BAD_ARGUMENT);                   // set_vlan_vid 0x1000
    expectError(fm10('0008000803000000'), OFPET.BAD_ACTION, BAC.BAD_ARGUMENT);                   // set_nw_tos with ECN bits
    expectError(fm10('0004000800000000'), OFPET.BAD_ACTION, BAC.BAD_LEN);                        // set_dl_src of 8
    expectError(msg(1, 14, `003fffff ${'00'.repeat(36)} 0000000000000000 0000 0000 0000 8000 ffffffff ffff 0004`), OFPET.FLOW_MOD_FAILED, of.OFPFMFC.BAD_FLAGS);
  });

  it('oversized: encoding past 65535 bytes is BAD_LEN; the framer rejects what exceeds its limit', () => {
    const big: of.OfMessage = { type: 'packet_out', version: 4, xid: 1, bufferId: of.OFP_NO_BUFFER, inPort: 1, actions: [], data: Buffer.alloc(65535 - 24 + 1) };
    assert.throws(() => of.encodeMessage(big), (e: unknown) => e instanceof OfpError && e.type === OFPET.BAD_REQUEST && e.code === OFPBRC.BAD_LEN);
    assert.equal(of.encodeMessage({ ...big, data: Buffer.alloc(65535 - 24) }).length, 65535);
    const fr = new of.OfFramer(1024);
    assert.throws(() => fr.push(hex('040a0401 00000000')), (e: unknown) => e instanceof OfpError && e.code === OFPBRC.BAD_LEN);
  });

  it('survives 20000 mutated messages: OfpError or a message that re-encodes and decodes to itself', () => {
    let seed = 0x9e3779b9;
    const rnd = (): number => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 4294967296; };
    const ri = (n: number): number => Math.floor(rnd() * n);
    const mutate = (src: Buffer): Buffer => {
      let b = Buffer.from(src);
      for (let k = 1 + ri(4); k > 0; k--) {
        switch (ri(6)) {
          case 0: if (b.length) b[ri(b.length)] = ri(256); break;
          case 1: if (b.length) b[ri(b.length)] ^= 1 << ri(8); break;
          case 2: if (b.length > 2) b.writeUInt16BE(ri(65536) & [0xffff, 0xff, 0x1f, 0xfff8][ri(4)], ri(b.length - 1)); break;
          case 3: b = b.subarray(0, ri(b.length + 1)); break;
          case 4: { const at = ri(b.length + 1); b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + ri(16) }, () => ri(256))), b.subarray(at)]); break; }
          case 5: { const at = ri(b.length + 1); b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + ri(16))]); break; }
        }
      }
      if (rnd() < 0.7 && b.length >= 4 && b.length <= 65535) b.writeUInt16BE(b.length, 2);   // mostly keep the header consistent
      return b;
    };
    let decoded = 0;
    const codes = new Set<string>();
    for (let i = 0; i < 20000; i++) {
      const m = mutate(all[ri(all.length)]);
      const r = tryDecode(m);
      if (r instanceof OfpError) { codes.add(`${r.type}/${r.code}`); continue; }
      decoded++;
      let re: Buffer;
      try {
        re = of.encodeMessage(r);
      } catch (e) {
        assert.ok(e instanceof OfpError, `encode of a decoded message threw ${(e as Error)?.stack}`);
        continue;
      }
      assert.deepStrictEqual(of.decodeMessage(re), r, `mutant ${m.toString('hex')}`);
    }
    assert.ok(decoded > 1000, `only ${decoded} mutants decoded`);
    assert.ok(codes.size > 20, `only ${codes.size} distinct errors`);
  });
});
