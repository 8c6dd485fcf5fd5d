/*
 * The systemd unit (packaging/systemd/xdp-vswitchd.service), without a
 * systemd to run it (PID 1 here is not systemd):
 *
 *   - `systemd-analyze verify` accepts the unit as scripts/install-service.sh
 *     renders it (for this checkout, and for the default /opt install);
 *   - its ExecStartPre=, ExecStart= and ExecReload= command lines are taken
 *     from the unit, expanded as systemd expands them (Environment=, $VAR,
 *     ${VAR}, $$, $MAINPID) and run, with what systemd would give the daemon
 *     and can be reproduced here: a clean environment, NOTIFY_SOCKET (a
 *     datagram socket this test reads), WATCHDOG_USEC, stdout/stderr on a
 *     stream named by JOURNAL_STREAM, and the unit's CapabilityBoundingSet=
 *     and NoNewPrivileges= (setpriv). The mount namespace (ProtectSystem= and
 *     friends), the seccomp filters and LimitMEMLOCK= are not reproduced.
 *
 * Run as root: real netns, veth, XDP and TC, as the other integration tests.
 */
import { strict as assert } from 'assert';
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot, resolveDirs } from '../../src/lib/paths';
import { Topology, Host, sh, shTry } from '../support/topo';
import { NotifySocket, hasField } from '../support/notify-socket';

/* ---- a small reader for unit files and systemd command lines ------------- */

type Unit = Map<string, Map<string, string[]>>; // section -> key -> values in order

function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i].trim();
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) { section = new Map(); unit.set(sec[1], section); continue; }
    const eq = line.indexOf('=');
    assert.ok(section && eq > 0, `unit line outside a section or without '=': ${line}`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (value === '') section.set(key, []); // an empty assignment resets the list
    else section.set(key, [...(section.get(key) ?? []), value]);
  }
  return unit;
}

function get(unit: Unit, section: string, key: string): string[] { return unit.get(section)?.get(key) ?? []; }
function one(unit: Unit, section: string, key: string): string | undefined {
  const v = get(unit, section, key);
  return v.length ? v[v.length - 1] : undefined;
}

/** systemd's word splitting: whitespace, "double" and 'single' quotes, C escapes. */
function splitWords(s: string): string[] {
  const words: string[] = [];
  let i = 0;
  const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", ' ': ' ', s: ' ' };
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i])) i++;
    if (i >= s.length) break;
    let w = '';
    while (i < s.length && !/\s/.test(s[i])) {
      const c = s[i];
      if (c === '"' || c === "'") {
        const end = s.indexOf(c, i + 1);
        assert.ok(end > i, `unterminated quote in ${s}`);
        let q = s.slice(i + 1, end);
        if (c === '"') q = q.replace(/\\(.)/g, (_m, x: string) => esc[x] ?? x);
        w += q;
        i = end + 1;
      } else if (c === '\\') {
        const x = s[i + 1];
        assert.ok(x !== undefined && x in esc, `unsupported escape \\${x} in ${s}`);
        w += esc[x];
        i += 2;
      } else {
        w += c;
        i++;
      }
    }
    words.push(w);
  }
  return words;
}

/** Environment= assignments, in order. */
function unitEnvironment(unit: Unit): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of get(unit, 'Service', 'Environment')) {
    for (const a of splitWords(line)) {
      const eq = a.indexOf('=');
      assert.ok(eq > 0, `bad Environment= assignment ${a}`);
      env[a.slice(0, eq)] = a.slice(eq + 1);
    }
  }
  return env;
}

/**
 * An Exec*= line as systemd runs it: prefixes ("+", "-", ...) stripped and
 * returned, words split, "$VAR" alone replaced by its value split at
 * whitespace (zero or more words), "${VAR}" by its value within the word,
 * "$$" by "$", "%%" by "%" (no other specifiers are expected in this unit).
 */
function execLine(line: string, env: Record<string, string | undefined>): { prefixes: string; argv: string[] } {
  const m = /^([-@:+!]*)(.*)$/.exec(line)!;
  const argv: string[] = [];
  for (const w of splitWords(m[2])) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(w);
    if (whole) { argv.push(...(env[whole[1]] ?? '').split(/\s+/).filter((x) => x !== '')); continue; }
    assert.ok(!/%[^%]/.test(w.replace(/%%/g, '')), `unexpected specifier in ${w}`);
    argv.push(w.replace(/%%/g, '%').replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (t, name?: string) => (name ? env[name] ?? '' : '$')));
  }
  return { prefixes: m[1], argv };
}

