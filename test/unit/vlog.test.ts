/*
 * vlog: OVS-shaped lines on a terminal or file, sd-daemon priorities and no
 * timestamp when stderr is the journal, levels, and rate limiting.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Vlog, formatLine, setLogLevel, setLogSink, setLogStyle, stderrIsJournal, logStyle } from '../../src/lib/vlog';

describe('vlog', () => {
  let lines: string[];
  beforeEach(() => {
    lines = [];
    setLogSink((l) => lines.push(l));
    setLogLevel('INFO');
  });
  afterEach(() => {
    setLogSink((l) => process.stderr.write(l + '\n'));
    setLogStyle(undefined);
    setLogLevel('INFO');
  });

  it('formats OVS vlog lines: time|seq|module|LEVEL|message', () => {
    const at = new Date('2024-05-01T12:00:00.123Z');
    assert.equal(formatLine('vlog', 'dpif_xdp', 'WARN', 42, 'port gone', at), '2024-05-01T12:00:00.123Z|00042|dpif_xdp|WARN|port gone');
  });

  it('formats journal lines: sd-daemon priority instead of the timestamp, on every line', () => {
    assert.equal(formatLine('journal', 'vswitchd', 'ERR', 1, 'x'), '<3>00001|vswitchd|ERR|x');
    assert.equal(formatLine('journal', 'vswitchd', 'WARN', 2, 'x'), '<4>00002|vswitchd|WARN|x');
    assert.equal(formatLine('journal', 'vswitchd', 'INFO', 3, 'x'), '<6>00003|vswitchd|INFO|x');
    assert.equal(formatLine('journal', 'vswitchd', 'DBG', 4, 'x'), '<7>00004|vswitchd|DBG|x');
    // journald makes one entry per line: a stack trace keeps its priority on each.
    assert.equal(formatLine('journal', 'vswitchd', 'ERR', 5, 'uncaught: boom\n    at f (a.js:1)\n    at g (b.js:2)'),
      '<3>00005|vswitchd|ERR|uncaught: boom\n<3>      at f (a.js:1)\n<3>      at g (b.js:2)');
  });

  it('logs through the sink at or above the level, in the chosen style', () => {
    const log = new Vlog('test');
    setLogStyle('journal');
    log.err('e'); log.warn('w'); log.info('i'); log.dbg('d');
    assert.deepEqual(lines.map((l) => l.replace(/\d{5}/, 'N')), ['<3>N|test|ERR|e', '<4>N|test|WARN|w', '<6>N|test|INFO|i']);
    setLogLevel('DBG');
    log.dbg('d');
    assert.match(lines[3], /^<7>\d{5}\|test\|DBG\|d$/);
    setLogLevel('WARN');
    log.info('hidden');
    assert.equal(lines.length, 4);
    assert.equal(log.enabled('WARN'), true);
    assert.equal(log.enabled('INFO'), false);
    setLogStyle('vlog');
    log.warn('w2');
    assert.match(lines[4], /^\d{4}-\d\d-\d\dT[\d:.]+Z\|\d{5}\|test\|WARN\|w2$/);
  });

  it('knows stderr is the journal only when JOURNAL_STREAM names that very descriptor', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xvs-vlog-'));
    const fd = fs.openSync(path.join(dir, 'f'), 'w');
    try {
      const st = fs.fstatSync(fd, { bigint: true });
      assert.equal(stderrIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, fd), true);
      assert.equal(stderrIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1n}` }, fd), false, 'inherited from a parent whose stderr was the journal');
      assert.equal(stderrIsJournal({ JOURNAL_STREAM: 'garbage' }, fd), false);
      assert.equal(stderrIsJournal({}, fd), false);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a process whose stderr is the journal stream writes journal lines (as under systemd)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xvs-vlog-'));
    try {
      const file = path.join(dir, 'stderr');
      const fd = fs.openSync(file, 'w');
      const st = fs.fstatSync(fd, { bigint: true });
      const vlog = require.resolve('../../src/lib/vlog');
      const script = `const {Vlog,logStyle}=require(${JSON.stringify(vlog)});const l=new Vlog('child');l.info('hello');l.warn('careful');console.log(logStyle())`;
      const run = (env: NodeJS.ProcessEnv): string =>
        spawnSync(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', fd], env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }).stdout.trim();
      assert.equal(run({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }), 'journal');
      fs.closeSync(fd);
      assert.deepEqual(fs.readFileSync(file, 'utf8').split('\n'), ['<6>00001|child|INFO|hello', '<4>00002|child|WARN|careful', '']);
      const fd2 = fs.openSync(file, 'w');
      assert.equal(spawnSync(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', fd2], env: { PATH: process.env.PATH }, encoding: 'utf8' }).stdout.trim(), 'vlog');
      fs.closeSync(fd2);
      assert.match(fs.readFileSync(file, 'utf8'), /^\d{4}-\d\d-\d\dT[\d:.]+Z\|00001\|child\|INFO\|hello\n/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(logStyle(), stderrIsJournal() ? 'journal' : 'vlog');
  });

  describe('rateLimited', () => {
    let now: number;
    const realNow = Date.now;
    beforeEach(() => { now = 1_700_000_000_000; Date.now = () => now; setLogStyle('vlog'); });
    afterEach(() => { Date.now = realNow; });
    const msgs = (): string[] => lines.map((l) => l.split('|').slice(2).join('|'));

    it('lets `perMinute` through, then counts what it drops and says so with the next one', () => {
      const log = new Vlog('pkt');
      for (let i = 0; i < 105; i++) log.rateLimited('WARN', 'bad', `bad frame ${i}`);
      assert.deepEqual(msgs(), ['pkt|WARN|bad frame 0', 'pkt|WARN|bad frame 1', 'pkt|WARN|bad frame 2', 'pkt|WARN|bad frame 3', 'pkt|WARN|bad frame 4']);
      now += 12_000; // one token back (5 per minute)
      log.rateLimited('WARN', 'bad', 'bad frame 105');
      log.rateLimited('WARN', 'bad', 'bad frame 106');
      assert.equal(lines.length, 6);
      assert.equal(msgs()[5], 'pkt|WARN|bad frame 105 (100 similar messages suppressed)');
      now += 12_000;
      log.rateLimited('WARN', 'bad', 'bad frame 107');
      assert.equal(msgs()[6], 'pkt|WARN|bad frame 107 (1 similar messages suppressed)');
    });

    it('keeps one bucket per key and honours perMinute', () => {
      const log = new Vlog('pkt');
      for (let i = 0; i < 10; i++) { log.rateLimited('WARN', 'a', 'a'); log.rateLimited('ERR', 'b', 'b', 2); }
      assert.equal(lines.filter((l) => l.endsWith('|WARN|a')).length, 5);
      assert.equal(lines.filter((l) => l.endsWith('|ERR|b')).length, 2);
      now += 60_000;
      for (let i = 0; i < 10; i++) log.rateLimited('WARN', 'a', 'a');
      assert.equal(lines.filter((l) => l.includes('|WARN|a')).length, 10, 'a full minute refills the bucket');
    });
  });
});
