/**
 * The asynchronous driver of freePortsPlan (engine, CLI): /proc on Linux, find-process elsewhere,
 * fkill for the SIGKILL escalation.
 */
import { createRequire } from 'node:module';
import type { Effect, EffectAnswer, FreePortsRequest, FreePortsResult, PortHolder, Snapshot } from './free-port.js';
import { freePortsPlan } from './free-port.js';
import { killJudged } from './kill.js';
import { noteRefusals } from './kill-log.js';
import { judge } from './scope.js';
import { procAvailable } from '../proc/read.js';
import { answerSync } from './sync.js';
import { listeningInodes, socketsOf } from '../proc/sockets.js';

/** Run the plan asynchronously (engine, CLI): /proc answers on Linux, find-process elsewhere. */
export async function runFreePorts(req: FreePortsRequest): Promise<FreePortsResult> {
  const plan = freePortsPlan(req);
  let step = plan.next();
  while (!step.done) step = plan.next(await answer(step.value));
  if (!req.dryRun) noteRefusals(req.scope.killLog, req.scope.app.name, step.value.refused);
  return step.value;
}

/** Who listens on a set of ports, as seen from a set of pids. */
export interface PortSurvey {
  /** Ports with a listener outside `pids` (a stray). */
  readonly strays: readonly number[];
  /** Ports nothing listens on. */
  readonly empty: readonly number[];
}

/**
 * Which ports something other than `pids` listens on, and which nothing listens on; undefined
 * when that cannot be told now (one of `pids` is exiting). On Linux: the TCP tables and the fds of
 * `pids` only, not a scan of every process's fds; elsewhere find-process (one holder per port).
 */
export async function surveyPorts(ports: readonly number[], pids: readonly number[]): Promise<PortSurvey | undefined> {
  const held = new Map<number, boolean>(); // port -> has a stray
  if (!procAvailable) {
    const allowed = new Set(pids);
    for (const h of (await snapshotPortable(ports)).holders) held.set(h.port, (held.get(h.port) ?? false) || !allowed.has(h.pid));
  } else {
    const listening = listeningInodes(new Set(ports));
    const own = listening.size === 0 ? new Set<string>() : socketsOf(pids);
    if (own === undefined) return undefined;
    for (const [inode, port] of listening) held.set(port, (held.get(port) ?? false) || !own.has(inode));
  }
  const sorted = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);
  return { strays: sorted([...held].filter(([, stray]) => stray).map(([p]) => p)), empty: sorted(ports.filter((p) => !held.has(p))) };
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