/* ---- the test ------------------------------------------------------------- */

const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'; // what systemd gives system services
const CAPS = ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_PERFMON', 'CAP_SYS_ADMIN'];

describe('systemd unit: verified, and its command lines run as systemd would (root)', function () {
  this.timeout(180000);
  const root = packageRoot();
  const installer = path.join(root, 'scripts', 'install-service.sh');
  const t = new Topology();
  const base = path.dirname(t.rundir);
  const bpffs = `/sys/fs/bpf/${t.prefix}-sd`;
  const unitFile = path.join(base, 'xdp-vswitchd.service');
  const journalFile = path.join(base, 'journal');
  let unit: Unit;
  let env: Record<string, string>; // the daemon's environment, as systemd would make it
  let notify: NotifySocket;
  let daemon: ChildProcess | undefined;
  let a: Host, b: Host;

  /** The CLIs find the daemon through XDP_VSWITCH_RUNDIR, as they would under the unit's defaults. */
  const ctl = (tool: 'vsctl' | 'appctl', ...args: string[]): { status: number | null; out: string; err: string } => {
    const r = spawnSync(process.execPath, [path.join(root, 'dist', 'src', 'cli', `${tool}.js`), ...args],
      { encoding: 'utf8', timeout: 30000, env: { ...process.env, XDP_VSWITCH_RUNDIR: t.rundir, XDP_VSWITCH_DBDIR: t.dbdir } });
    return { status: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
  };
  const ctlOk = (tool: 'vsctl' | 'appctl', ...args: string[]): string => {
    const r = ctl(tool, ...args);
    assert.equal(r.status, 0, `xdp-${tool} ${args.join(' ')}: ${r.err}${r.out}`);
    return r.out;
  };
  const journal = (): string => { try { return fs.readFileSync(journalFile, 'utf8'); } catch { return ''; } };
  const alive = (): boolean => !!daemon && daemon.exitCode === null && daemon.signalCode === null;
  const exited = (d: ChildProcess, ms: number): Promise<{ code: number | null; signal: string | null }> => new Promise((resolve, reject) => {
    if (d.exitCode !== null || d.signalCode !== null) { resolve({ code: d.exitCode, signal: d.signalCode }); return; }
    const timer = setTimeout(() => reject(new Error(`daemon still running after ${ms} ms`)), ms);
    d.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
  });
  const ping = (from: Host, to: Host, count = 3): number => {
    const r = t.exec(from, ['ping', '-c', String(count), '-i', '0.2', '-W', '2', to.ip], 30000);
    return Number(/(\d+) received/.exec(r.out)?.[1] ?? 0);
  };

  /**
   * ExecStart= as systemd would run it: the unit's capability bounding set
   * and no_new_privs (setpriv), stdout and stderr on the "journal" stream.
   */
  const startDaemon = async (): Promise<{ readyIndex: number; from: number }> => {
    const { prefixes, argv } = execLine(one(unit, 'Service', 'ExecStart')!, env);
    assert.equal(prefixes, '', 'ExecStart= runs inside the sandbox');
    const caps = (one(unit, 'Service', 'CapabilityBoundingSet') ?? '').split(/\s+/).map((c) => '+' + c.replace(/^CAP_/, '').toLowerCase());
    const wrapper = ['setpriv', '--bounding-set', ['-all', ...caps].join(','), '--inh-caps', '-all',
      ...(one(unit, 'Service', 'NoNewPrivileges') === 'yes' ? ['--no-new-privs'] : []), '--'];
    const out = fs.openSync(journalFile, 'a');
    const st = fs.fstatSync(out, { bigint: true });
    const from = notify.messages.length;
    try {
      daemon = spawn(wrapper[0], [...wrapper.slice(1), ...argv], {
        stdio: ['ignore', out, out], env: { ...env, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
      });
    } finally {
      fs.closeSync(out);
    }
    const d = daemon;
    const failed = new Promise<never>((_res, reject) => d.once('error', reject));
    const ready = await Promise.race([
      failed,
      notify.waitFor((m) => hasField(m, 'READY=1'), 60000, from),
      exited(d, 60000).then((e) => { throw new Error(`daemon exited before READY=1 (${JSON.stringify(e)})`); }),
    ]);
    return { readyIndex: ready.index, from };
  };

  before(async function () {
    assert.strictEqual(process.getuid?.(), 0, 'integration tests must run as root');
    execFileSync('bash', [installer, '--render', unitFile, '--in-place', '--node', process.execPath], { encoding: 'utf8' });
    unit = parseUnit(fs.readFileSync(unitFile, 'utf8'));
    notify = await NotifySocket.open(path.join(base, 'notify.sock'));
    env = {
      PATH: SYSTEMD_PATH,
      LANG: 'C.UTF-8',
      ...unitEnvironment(unit),
      // The unit's RuntimeDirectory=/StateDirectory= are the defaults; the test moves all three directories.
      XDP_VSWITCH_RUNDIR: t.rundir,
      XDP_VSWITCH_DBDIR: t.dbdir,
      XDP_VSWITCH_BPFFS: bpffs,
      RUNTIME_DIRECTORY: t.rundir,
      STATE_DIRECTORY: t.dbdir,
      NOTIFY_SOCKET: notify.address,
      WATCHDOG_USEC: '1000000', // the unit says 30 s; 1 s here so the pings show within the test
    };
    a = t.addHost(1);
    b = t.addHost(2);
  });

  after(async function () {
    const failed = this.currentTest?.state === 'failed' || alive();
    if (alive()) {
      ctl('appctl', 'exit', '--cleanup');
      await exited(daemon!, 20000).catch(() => daemon!.kill('SIGKILL'));
    }
    if (failed) process.stderr.write(`--- daemon output ---\n${journal()}\n--- notifications ---\n${JSON.stringify(notify?.messages ?? [])}\n`);
    notify?.close();
    await t.teardown(); // the veths (and with them any program still attached) and the temp dirs
    fs.rmSync(bpffs, { recursive: true, force: true });
  });

  it('passes systemd-analyze verify, as rendered for this checkout and for the default /opt install', () => {
    const optUnit = path.join(base, 'opt', 'xdp-vswitchd.service');
    fs.mkdirSync(path.dirname(optUnit));
    execFileSync('bash', [installer, '--render', optUnit, '--node', process.execPath]);
    assert.match(fs.readFileSync(optUnit, 'utf8'), /^ExecStart=\S+ \/opt\/xdp-vswitch\/dist\/src\/daemon\/main\.js /m);
    const shipped = fs.readFileSync(path.join(root, 'packaging', 'systemd', 'xdp-vswitchd.service'), 'utf8');
    assert.equal(fs.readFileSync(optUnit, 'utf8'), shipped.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${fs.realpathSync(process.execPath)} `),
      'the default rendering is the shipped unit');
    for (const f of [unitFile, optUnit]) {
      const r = shTry('systemd-analyze', ['verify', f], 60000);
      assert.equal(r.status, 0, `systemd-analyze verify ${f}:\n${r.err}${r.out}`);
      const about = (r.out + r.err).split('\n').filter((l) => l.includes('xdp-vswitchd'));
      assert.deepEqual(about, [], 'no warnings about our unit');
    }
    const sec = shTry('systemd-analyze', ['security', '--offline=true', unitFile], 60000);
    const level = Number(/Overall exposure level for xdp-vswitchd\.service: ([\d.]+)/.exec(sec.out + sec.err)?.[1]);
    assert.ok(level <= 4, `systemd-analyze security exposure ${level} (the unit is at 3.2)\n${sec.out}`);
  });

  it('declares what the daemon needs, and no more', () => {
    const s = (k: string): string | undefined => one(unit, 'Service', k);
    assert.equal(s('Type'), 'notify');
    assert.equal(s('Restart'), 'on-failure');
    assert.equal(s('ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.deepEqual(get(unit, 'Service', 'ExecStop'), [], 'stopping must leave the fast path forwarding: no ExecStop=');
    assert.notEqual(s('KillMode'), 'none');
    assert.deepEqual((s('CapabilityBoundingSet') ?? '').split(/\s+/).sort(), [...CAPS].sort());
    assert.equal(s('NoNewPrivileges'), 'yes');
    assert.equal(s('User'), 'root', 'preflight() wants uid 0; the bounding set limits what root may do');
    assert.equal(s('LimitMEMLOCK'), 'infinity', 'BPF maps are charged to RLIMIT_MEMLOCK on 5.10');
    assert.equal(s('ProtectSystem'), 'strict');
    assert.ok(Number(/^(\d+)s$/.exec(s('WatchdogSec') ?? '')?.[1]) >= 10, 'a watchdog generous enough for a busy event loop');
    assert.equal(s('MemoryDenyWriteExecute'), undefined, "V8's JIT needs writable code");
    assert.equal(s('PrivateNetwork'), undefined);
    // The unit's directories are the daemon's defaults, which the ExecStart line leaves alone.
    const saved = { ...process.env };
    try {
      for (const k of ['XDP_VSWITCH_RUNDIR', 'XDP_VSWITCH_DBDIR', 'XDP_VSWITCH_BPFFS']) delete process.env[k];
      const d = resolveDirs({});
      assert.equal(d.rundir, `/run/${s('RuntimeDirectory')}`);
      assert.equal(d.dbdir, `/var/lib/${s('StateDirectory')}`);
      assert.ok((s('ReadWritePaths') ?? '').split(/\s+/).map((p) => p.replace(/^-/, '')).includes(d.bpffs), `ReadWritePaths= has ${d.bpffs}`);
    } finally {
      Object.assign(process.env, saved);
    }
    assert.doesNotMatch(s('ExecStart')!, /--(rundir|dbdir|bpffs-dir|cleanup)\b/, 'directories come from the environment, not flags');
  });

  it('ExecStartPre= (outside the sandbox) creates the pin directory on the bpffs systemd mounted', () => {
    // AssertPathIsMountPoint=: systemd would refuse to start without a bpffs there.
    for (const p of get(unit, 'Unit', 'AssertPathIsMountPoint')) assert.equal(shTry('mountpoint', ['-q', p]).status, 0, `${p} is a mount point`);
    assert.deepEqual(get(unit, 'Unit', 'AssertPathIsMountPoint'), ['/sys/fs/bpf']);
    assert.equal(fs.statfsSync('/sys/fs/bpf').type, 0xcafe4a11, '/sys/fs/bpf is a BPF filesystem');
    const pre = get(unit, 'Service', 'ExecStartPre');
    assert.equal(pre.length, 1);
    const { prefixes, argv } = execLine(pre[0], env);
    assert.equal(prefixes, '+', 'runs with full privileges in the host mount namespace');
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env, timeout: 30000 });
    assert.equal(r.status, 0, `${argv.join(' ')}: ${r.stderr}`);
    assert.ok(fs.statSync(bpffs).isDirectory());
    assert.equal(fs.statSync(bpffs).mode & 0o777, 0o700);
    assert.equal(fs.statfsSync(bpffs).type, 0xcafe4a11, 'on a BPF filesystem');
  });

  it('ExecStart= under the unit\'s capability bounding set: READY=1 with a STATUS=, then watchdog pings', async () => {
    const { readyIndex } = await startDaemon();
    assert.match(notify.messages[readyIndex], /^STATUS=running \(xdp-vswitchd .+\)$/m);
    assert.ok(fs.existsSync(path.join(t.rundir, 'xdp-vswitchd.ctl')), 'the control socket is up when READY=1 comes');
    const w = await notify.waitFor((m) => m === 'WATCHDOG=1', 3000, readyIndex);
    await notify.waitFor((m) => m === 'WATCHDOG=1', 3000, w.index + 1);
    const caps = /CapBnd:\s*([0-9a-f]+)/.exec(fs.readFileSync(`/proc/${daemon!.pid}/status`, 'utf8'))![1];
    // CAP_NET_ADMIN 12, CAP_NET_RAW 13, CAP_SYS_ADMIN 21, CAP_PERFMON 38, CAP_BPF 39
    assert.equal(BigInt('0x' + caps), (1n << 12n) | (1n << 13n) | (1n << 21n) | (1n << 38n) | (1n << 39n), 'the daemon runs with the unit\'s bounding set');
  });

  it('xdp-vsctl works through the control socket XDP_VSWITCH_RUNDIR names; the switch forwards (XDP and TC ports)', () => {
    ctlOk('vsctl', 'add-br', 'br0');
    assert.match(ctlOk('vsctl', 'list-br'), /^br0$/m);
    // a: XDP on a veth, which needs setns into the peer's netns (CAP_SYS_ADMIN): XDP_PASS there and TX checksum off.
    ctlOk('vsctl', 'add-port', 'br0', a.port, '--', 'set', 'Interface', a.port, 'ofport_request=1', 'options:dp-hook=xdp');
    ctlOk('vsctl', 'add-port', 'br0', b.port, '--', 'set', 'Interface', b.port, 'ofport_request=2', 'options:dp-hook=tc');
    assert.ok(ping(a, b, 5) >= 4, `ping through the switch:\n${ctlOk('appctl', 'dpctl/dump-flows')}`);
    assert.match(ctlOk('appctl', 'dpctl/show'), /xdp_pass on peer eth0/);
    assert.match(t.exec(a, ['ethtool', '-k', a.dev]).out, /tx-checksumming: off/);
    assert.doesNotMatch(journal(), /\|(WARN|ERR)\|/, 'nothing failed for want of a capability');
  });

  it('ExecReload= (SIGHUP): RELOADING=1 then READY=1, and the daemon stays up', async () => {
    const from = notify.messages.length;
    const { argv } = execLine(one(unit, 'Service', 'ExecReload')!, { ...env, MAINPID: String(daemon!.pid) });
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    const reloading = await notify.waitFor((m) => hasField(m, 'RELOADING=1'), 30000, from);
    assert.match(notify.messages[reloading.index], /^MONOTONIC_USEC=\d+$/m);
    const ready = await notify.waitFor((m) => hasField(m, 'READY=1'), 30000, reloading.index + 1);
    assert.match(ready.message, /^STATUS=running, configuration reloaded$/m);
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(alive(), 'still running after the reload');
    assert.match(ctlOk('vsctl', 'list-br'), /^br0$/m);
    assert.ok(ping(a, b) >= 2, 'still forwarding');
  });

  it('SIGTERM: STOPPING=1, exit status 0, and the fast path keeps forwarding', async () => {
    const from = notify.messages.length;
    const d = daemon!;
    d.kill('SIGTERM');
    const stopping = await notify.waitFor((m) => hasField(m, 'STOPPING=1'), 30000, from);
    assert.match(stopping.message, /^STATUS=stopping, the fast path keeps forwarding$/m);
    const stopSec = Number(/^(\d+)s$/.exec(one(unit, 'Service', 'TimeoutStopSec') ?? '90s')?.[1]);
    assert.deepEqual(await exited(d, stopSec * 1000), { code: 0, signal: null }, 'a clean exit (Restart=on-failure does not restart it)');
    assert.ok(!fs.existsSync(path.join(t.rundir, 'xdp-vswitchd.pid')), 'pidfile removed');
    assert.ok(fs.readdirSync(bpffs).length > 0, `the fast path stays pinned in ${bpffs}`);
    assert.ok(ping(a, b) >= 2, 'forwarding without the daemon, on the megaflows it installed');
  });

  it('a new start adopts the fast path; `xdp-appctl exit --cleanup` removes it and exits 0', async () => {
    await startDaemon();
    assert.match(ctlOk('vsctl', 'list-ports', 'br0'), new RegExp(`^${a.port}$`, 'm'));
    assert.ok(ping(a, b) >= 2);
    const from = notify.messages.length;
    ctlOk('appctl', 'exit', '--cleanup');
    const stopping = await notify.waitFor((m) => hasField(m, 'STOPPING=1'), 30000, from);
    assert.match(stopping.message, /^STATUS=stopping, removing the fast path$/m);
    assert.deepEqual(await exited(daemon!, 30000), { code: 0, signal: null });
    assert.deepEqual(fs.readdirSync(bpffs), [], 'nothing left pinned');
    assert.doesNotMatch(sh('ip', ['-d', 'link', 'show', a.port]), /prog\/xdp/, 'XDP detached');
    assert.doesNotMatch(sh('ip', ['-n', a.ns, '-d', 'link', 'show', a.dev]), /prog\/xdp/, 'the peer\'s XDP_PASS removed');
  });

  it('writes the journal the way journald files it: sd-daemon priority, no timestamp, on every line', () => {
    const lines = journal().split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 5, journal());
    const bad = lines.filter((l) => !/^<[3467]>(\d{5}\|[a-z_]+\|(ERR|WARN|INFO|DBG)\||  )/.test(l));
    assert.deepEqual(bad, []);
    assert.ok(lines.some((l) => /^<6>\d{5}\|vswitchd\|INFO\|xdp-vswitchd .* ready/.test(l)));
    assert.ok(lines.some((l) => /^<6>\d{5}\|vswitchd\|INFO\|SIGHUP: reloading/.test(l)));
  });
});
