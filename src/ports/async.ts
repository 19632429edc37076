/**
 * The asynchronous driver of freePortsPlan (engine, CLI): /proc on Linux, find-process elsewhere,
 * fkill for the SIGKILL escalation.
 */
import { createRequire } from 'node:module';
import type { Effect, EffectAnswer, FreePortsRequest, FreePortsResult, PortHolder, Snapshot } from './free-port.js';
import { freePortsPlan } from './free-port.js';
import { killJudged } from './kill.js';
import { judge } from './scope.js';
import { procAvailable } from '../proc/read.js';
import { answerSync } from './sync.js';
import { listeningInodes, socketsOf } from '../proc/sockets.js';

/** Run the plan asynchronously (engine, CLI): /proc answers on Linux, find-process elsewhere. */
export async function runFreePorts(req: FreePortsRequest): Promise<FreePortsResult> {
  const plan = freePortsPlan(req);
  let step = plan.next();
  while (!step.done) step = plan.next(await answer(step.value));
  return step.value;
}

/**
 * The ports on which something other than `pids` listens (a stray), or undefined when that cannot
 * be told now (one of `pids` is exiting). On Linux: the TCP tables and the fds of `pids` only, not
 * a scan of every process's fds; elsewhere find-process (one holder per port).
 */
export async function portsHeldBeyond(ports: readonly number[], pids: readonly number[]): Promise<number[] | undefined> {
  if (!procAvailable) {
    const allowed = new Set(pids);
    const { holders } = await snapshotPortable(ports);
    return [...new Set(holders.filter((h) => !allowed.has(h.pid)).map((h) => h.port))].sort((a, b) => a - b);
  }
  const listening = listeningInodes(new Set(ports));
  if (listening.size === 0) return [];
  const own = socketsOf(pids);
  if (own === undefined) return undefined;
  return [...new Set([...listening].filter(([inode]) => !own.has(inode)).map(([, port]) => port))].sort((a, b) => a - b);
}

async function answer(effect: Effect): Promise<EffectAnswer> {
  if (effect.kind === 'sleep') return new Promise<undefined>((r) => setTimeout(() => r(undefined), effect.ms));
  if (procAvailable) return answerSync(effect);
  if (effect.kind === 'signal') return effect.signal === 'SIGKILL' ? forceKill(effect) : killJudged(effect.target, effect.scope, effect.signal).outcome === 'sent';
  const snapshot = await snapshotPortable(effect.ports);
  return effect.kind === 'find' ? snapshot : new Set(snapshot.holders.map((h) => h.socket));
}

/**
 * Off Linux the escalation goes through fkill (taskkill /F on Windows), still judged first: the
 * scope is asked again, as on the one road, and only then is fkill called.
 */
async function forceKill(effect: Extract<Effect, { kind: 'signal' }>): Promise<boolean> {
  if (!judge(effect.target, effect.scope).kill) return false;
  try {
    // Loaded on first use: the escalation is rare and fkill's dependencies cost ~10 MiB of RSS.
    const { default: fkill } = await import('fkill');
    await fkill(effect.target.pid, { force: true, silent: false });
    return true;
  } catch {
    return killJudged(effect.target, effect.scope, 'SIGKILL').outcome === 'sent';
  }
}

interface FoundProcess {
  pid: number;
  uid?: number;
  cmd?: string;
  name?: string;
}

/** Off Linux: find-process (needs lsof/netstat; it reports one holder per port). */
async function snapshotPortable(ports: readonly number[]): Promise<Snapshot> {
  const req = createRequire(import.meta.url);
  const find = (req('find-process') as { default: (type: 'port', value: number) => Promise<FoundProcess[]> }).default;
  const holders: PortHolder[] = [];
  for (const port of ports) {
    for (const p of await find('port', port).catch(() => [])) {
      holders.push({ port, socket: `${p.pid}:${port}`, pid: p.pid, uid: p.uid ?? -1, command: p.cmd ?? p.name ?? '' });
    }
  }
  return { holders, hidden: [] };
}
