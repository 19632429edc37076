/**
 * Port holders the benchmarks start themselves: a `node -e` process listening on 127.0.0.1:PORT,
 * or a pair (a parent that hands its listening server to a child, so two pids hold one socket).
 * Every pid is remembered with its start time, so cleanup only ever signals the very processes we
 * started, never a reuse of their pid.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { listeningInodes } from '../../src/proc/sockets.js';
import { snapshotSync } from '../../src/ports/sync.js';
import { isRunning, startTicksOf } from './proc.js';

interface Identity {
  readonly pid: number;
  readonly startTicks: number;
}

/** The pids we started, by identity. */
export class Tracker {
  private readonly ids = new Map<number, Identity>();

  add(pid: number): void {
    const startTicks = startTicksOf(pid);
    if (startTicks !== undefined) this.ids.set(pid, { pid, startTicks });
  }

  /** Still running, and still the process we started? */
  alive(pid: number): boolean {
    const id = this.ids.get(pid);
    return id !== undefined && startTicksOf(pid) === id.startTicks && isRunning(pid);
  }

  /** Signal every tracked process that is still ours and alive; returns the pids signalled. */
  killAll(sig: NodeJS.Signals = 'SIGKILL'): number[] {
    const hit: number[] = [];
    for (const pid of [...this.ids.keys()]) {
      if (this.alive(pid)) {
        try {
          process.kill(pid, sig);
          hit.push(pid);
        } catch {
          // gone meanwhile
        }
      } else {
        this.ids.delete(pid);
      }
    }
    return hit;
  }
}

/** Is anything listening on the port (any address)? /proc/net/tcp{,6}, ~0.2 ms. */
export function listening(port: number): boolean {
  return listeningInodes(new Set([port])).size > 0;
}

/** Pids that hold a listening socket on the port (every holder, from /proc). */
export function holderPids(port: number): number[] {
  return [...new Set(snapshotSync([port]).holders.map((h) => h.pid))];
}

/** Can we bind 127.0.0.1:port right now (a real bind attempt, closed at once)? */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Confirm the port is free with a real bind of 127.0.0.1:PORT, retried every `everyMs`; resolves
 * with performance.now() at the first successful bind, or undefined after `capMs`. Tries once at
 * once. A bind costs ~0.3 ms; a read of /proc/net/tcp{,6} costs several ms on big-RAM machines
 * (the kernel walks its whole connection hash table on every read), so the confirmation does not
 * use /proc.
 */
export async function waitFree(port: number, capMs: number, everyMs = 1): Promise<number | undefined> {
  const until = performance.now() + capMs;
  for (;;) {
    if (await canBind(port)) return performance.now();
    if (performance.now() > until) return undefined;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const SINGLE = (port: number): string =>
  `const s=require('net').createServer();s.on('error',e=>{console.error(e.code);process.exit(3)});` +
  `s.listen(${port},'127.0.0.1',()=>process.stdout.write('ready '+process.pid+'\\n'))`;

// The child keeps the server it was handed (and resets connections), like the example app's squatter.
const CHILD = `process.on('message',(m,h)=>{if(m==='server'&&h){h.on('connection',c=>c.destroy());process.send('holding')}})`;

const PAIR = (port: number): string =>
  `const net=require('net'),cp=require('child_process');const s=net.createServer();` +
  `s.on('error',e=>{console.error(e.code);process.exit(3)});` +
  `s.listen(${port},'127.0.0.1',()=>{const c=cp.spawn(process.execPath,['-e',${JSON.stringify(CHILD)}],{stdio:['ignore','ignore','ignore','ipc']});` +
  `c.on('message',()=>process.stdout.write('ready '+process.pid+' '+c.pid+'\\n'));c.send('server',s)})`;

export interface StartedHolder {
  /** Every pid that holds the port (one, or parent and child for a pair). */
  readonly pids: readonly number[];
}

/**
 * Start a holder of 127.0.0.1:port and resolve once it (both, for a pair) listens. `cwd` is the
 * holder's working directory (the preload hook's scope `app` matches on it).
 */
export function spawnHolder(port: number, tracker: Tracker, o: { pair?: boolean; cwd?: string; timeoutMs?: number } = {}): Promise<StartedHolder> {
  const child = spawn(process.execPath, ['-e', o.pair ? PAIR(port) : SINGLE(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(o.cwd ? { cwd: o.cwd } : {}),
  });
  if (child.pid) tracker.add(child.pid);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the holder on port ${port} did not start within ${o.timeoutMs ?? 10_000} ms: ${err.trim()}`));
    }, o.timeoutMs ?? 10_000);
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /ready ([\d ]+)\n/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const pids = m[1]!.trim().split(' ').map(Number);
      for (const pid of pids) tracker.add(pid);
      child.stdout.destroy();
      resolve({ pids });
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`the holder on port ${port} exited before listening (${sig ?? code}): ${err.trim()}`));
    });
  });
}
