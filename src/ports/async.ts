/**
 * The asynchronous driver of freePortsPlan (engine, CLI): /proc on Linux, find-process elsewhere,
 * fkill for the SIGKILL escalation.
 */
import { createRequire } from 'node:module';
import type { Effect, EffectAnswer, FreePortsRequest, FreePortsResult, PortHolder, Snapshot } from './free-port.js';
import { freePortsPlan } from './free-port.js';
import { listeningInodes, procAvailable } from './procfs.js';
import { signal, snapshotSync } from './sync.js';

/** Run the plan asynchronously (engine, CLI). */
export async function runFreePorts(req: FreePortsRequest): Promise<FreePortsResult> {
  const plan = freePortsPlan(req);
  let step = plan.next();
  while (!step.done) {
    const effect: Effect = step.value;
    let answer: EffectAnswer;
    switch (effect.kind) {
      case 'find':
        answer = procAvailable ? snapshotSync(effect.ports) : await snapshotPortable(effect.ports);
        break;
      case 'listening':
        answer = procAvailable
          ? new Set(listeningInodes(new Set(effect.ports)).keys())
          : new Set((await snapshotPortable(effect.ports)).holders.map((h) => h.socket));
        break;
      case 'signal':
        answer = effect.signal === 'SIGKILL' ? await forceKill(effect.pid) : signal(effect.pid, effect.signal);
        break;
      case 'sleep':
        await new Promise((r) => setTimeout(r, effect.ms));
        answer = undefined;
        break;
    }
    step = plan.next(answer);
  }
  return step.value;
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
