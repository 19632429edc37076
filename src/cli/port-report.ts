/**
 * How a port-freeing result is shown by the commands (kill-port, cleanup-ports, hook): which pids
 * are live PM2 apps (killing one is a restart of that app, which an operator should see before
 * and after). The JSON form is json.ts's freedJson.
 */
import type { ProcessInfo } from '../pm2/adapter.js';
import type { FreePortsResult, KillRecord, Refusal } from '../ports/free-port.js';
import { ancestry } from '../proc/tree.js';
import type { Pm2AppOf } from './json.js';

export type { Pm2AppOf };

/**
 * The live PM2 app a pid is, or descends from (nearest first); undefined for any other process.
 * `lineage` gives the pid and its ancestors, the pid first (/proc by default).
 */
export function pm2AppOf(pid: number, list: readonly ProcessInfo[], lineage: (pid: number) => readonly number[] = ancestry): Pm2AppOf | undefined {
  const byPid = new Map(list.filter((p) => p.pid > 0).map((p) => [p.pid, p]));
  if (byPid.size === 0) return undefined;
  const chain = lineage(pid);
  for (const [i, p] of chain.entries()) {
    const app = byPid.get(p);
    if (app) return { name: app.name, pm_id: app.pmId, relation: i === 0 ? 'app' : 'child', module: app.isModule };
  }
  return undefined;
}

/** "the live PM2 app "api" (pm_id 3)", or "a child of …"; `was` for a process already killed. */
export function describePm2App(a: Pm2AppOf, was = false): string {
  const app = `the live PM2 ${a.module ? 'module' : 'app'} ${JSON.stringify(a.name)} (pm_id ${a.pm_id})`;
  if (a.relation === 'child') return `${was ? 'it was' : 'this is'} a child of ${app}`;
  return `${was ? 'it was' : 'this is'} ${app}`;
}

/** Every pid of the result mapped to its PM2 app (only the pids that have one). */
export function pm2AppsIn(r: FreePortsResult, list: readonly ProcessInfo[], lineage?: (pid: number) => readonly number[]): Map<number, Pm2AppOf> {
  const out = new Map<number, Pm2AppOf>();
  for (const { pid } of [...r.wouldKill, ...r.killed, ...r.refused]) {
    if (pid <= 0 || out.has(pid)) continue;
    const a = pm2AppOf(pid, list, lineage);
    if (a) out.set(pid, a);
  }
  return out;
}

/**
 * The result with each record's reason followed by what its pid is in PM2, for the human lines.
 * PM2 restarts an app whose process is killed (autorestart), so a kill of one says how to stop it.
 */
export function withPm2Notes(r: FreePortsResult, apps: ReadonlyMap<number, Pm2AppOf>): FreePortsResult {
  const note = <T extends KillRecord | Refusal>(rec: T, was: boolean, hint: boolean): T => {
    const a = apps.get(rec.pid);
    if (!a) return rec;
    const stop = hint && a.relation === 'app' && !a.module ? `; PM2 may restart it after the kill (\`helpdesk-monitor stop ${a.name}\` stops it for good)` : '';
    return { ...rec, why: `${rec.why} — ${describePm2App(a, was)}${stop}` };
  };
  return {
    ...r,
    wouldKill: r.wouldKill.map((w) => note(w, false, true)),
    killed: r.killed.map((k) => note(k, true, true)),
    refused: r.refused.map((x) => note(x, false, false)),
  };
}
