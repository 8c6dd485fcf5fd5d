/*
 * The switch on Linux 5.10, as root: scripts/vm/run-510.sh boots Debian
 * bullseye's 5.10 kernel under QEMU (TCG unless XDP_VSWITCH_VM_ACCEL=kvm)
 * with an initramfs carrying node and this build, and the guest runs the
 * smoke test (br0 on the TC hook, br1 on the XDP hook: first-packet ping,
 * TCP, megaflows, the degraded no-DEVMAP-broadcast flood path, a restart on
 * the pinned fast path) and lists the openvswitch module's generic netlink
 * families. docs/linux-5.10.md says more.
 *
 * Never skipped: without root, QEMU or the kernel download this test fails.
 * The kernel is cached in XDP_VSWITCH_VM_CACHE (default /var/cache/xdp-vswitch/vm).
 */
import { strict as assert } from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../../src/lib/paths';

const VM_TIMEOUT_S = 300;   // run-510.sh kills the VM after this; the guest gives up 20 s earlier

/** What run-510.sh printed, the guest's serial console log, and the guest's "VMTEST fact k=v" lines. */
interface VmRun { status: number | null; out: string; console: string; facts: Map<string, string>; seconds: number }

function runVm(workdir: string): Promise<VmRun> {
  const script = path.join(packageRoot(), 'scripts', 'vm', 'run-510.sh');
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn('bash', [script], {
      env: { ...process.env, XDP_VSWITCH_VM_WORK: workdir, XDP_VSWITCH_VM_TIMEOUT: String(VM_TIMEOUT_S) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', (e) => { out += `\nspawn failed: ${e.message}\n`; });
    child.on('close', (status) => {
      const facts = new Map<string, string>();
      for (const m of out.matchAll(/^VMTEST fact ([\w.]+)=(.*)$/gm)) facts.set(m[1], m[2].trim());
      let consoleLog = '';
      try { consoleLog = fs.readFileSync(path.join(workdir, 'console.log'), 'utf8'); } catch { /* the VM never ran */ }
      resolve({ status, out, console: consoleLog, facts, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

describe('Linux 5.10 under QEMU: the smoke test and openvswitch.ko (root, qemu, bullseye kernel)', function () {
  this.timeout((VM_TIMEOUT_S + 180) * 1000);
  let workdir = '';
  let run: VmRun;
  const fact = (k: string): string => {
    const v = run.facts.get(k);
    assert.ok(v !== undefined, `the guest reported no "${k}" (see the output below)`);
    return v;
  };
  const has = (re: RegExp, what: string): void => assert.ok(re.test(run.console), `${what}: no console line matches ${re}`);
  const tail = (): string => run.out.split('\n').slice(-80).join('\n');

  before(async function () {
    assert.strictEqual(process.getuid?.(), 0, 'the Linux 5.10 VM test must run as root (it must not be skipped)');
    workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'xvs-vm510-'));
    run = await runVm(workdir);
    process.stdout.write(`      (VM test: ${run.seconds.toFixed(1)} s; guest smoke ${run.facts.get('smoke_seconds') ?? '?'} s, ` +
      `VM ${run.facts.get('vm_seconds') ?? '?'} s)\n`);
  });

  after(function () {
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed');
    if (!run || run.status !== 0 || failed) {
      process.stderr.write(`--- run-510.sh output (console log kept in ${workdir}) ---\n${run?.out ?? ''}\n`);
    } else if (workdir) {
      fs.rmSync(workdir, { recursive: true, force: true });
    }
  });

  it('boots 5.10 and the guest passes every check: RESULT: PASS, exit 0', () => {
    assert.ok(/^RESULT: PASS linux-5\.10 vm test/m.test(run.out), `no PASS line:\n${tail()}`);
    assert.equal(run.status, 0, tail());
    assert.match(fact('kernel'), /^5\.10\./);
    assert.equal(fact('smoke_failures'), '0');
  });

  it('TC hook (br0): first-packet ping, 8 MiB over TCP intact, megaflows with packets', () => {
    assert.equal(fact('tc.ping'), 'ok');
    assert.equal(fact('tc.tcp_bytes'), '8388608');
    assert.ok(Number(fact('tc.megaflows')) > 0, 'megaflows');
    assert.ok(Number(fact('tc.megaflows_with_packets')) > 0, 'megaflows with packets');
    has(/^VMTEST flows tc\| in_port\(1\),eth\(src=02:00:00:00:01:01,dst=02:00:00:00:01:02\),eth_type\(0x0800\),ipv4\(frag=no\), packets:[1-9]\d*, bytes:\d+, used:[\d.]+s, .*actions:2$/m, 'a1 -> a2 IPv4 megaflow with packets');
  });

  it('XDP hook (br1): first-packet ping, 8 MiB over TCP intact, megaflows with packets', () => {
    assert.equal(fact('xdp.ping'), 'ok');
    assert.equal(fact('xdp.tcp_bytes'), '8388608');
    assert.ok(Number(fact('xdp.megaflows')) > 0, 'megaflows');
    assert.ok(Number(fact('xdp.megaflows_with_packets')) > 0, 'megaflows with packets');
    has(/^VMTEST dpctl\| +port 1: xb1 \(xdp/m, 'dpctl/show br1: xb1 on the XDP hook');
  });

  it('no DEVMAP broadcast on 5.10: said once in the log, and XDP floods still work through the slow path', () => {
    assert.equal(fact('devmap_broadcast_log_lines'), '1');
    has(/^VSWITCHD\| .*\|dpif_xdp\|INFO\|kernel 5\.10\.\S+ has no DEVMAP broadcast \(5\.14\+\)/m, 'the daemon log line');
    assert.equal(fact('xdp_flood.ping'), 'ok', 'ping to a host the switch had not learned');
    assert.ok(Number(fact('xdp.slow_path_after')) > Number(fact('xdp.slow_path_before')), 'the flood ran in the slow path');
    assert.match(fact('xdp.flood_flow'), /^in_port\(1\),eth\(src=02:00:00:00:02:01,dst=ff:ff:ff:ff:ff:ff\),eth_type\(0x0806\), .*actions:(2,3|3,2)$/);
  });

  it('the revalidator works without batch lookups: counts reach OpenFlow, idle megaflows expire, no warnings', () => {
    assert.ok(Number(fact('revalidator.of_n_packets')) > 0, tail());
    assert.strictEqual(fact('revalidator.br0_megaflows_after_idle'), '0', tail());
    assert.strictEqual(fact('revalidator_warnings'), '0', tail());
  });

  it('the daemon is alive at the end with no uncaught exception', () => {
    assert.equal(fact('daemon_alive'), 'yes');
    assert.equal(fact('daemon_uncaught_errors'), '0');
  });

  it('restart on 5.10: after exit both bridges forward from the pinned fast path, the next start adopts it', () => {
    assert.equal(fact('daemon_exit'), 'clean');
    assert.equal(fact('restart.down_tc.ping'), 'ok', 'TC bridge without the daemon');
    assert.equal(fact('restart.down_xdp.ping'), 'ok', 'XDP bridge without the daemon');
    assert.ok(Number(fact('restart.adopted_megaflows')) > 0, 'megaflows adopted');
    assert.equal(fact('restart.up_tc.ping'), 'ok');
    assert.equal(fact('restart.up_xdp.ping'), 'ok');
    assert.equal(fact('restart.daemon_uncaught_errors'), '0');
    has(/^VSWITCHD2\| .*xdp@br1: adopted the pinned fast path/m, 'the restarted daemon adopted br1');
  });

  it('openvswitch.ko loads and registers the ovs_* generic netlink families', () => {
    const added = fact('genl_families_added_by_openvswitch').split(/\s+/).filter(Boolean).sort();
    assert.deepEqual(added, ['ovs_ct_limit', 'ovs_datapath', 'ovs_flow', 'ovs_meter', 'ovs_packet', 'ovs_vport']);
    // Versions and header size as include/uapi/linux/openvswitch.h (OVS_DATAPATH_VERSION 2, the others 1; struct ovs_header)
    assert.match(fact('genl.ovs_datapath'), /^id:0x[0-9a-f]+ version:2 hdrsize:4 maxattr:\d+ ops:NEW\(.*\),DEL\(.*\),GET\(.*dump.*\),SET\(.*\) mcgrps:ovs_datapath=0x[0-9a-f]+$/);
    assert.match(fact('genl.ovs_vport'), /^id:0x[0-9a-f]+ version:1 hdrsize:4 .* ops:NEW\(.*\),DEL\(.*\),GET\(.*\),SET\(.*\) mcgrps:ovs_vport=0x[0-9a-f]+$/);
    assert.match(fact('genl.ovs_flow'), /^id:0x[0-9a-f]+ version:1 hdrsize:4 .* ops:NEW\(.*\),DEL\(.*\),GET\(.*\),SET\(.*\) mcgrps:ovs_flow=0x[0-9a-f]+$/);
    assert.match(fact('genl.ovs_packet'), /^id:0x[0-9a-f]+ version:1 hdrsize:4 .* ops:EXECUTE\(.*\) mcgrps:none$/);
    has(/^VMTEST genl\| Name: ovs_datapath$/m, 'the raw genl ctrl list output');
  });
});
