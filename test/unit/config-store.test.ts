/*
 * The configuration store (atomic, crash-safe writes) and the ovs-vsctl
 * database commands on it (vsctl-db.ts). No root needed.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { ConfigStore, Config } from '../../src/daemon/config-store';
import { dbGet, dbSet, dbRemove, dbClear, dbList, resolveTable, formatValue } from '../../src/daemon/vsctl-db';

function conf(): Config {
  return {
    bridges: {
      br0: { ports: { veth0: { ofport: 1, hook: 'auto' }, veth1: { ofport: 2, hook: 'xdp', tag: 10 } }, failMode: 'secure', controllers: ['ptcp:6653'] },
      br1: { ports: {} },
    },
  };
}

describe('configuration store', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xvs-store-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips, and an empty directory is an empty configuration', () => {
    const s = new ConfigStore(dir);
    assert.deepStrictEqual(s.load(), { bridges: {} });
    s.save(conf());
    assert.deepStrictEqual(new ConfigStore(dir).load(), conf());
  });

  it('a crash mid-write (temp file left, rename never happened) leaves the previous configuration', () => {
    const s = new ConfigStore(dir);
    s.save(conf());
    const half = JSON.stringify({ bridges: { brX: { ports: {} } } }).slice(0, 10);
    fs.writeFileSync(`${s.file}.tmp-99999`, half);
    assert.deepStrictEqual(s.load(), conf());
    assert.deepStrictEqual(fs.readdirSync(dir), ['conf.json'], 'the torn temp file is removed');
  });

  it('a process killed while saving in a loop never leaves a torn conf.json', function () {
    this.timeout(20000);
    const store = path.join(__dirname, '..', '..', 'src', 'daemon', 'config-store.js');
    // A child saves big configurations as fast as it can; SIGKILL lands somewhere in a write.
    const script = `const {ConfigStore}=require(${JSON.stringify(store)});const s=new ConfigStore(${JSON.stringify(dir)});
      const big={bridges:{}};for(let i=0;i<2000;i++)big.bridges['b'+i]={ports:{['p'+i]:{ofport:1,hook:'auto'}}};
      process.stdout.write('go\\n');for(let n=0;;n++){big.n=n;s.save(big);}`;
    for (let round = 0; round < 5; round++) {
      const r = spawnSync(process.execPath, ['-e', script], { timeout: 300 + 97 * round, killSignal: 'SIGKILL', encoding: 'utf8' });
      assert.strictEqual(r.signal, 'SIGKILL');
      const c = new ConfigStore(dir).load();          // parses: whole old or whole new
      if (Object.keys(c.bridges).length) assert.strictEqual(Object.keys(c.bridges).length, 2000);
    }
  });

  it('a file that is not JSON is a clear error', () => {
    const s = new ConfigStore(dir);
    fs.writeFileSync(s.file, '{"bridges": {');
    assert.throws(() => s.load(), /conf\.json: not valid JSON .*fix or remove it/);
    fs.writeFileSync(s.file, '[]');
    assert.throws(() => s.load(), /not an xdp-vswitch configuration/);
  });
});

describe('vsctl database commands', () => {
  it('resolves tables case-insensitively and refuses unknown ones', () => {
    assert.strictEqual(resolveTable('bridge'), 'Bridge');
    assert.strictEqual(resolveTable('open_vswitch'), 'Open_vSwitch');
    assert.throws(() => resolveTable('Port_Thing'), /unknown table "Port_Thing"/);
  });

  it('set / get / remove / clear other_config, as ovs-vsctl prints it', () => {
    let c = dbSet(conf(), 'Bridge', 'br0', ['other_config:mac-aging-time=60', 'other_config:note="two words"']);
    assert.strictEqual(dbGet(c, 'Bridge', 'br0', ['other_config:mac-aging-time']), '"60"\n');
    assert.strictEqual(dbGet(c, 'Bridge', 'br0', ['other_config']), '{mac-aging-time="60", note="two words"}\n');
    c = dbSet(c, 'Bridge', 'br0', ['other_config={a=1, b=x}']);
    assert.strictEqual(dbGet(c, 'Bridge', 'br0', ['other_config']), '{a="1", b=x}\n');
    c = dbRemove(c, 'Bridge', 'br0', 'other_config', ['a']);
    c = dbRemove(c, 'Bridge', 'br0', 'other_config', ['b=y']);    // value differs: kept
    assert.strictEqual(dbGet(c, 'Bridge', 'br0', ['other_config']), '{b=x}\n');
    c = dbClear(c, 'Bridge', 'br0', ['other_config']);
    assert.strictEqual(dbGet(c, 'Bridge', 'br0', ['other_config']), '{}\n');
    assert.strictEqual(c.bridges.br0.otherConfig, undefined);
    c = dbSet(c, 'Open_vSwitch', '.', ['other_config:max-idle=2000']);
    assert.deepStrictEqual(c.otherConfig, { 'max-idle': '2000' });
    c = dbSet(c, 'Interface', 'veth1', ['other_config:rack=r7']);
    assert.deepStrictEqual(c.bridges.br0.ports.veth1.otherConfig, { rack: 'r7' });
    assert.strictEqual(dbGet(c, 'Interface', 'veth1', ['ofport', 'options']), '2\n{dp-hook=xdp}\n');
    assert.strictEqual(dbGet(c, 'Bridge', 'br0', ['other_config:nokey'], { ifExists: true }), '');
  });

  it('refuses bad input without touching the input configuration', () => {
    const c = conf();
    const before = JSON.stringify(c);
    assert.throws(() => dbSet(c, 'Bridge', 'nosuch', ['other_config:a=1']), /no row "nosuch" in table Bridge/);
    assert.throws(() => dbSet(c, 'Interface', 'nosuch', ['other_config:a=1']), /no row "nosuch" in table Interface/);
    assert.throws(() => dbSet(c, 'Bridge', 'br0', ['other_config:mac-aging-time=0']), /expected an integer 1\.\.86400/);
    assert.throws(() => dbSet(c, 'Open_vSwitch', '.', ['other_config:flow-limit=lots']), /expected an integer 1000\.\.1048576/);
    assert.throws(() => dbSet(c, 'Bridge', 'br0', ['other_config:a=1', 'fail_mode=secure']), /only other_config can be set/);
    assert.throws(() => dbSet(c, 'Bridge', 'br0', ['other_config']), /does not end in "=" followed by a value/);
    assert.throws(() => dbSet(c, 'Bridge', 'br0', ['other_config={a=1']), /expected a map/);
    assert.throws(() => dbGet(c, 'Bridge', 'br0', ['nosuchcol']), /does not contain a column whose name matches "nosuchcol"/);
    assert.throws(() => dbGet(c, 'Bridge', 'br0', ['other_config:absent']), /no key "absent"/);
    assert.throws(() => dbRemove(c, 'Bridge', 'br0', 'ports', ['veth0']), /only other_config keys can be removed/);
    assert.strictEqual(JSON.stringify(c), before);
  });

  it('lists rows in list, table and json formats, with --columns', () => {
    const c = dbSet(conf(), 'Bridge', 'br0', ['other_config:mac-aging-time=60']);
    const list = dbList(c, 'Bridge', ['br0'], {});
    assert.match(list, /^controller {10}: \["ptcp:6653"\]$/m);
    assert.match(list, /^fail_mode {11}: secure$/m);
    assert.match(list, /^other_config {8}: \{mac-aging-time="60"\}$/m);
    assert.match(list, /^ports {15}: \[veth0, veth1\]$/m);
    assert.strictEqual(dbList(c, 'Bridge', [], { columns: ['name'] }), 'name                : br0\n\nname                : br1\n');
    assert.strictEqual(dbList(c, 'Bridge', [], { format: 'table', columns: ['name', 'fail_mode'] }),
      'name fail_mode\n---- ---------\nbr0  secure\nbr1  []\n');
    const j = JSON.parse(dbList(c, 'Bridge', [], { format: 'json', columns: ['name', 'other_config', 'ports', 'controller'] }));
    assert.deepStrictEqual(j, {
      headings: ['name', 'other_config', 'ports', 'controller'],
      data: [['br0', ['map', [['mac-aging-time', '60']]], ['set', ['veth0', 'veth1']], 'ptcp:6653'], ['br1', ['map', []], ['set', []], ['set', []]]],
    });
    assert.match(dbList(c, 'Open_vSwitch', [], {}), /^bridges {13}: \[br0, br1\]$/m);
    assert.throws(() => dbList(c, 'Bridge', [], { format: 'yaml' }), /expected list, table or json/);
  });

  it('formats OVSDB atoms: bare words bare, anything else quoted', () => {
    assert.strictEqual(formatValue('br0'), 'br0');
    assert.strictEqual(formatValue('10'), '"10"');
    assert.strictEqual(formatValue('true'), '"true"');
    assert.strictEqual(formatValue(''), '""');
    assert.strictEqual(formatValue([]), '[]');
    assert.strictEqual(formatValue({ 'b k': 'x y', a: '1' }), '{a="1", "b k"="x y"}');
  });
});
