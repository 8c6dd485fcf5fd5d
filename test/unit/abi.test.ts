/*
 * The TypeScript codecs must agree with bpf/xvs_abi.h byte for byte: compile
 * a probe against the header and compare every offsetof()/sizeof().
 */
import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KEY_FIELDS, KEY_SIZE } from '../../src/dpif/flow-key';
import {
  LAYOUT, MAX_MASKS, MAX_ACTIONS, MAX_FLOWS, EMC_ENTRIES, MAX_PORTS, UPCALL_MAX_PKT, MAX_METERS, XvsAct,
  METER_F_VALID, METER_F_KBPS, METER_OP_EXEC, METER_OP_READ,
} from '../../src/dpif/xvs-abi';
import { packageRoot } from '../../src/lib/paths';

describe('ABI: bpf/xvs_abi.h vs TypeScript codecs', () => {
  let c: Record<string, number>;

  before(function () {
    this.timeout(30000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xvs-abi-'));
    const probes: string[] = [];
    probes.push(`P("sizeof xvs_flow_key", sizeof(struct xvs_flow_key));`);
    for (const f of Object.keys(KEY_FIELDS)) {
      probes.push(`P("xvs_flow_key.${f}", offsetof(struct xvs_flow_key, ${f}));`);
      probes.push(`P("xvs_flow_key.${f}.len", sizeof(((struct xvs_flow_key *)0)->${f}));`);
    }
    for (const [s, fields] of Object.entries(LAYOUT)) {
      probes.push(`P("sizeof ${s}", sizeof(struct ${s}));`);
      for (const f of Object.keys(fields)) if (f !== 'size') probes.push(`P("${s}.${f}", offsetof(struct ${s}, ${f}));`);
    }
    const consts = ['XVS_MAX_MASKS', 'XVS_MAX_ACTIONS', 'XVS_MAX_FLOWS', 'XVS_EMC_ENTRIES', 'XVS_MAX_PORTS', 'XVS_UPCALL_MAX_PKT',
      'XVS_MAX_METERS', 'XVS_METER_F_VALID', 'XVS_METER_F_KBPS', 'XVS_METER_OP_EXEC', 'XVS_METER_OP_READ',
      ...Object.keys(XvsAct).filter((k) => isNaN(Number(k))).map((k) => `XVS_ACT_${k}`)];
    for (const k of consts) probes.push(`P("${k}", ${k});`);
    const src = `#include <stdio.h>\n#include <stddef.h>\n#include "xvs_abi.h"\n#define P(n, v) printf("\\"%s\\": %lu,\\n", n, (unsigned long)(v))\nint main(void) { printf("{\\n"); ${probes.join(' ')} printf("\\"end\\": 0}\\n"); return 0; }\n`;
    fs.writeFileSync(path.join(dir, 'probe.c'), src);
    execFileSync('cc', ['-I', path.join(packageRoot(), 'bpf'), '-o', path.join(dir, 'probe'), path.join(dir, 'probe.c')]);
    c = JSON.parse(execFileSync(path.join(dir, 'probe'), { encoding: 'utf8' }));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('flow key: every field at the same offset and size', () => {
    assert.equal(c['sizeof xvs_flow_key'], KEY_SIZE);
    for (const [f, d] of Object.entries(KEY_FIELDS)) {
      assert.equal(c[`xvs_flow_key.${f}`], d.off, `offset of ${f}`);
      assert.equal(c[`xvs_flow_key.${f}.len`], d.len, `size of ${f}`);
    }
  });

  it('every other structure: sizes and offsets', () => {
    for (const [s, fields] of Object.entries(LAYOUT)) {
      assert.equal(c[`sizeof ${s}`], fields.size, `sizeof ${s}`);
      for (const [f, off] of Object.entries(fields)) if (f !== 'size') assert.equal(c[`${s}.${f}`], off, `${s}.${f}`);
    }
  });

  it('limits and action numbers', () => {
    assert.deepEqual(
      [c.XVS_MAX_MASKS, c.XVS_MAX_ACTIONS, c.XVS_MAX_FLOWS, c.XVS_EMC_ENTRIES, c.XVS_MAX_PORTS, c.XVS_UPCALL_MAX_PKT, c.XVS_MAX_METERS],
      [MAX_MASKS, MAX_ACTIONS, MAX_FLOWS, EMC_ENTRIES, MAX_PORTS, UPCALL_MAX_PKT, MAX_METERS]);
    assert.deepEqual([c.XVS_METER_F_VALID, c.XVS_METER_F_KBPS, c.XVS_METER_OP_EXEC, c.XVS_METER_OP_READ],
      [METER_F_VALID, METER_F_KBPS, METER_OP_EXEC, METER_OP_READ]);
    for (const k of Object.keys(XvsAct).filter((x) => isNaN(Number(x)))) {
      assert.equal(c[`XVS_ACT_${k}`], XvsAct[k as keyof typeof XvsAct], k);
    }
  });
});
