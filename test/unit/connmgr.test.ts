/*
 * Pieces of the OpenFlow agent that need no switch: controller target
 * syntax (as ovs-vsctl set-controller takes it) and what an OpenFlow 1.0
 * peer is told about flows it cannot express.
 */
import { strict as assert } from 'assert';
import { parseTarget } from '../../src/ofproto/connmgr';
import { of10Match, of10Actions, encodeOf10Match, OfWriter } from '../../src/openflow';
import { parseFlowMod } from '../../src/ofproto/ofp-parse';
import { formatMatch, formatActions } from '../../src/ofproto/ofp-print';

describe('controller targets (set-controller)', () => {
  it('parses the OVS forms with their defaults', () => {
    assert.deepEqual(parseTarget('ptcp:6653'), { kind: 'ptcp', port: 6653, host: '127.0.0.1', text: 'ptcp:6653' });
    assert.deepEqual(parseTarget('ptcp:'), { kind: 'ptcp', port: 6653, host: '127.0.0.1', text: 'ptcp:' });
    assert.deepEqual(parseTarget('ptcp:16653:0.0.0.0'), { kind: 'ptcp', port: 16653, host: '0.0.0.0', text: 'ptcp:16653:0.0.0.0' });
    assert.deepEqual(parseTarget('ptcp:16653:[::1]'), { kind: 'ptcp', port: 16653, host: '::1', text: 'ptcp:16653:[::1]' });
    assert.deepEqual(parseTarget('tcp:192.0.2.1'), { kind: 'tcp', host: '192.0.2.1', port: 6653, text: 'tcp:192.0.2.1' });
    assert.deepEqual(parseTarget('tcp:192.0.2.1:6633'), { kind: 'tcp', host: '192.0.2.1', port: 6633, text: 'tcp:192.0.2.1:6633' });
    assert.deepEqual(parseTarget('tcp:[2001:db8::1]:6633'), { kind: 'tcp', host: '2001:db8::1', port: 6633, text: 'tcp:[2001:db8::1]:6633' });
    assert.deepEqual(parseTarget('punix:/run/x.sock'), { kind: 'punix', path: '/run/x.sock', text: 'punix:/run/x.sock' });
    assert.deepEqual(parseTarget('unix:/run/c.sock'), { kind: 'unix', path: '/run/c.sock', text: 'unix:/run/c.sock' });
  });

  it('rejects what is not a target, naming it', () => {
    for (const bad of ['ssl:1.2.3.4:6653', 'tcp:', 'tcp:host.example:6653', 'ptcp:0', 'ptcp:65536', 'ptcp:12a', 'tcp:1.2.3.4:x', 'punix:', '6653', 'ptcp:6653:1.2.3']) {
      assert.throws(() => parseTarget(bad), (e: Error) => e.message.includes(`"${bad}"`), bad);
    }
  });
});

describe('OpenFlow 1.0 view of 1.3 flows', () => {
  const fm = (s: string): ReturnType<typeof parseFlowMod> => parseFlowMod(s, 'add');
  const fits10 = (m: ReturnType<typeof parseFlowMod>['match']): boolean => {
    try { encodeOf10Match(new OfWriter(64), m); return true; } catch { return false; }
  };

  it('keeps a match 1.0 can say as it is', () => {
    const f = fm('in_port=2,tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=drop');
    assert.equal(of10Match(f.match), f.match);
  });

  it('drops only the fields 1.0 cannot say, and the result encodes', () => {
    for (const [spec, want] of [
      ['ip,reg0=5,nw_dst=10.1.0.0/16,actions=drop', 'ip,nw_dst=10.1.0.0/16'],
      ['ipv6,ipv6_dst=fd00::1,in_port=3,actions=drop', 'ipv6,in_port=3'],
      ['tcp,metadata=0x7,tp_src=0x100/0xff00,tp_dst=22,actions=drop', 'tcp,tp_dst=22'],
      ['ip,nw_src=10.0.0.1/255.0.255.0,nw_ttl=5,actions=drop', 'ip'],
      ['dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=drop', ''],
    ] as const) {
      const m = of10Match(fm(spec).match);
      assert.ok(fits10(m), spec);
      assert.equal(formatMatch(m), want, spec);
    }
  });

  it('turns goto_table into resubmit(,T) and leaves out what 1.0 has no form for', () => {
    const f = fm('ip,actions=meter:1,dec_ttl,group:3,output:2,clear_actions,write_actions(output:3),write_metadata:0x1/0xff,goto_table:7');
    assert.equal(formatActions(of10Actions(f.actions, f.match), 'OpenFlow10'), 'dec_ttl,output:2,resubmit(,7)');
  });
});
