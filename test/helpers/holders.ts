/**
 * Processes the integration tests start or discover (squatters, foreign port holders), tracked by
 * identity (pid + start time) so cleanup never signals a pid that has since been reused: pid_max
 * can be as small as 32768 and a test run spawns many processes.
 */
import { spawn, execFileSync } from 'node:child_process';
import { procFacts } from '../../src/proc/read.js';
import { descendants } from '../../src/proc/tree.js';
import { snapshotSync } from '../../src/ports/sync.js';
import { waitFor } from './sandbox.js';

/** A process as it was when first seen: the pid and its start time in clock ticks. */
export interface ProcIdentity {
  readonly pid: number;
  readonly startTicks: number;
}

/** The identity of a live process, or undefined when it is gone. */
export function identify(pid: number): ProcIdentity | undefined {
  const f = procFacts(pid);
  return f ? { pid, startTicks: f.startTicks } : undefined;
}

/** True while this very process (not a reuse of its pid) exists and is not a zombie. */
export function isAlive(id: ProcIdentity): boolean {
  const f = procFacts(id.pid);
  return f !== undefined && f.startTicks === id.startTicks && f.state !== 'Z' && f.state !== 'X';
}

/** The command line of a live process ('' when gone). */
export function commandOf(pid: number): string {
  return procFacts(pid)?.command ?? '';
}

/** Pids the tests must end themselves, killed only if they are still the same process. */
export class PidLedger {
  private readonly ids: ProcIdentity[] = [];

  /** Remember a live pid; returns its identity (undefined when already gone). */
  add(pid: number): ProcIdentity | undefined {
    const id = identify(pid);
    if (id && !this.ids.some((x) => x.pid === id.pid && x.startTicks === id.startTicks)) this.ids.push(id);
    return id;
  }

  /** Remember a process known by identity (it may already be gone). */
  addIdentity(id: ProcIdentity): void {
    if (!this.ids.some((x) => x.pid === id.pid && x.startTicks === id.startTicks)) this.ids.push(id);
  }

  /** SIGKILL every remembered process that still exists. */
  killAll(): void {
    for (const id of this.ids.splice(0)) killIdentified(id);
  }
}

/** SIGKILL a process only if it is still the one identified; true when a signal was sent. */
export function killIdentified(id: ProcIdentity, sig: NodeJS.Signals = 'SIGKILL'): boolean {
  if (!isAlive(id)) return false;
  try {
    process.kill(id.pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Current holders of a port (pids listening on it), from /proc. */
export function holdersOf(port: number): { pid: number; uid: number; command: string; cwd?: string }[] {
  return snapshotSync([port]).holders.map((h) => ({ pid: h.pid, uid: h.uid, command: h.command, ...(h.cwd === undefined ? {} : { cwd: h.cwd }) }));
}

/**
 * Watch a process for children: polls /proc every few ms and records every descendant seen (its
 * identity and latest command line), so a child that lives only briefly (a squatter the monitor
 * kills within a second) is still caught, and known by identity after it is gone.
 */
export function watchDescendants(root: number, everyMs = 3): { readonly seen: ReadonlyMap<number, { id: ProcIdentity; command: string }>; stop(): void } {
  const seen = new Map<number, { id: ProcIdentity; command: string }>();
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    for (const pid of descendants([root])) {
      const f = procFacts(pid);
      if (!f) continue;
      const known = seen.get(pid);
      if (!known) seen.set(pid, { id: { pid, startTicks: f.startTicks }, command: f.command });
      else if (known.id.startTicks === f.startTicks && f.command) known.command = f.command; // after exec
    }
    setTimeout(tick, everyMs);
  };
  tick();
  return {
    seen,
    stop: () => {
      stopped = true;
    },
  };
}

/** uid and gid of `nobody`, when the tests run as root and the user exists. */
export function nobodyIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

export interface ForeignHolder extends ProcIdentity {
  /** The uid it runs as (nobody when the tests run as root, else our own uid). */
  readonly uid: number;
  /** True when it runs as another user. */
  readonly otherUser: boolean;
}

/**
 * A process outside any app's scope that listens on `port` on loopback: cwd '/', a command line
 * that names no app, in its own session. As root it runs as `nobody` (another user's process);
 * otherwise as a stranger process of our own user. Resolves once it holds the port.
 */
export async function spawnForeignHolder(port: number, ledger: PidLedger): Promise<ForeignHolder> {
  const nobody = nobodyIds();
  const code = `require('net').createServer().listen(${port}, '127.0.0.1'); setInterval(() => {}, 60000);`;
  const child = spawn(process.execPath, ['-e', code], {
    cwd: '/',
    detached: true,
    stdio: 'ignore',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    ...(nobody ? { uid: nobody.uid, gid: nobody.gid } : {}),
  });
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error('could not spawn the foreign holder');
  ledger.add(pid);
  await waitFor(`the foreign holder (pid ${pid}) listening on ${port}`, () => holdersOf(port).some((h) => h.pid === pid), 10_000, 20);
  const id = identify(pid);
  if (!id) throw new Error(`the foreign holder ${pid} died right after binding`);
  const uid = procFacts(pid)?.uid ?? -1;
  return { ...id, uid, otherUser: nobody !== undefined };
}

/** SIGCONT processes a test froze with SIGSTOP (teardown), ignoring those already gone. */
export function thaw(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone: the monitor killed it
    }
  }
}
