/*
 * A bridge (OVS ofproto): its ports, its OpenFlow table, MAC learning and
 * the upcall handler, over one datapath. OpenFlow port numbers are the
 * datapath port numbers (each bridge has its own datapath here).
 */
import { DpifXdp, DpifXdpOptions } from '../dpif/dpif-xdp';
import { DpifPort, PortHook } from '../dpif/dpif';
import { FlowKey } from '../dpif/flow-key';
import { Classifier, OfAction } from './classifier';
import { MacLearning } from './mac-learning';
import { Udpif } from './udpif';
import { XlateContext } from './xlate';
import { Vlog } from '../lib/vlog';

const log = new Vlog('ofproto');

export interface PortConfig { name: string; ofport: number; hook: PortHook | 'auto' }

export class Bridge {
  readonly table = new Classifier();
  readonly macs: MacLearning;
  readonly udpif: Udpif;
  private readonly portsByName = new Map<string, PortConfig>();

  private constructor(readonly name: string, readonly dpif: DpifXdp, agingSec: number) {
    this.macs = new MacLearning(agingSec);
    const ctx: XlateContext = { table: this.table, macs: this.macs, ports: () => [...this.portsByName.values()].map((p) => p.ofport) };
    this.udpif = new Udpif(dpif, ctx);
    // A learned MAC that appears, moves or ages out changes NORMAL's answer.
    this.macs.on('changed', (c: { mac: string }) => this.udpif.revalidateMac(c.mac));
    // fail-mode standalone: a new bridge is a learning switch (OVS's default flow).
    this.addFlow(0, new FlowKey(), new FlowKey(), [{ type: 'normal' }]);
  }

  static async create(name: string, opts: DpifXdpOptions & { macAgingSec?: number } = {}): Promise<Bridge> {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`invalid bridge name "${name}" (1-15 of A-Z a-z 0-9 _ . -)`);
    const dpif = await DpifXdp.open(name, opts);
    return new Bridge(name, dpif, opts.macAgingSec ?? 300);
  }

  addFlow(priority: number, match: FlowKey, mask: FlowKey, actions: OfAction[], cookie = 0n): void {
    this.table.insert({ priority, match, mask, actions, cookie });
    this.udpif.revalidate();       // a table change may alter any megaflow
  }

  ports(): PortConfig[] { return [...this.portsByName.values()].sort((a, b) => a.ofport - b.ofport); }
  port(name: string): PortConfig | undefined { return this.portsByName.get(name); }
  dpPorts(): DpifPort[] { return this.dpif.ports(); }

  async addPort(name: string, opts: { ofport?: number; hook?: PortHook | 'auto' } = {}): Promise<PortConfig> {
    if (this.portsByName.has(name)) throw new Error(`cannot create a port named ${name} because a port named ${name} already exists on bridge ${this.name}`);
    const used = new Set([...this.portsByName.values()].map((p) => p.ofport));
    let ofport = opts.ofport;
    if (ofport === undefined) { ofport = 1; while (used.has(ofport)) ofport++; }
    else if (used.has(ofport)) throw new Error(`ofport ${ofport} is already in use on bridge ${this.name}`);
    const dp = await this.dpif.addPort(name, ofport, opts.hook ?? 'auto');
    const pc: PortConfig = { name, ofport, hook: opts.hook ?? 'auto' };
    this.portsByName.set(name, pc);
    // Floods and ALL now include the new port.
    this.udpif.flush();
    log.info(`${this.name}: added port ${name} as ofport ${ofport} (${dp.hook})`);
    return pc;
  }

  async delPort(name: string): Promise<void> {
    const p = this.portsByName.get(name);
    if (!p) throw new Error(`bridge ${this.name} does not have a port ${name}`);
    this.portsByName.delete(name);
    await this.dpif.removePort(p.ofport);
    this.macs.flush(p.ofport);
    this.udpif.flush();
  }

  async close(): Promise<void> {
    this.udpif.close();
    this.macs.close();
    await this.dpif.close();
  }
}
