/*
 * CPU profiling of the running daemon (`xdp-appctl cpu-profile/start` and
 * `cpu-profile/stop FILE`), through the inspector module. `node --cpu-prof`
 * cannot be used: its SIGPROF interrupts BPF_PROG_LOAD, which then fails
 * with EAGAIN, so the profiler is started here once the programs are loaded.
 * The file is a .cpuprofile (Chrome DevTools, speedscope).
 */
import { Session } from 'inspector';
import * as fs from 'fs';

let session: Session | undefined;

const post = <T>(s: Session, method: string, params?: object): Promise<T> =>
  new Promise((resolve, reject) => s.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r as T))));

export async function cpuProfileStart(intervalUs = 200): Promise<string> {
  if (session) throw new Error('a CPU profile is already running');
  const s = new Session();
  s.connect();
  try {
    await post(s, 'Profiler.enable');
    await post(s, 'Profiler.setSamplingInterval', { interval: intervalUs });
    await post(s, 'Profiler.start');
  } catch (e) {
    s.disconnect();
    throw e;
  }
  session = s;
  return `CPU profile started (sampling every ${intervalUs} us)\n`;
}

export async function cpuProfileStop(file: string): Promise<string> {
  const s = session;
  if (!s) throw new Error('no CPU profile is running');
  session = undefined;
  try {
    const { profile } = await post<{ profile: object }>(s, 'Profiler.stop');
    fs.writeFileSync(file, JSON.stringify(profile));
  } finally {
    s.disconnect();
  }
  return `CPU profile written to ${file}\n`;
}
