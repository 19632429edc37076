/**
 * Loopback ports for the demo and the benchmark: pick free ones, and find / end the processes
 * that hold them. Only holders of OUR ports are ever signalled (the brief's safety rule), never
 * this process, its parent or PID 1.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { listeningInodes } from '../../src/proc/sockets.js';
import { procAvailable } from '../../src/proc/read.js';
import { snapshotSync } from '../../src/ports/sync.js';

/** Can we listen on 127.0.0.1:port right now (and is nobody listening on it on any address)? */
function bindable(port: number): Promise<boolean> {
  if (procAvailable && listeningInodes(new Set([port])).size > 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** `count` free loopback ports, the first at or after `from`. */
export async function findFreePorts(from: number, count: number, span = 200): Promise<number[]> {
  const found: number[] = [];
  for (let p = from; p < from + span && found.length < count; p++) if (await bindable(p)) found.push(p);
  if (found.length < count) throw new Error(`no ${count} free port(s) between ${from} and ${from + span - 1}`);
  return found;
}

export interface Holder {
  readonly pid: number;
  readonly port: number;
  readonly command: string;
}

/** Every process listening on one of the ports (Linux /proc; [] elsewhere). */
export function portHolders(ports: readonly number[]): Holder[] {
  if (!procAvailable || ports.length === 0) return [];
  return snapshotSync(ports).holders.map((h) => ({ pid: h.pid, port: h.port, command: h.command }));
}

const NEVER = new Set([1, process.pid, process.ppid]);

/** Running (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/**
 * End the holders of our ports except `keep` (the app's live pid, the PM2 daemon): SIGCONT
 * (a stopped process cannot act on SIGTERM), SIGTERM, wait up to `graceMs` for the port to be
 * released, then SIGKILL. Returns what was signalled.
 */
export async function killPortHolders(ports: readonly number[], keep: readonly number[] = [], graceMs = 1000): Promise<Holder[]> {
  const skip = new Set([...NEVER, ...keep]);
  const victims = portHolders(ports).filter((h) => !skip.has(h.pid));
  const pids = [...new Set(victims.map((v) => v.pid))];
  for (const pid of pids) {
    for (const sig of ['SIGCONT', 'SIGTERM'] as const) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  }
  // Wait on the sockets, not on the pids: a killed process may linger as a zombie until reaped.
  const holding = (): Set<number> => new Set(portHolders(ports).map((h) => h.pid).filter((pid) => pids.includes(pid)));
  const until = performance.now() + graceMs;
  while (holding().size > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
  for (const pid of [...holding()].filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return victims;
}
