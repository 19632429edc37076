/**
 * Building the ScopeContext from what the caller knows (the app's PM2 pids, cwd, script, the
 * daemon pid): adds the never-killed list and expands the app's pids with their descendants.
 */
import type { KillScope } from '../config/schema.js';
import { ancestry, descendants, procAvailable } from './procfs.js';
import type { ScopeContext } from './scope.js';

export interface ScopeInput {
  readonly scope: KillScope | 'port';
  readonly appPids?: readonly number[];
  readonly appCwd?: string;
  readonly appScript?: string;
  readonly daemonPid?: number;
  /** Pids of other PM2 apps (name by pid). */
  readonly otherApps?: ReadonlyMap<number, string>;
  /** Extra pids to protect with a reason (the hook's own process, live siblings). */
  readonly protect?: ReadonlyMap<number, string>;
}

/** Assemble the scope context; never-killed pids always win over the scope. */
export function buildScope(input: ScopeInput): ScopeContext {
  const protectedPids = new Map<number, string>([[1, 'PID 1 (init)']]);
  if (input.daemonPid) protectedPids.set(input.daemonPid, 'the PM2 daemon');
  const mine = procAvailable ? ancestry(process.pid) : [process.pid, process.ppid];
  mine.forEach((pid, i) => {
    if (!protectedPids.has(pid)) protectedPids.set(pid, i === 0 ? 'helpdesk-monitor itself' : 'an ancestor of helpdesk-monitor');
  });
  for (const [pid, why] of input.protect ?? []) protectedPids.set(pid, why);
  const roots = (input.appPids ?? []).filter((p) => p > 0);
  const appPids = new Set<number>(roots);
  if (procAvailable && roots.length > 0) for (const d of descendants(roots)) appPids.add(d);
  return {
    protectedPids,
    scope: input.scope,
    appPids,
    ...(input.appCwd ? { appCwd: input.appCwd } : {}),
    ...(input.appScript ? { appScript: input.appScript } : {}),
    ...(input.otherApps ? { otherApps: input.otherApps } : {}),
    uid: process.getuid?.() ?? -1,
  };
}
