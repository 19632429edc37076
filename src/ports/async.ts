/**
 * The asynchronous driver of freePortsPlan (engine, CLI): /proc on Linux, find-process elsewhere,
 * fkill for the SIGKILL escalation.
 */
import { createRequire } from 'node:module';
import type { Effect, EffectAnswer, FreePortsRequest, FreePortsResult, PortHolder, Snapshot } from './free-port.js';
import { freePortsPlan } from './free-port.js';
import { procAvailable } from './procfs.js';
import { answerSync, signal } from './sync.js';

/** Run the plan asynchronously (engine, CLI): /proc answers on Linux, find-process elsewhere. */
export async function runFreePorts(req: FreePortsRequest): Promise<FreePortsResult> {
  const plan = freePortsPlan(req);
  let step = plan.next();
  while (!step.done) step = plan.next(await answer(step.value));
  return step.value;
}

async function answer(effect: Effect): Promise<EffectAnswer> {
  if (effect.kind === 'sleep') return new Promise<undefined>((r) => setTimeout(() => r(undefined), effect.ms));
  if (effect.kind === 'signal') return effect.signal === 'SIGKILL' ? forceKill(effect.pid) : signal(effect.pid, effect.signal);
  if (procAvailable) return answerSync(effect);
  const snapshot = await snapshotPortable(effect.ports);
  return effect.kind === 'find' ? snapshot : new Set(snapshot.holders.map((h) => h.socket));
}

async function forceKill(pid: number): Promise<boolean> {
  try {
    // Loaded on first use: the escalation is rare and fkill's dependencies cost ~10 MiB of RSS.
    const { default: fkill } = await import('fkill');
    await fkill(pid, { force: true, silent: false });
    return true;
  } catch {
    return signal(pid, 'SIGKILL');
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
