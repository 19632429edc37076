/**
 * Building the ScopeContext from what the caller knows (the app's PM2 instances, pm_ids, cwd,
 * PM2_HOME, the daemon pid, other apps): adds the never-killed list, the app's uid, and the app's
 * descendants as they are now (taken before a stop: once an instance dies its children move to
 * init and their lineage is lost; their PM2 marks are not).
 */
import type { KillScope } from '../config/schema.js';
import { neverKilled } from '../proc/guard.js';
import { procAvailable, procFacts, readStat } from '../proc/read.js';
import { descendants } from '../proc/tree.js';
import type { KillLog } from './kill-log.js';
import type { ScopeContext } from './scope.js';

export interface ScopeInput {
  readonly scope: KillScope | 'port';
  readonly app?: {
    readonly name?: string;
    readonly pmIds?: readonly number[];
    /** Instance pids now, plus those seen earlier with their start ticks. */
    readonly pids?: readonly number[];
    readonly seen?: ReadonlyMap<number, number>;
    readonly cwd?: string;
    /** Known uid (the hook: its own). Else an instance's, else the daemon's, else ours. */
    readonly uid?: number;
  };
  readonly pm2Home?: string;
  readonly daemonPid?: number;
  /** Instances of other PM2 apps: pid -> name. */
  readonly otherApps?: ReadonlyMap<number, string>;
  /** Extra pids never to kill, with a reason (the hook's own process, live instances). */
  readonly protect?: ReadonlyMap<number, string>;
  /** What this process is, for refusals that name it. */
  readonly self?: string;
  /** The kill log the signals under this scope go to (absent: not logged). */
  readonly killLog?: KillLog;
}

/** Assemble the scope context; never-killed pids always win over the scope. */
export function buildScope(input: ScopeInput): ScopeContext {
  const protectedPids = neverKilled({
    ...(input.daemonPid ? { daemonPid: input.daemonPid } : {}),
    ...(input.pm2Home ? { pm2Home: input.pm2Home } : {}),
    ...(input.self ? { self: input.self } : {}),
  });
  for (const [pid, why] of input.protect ?? []) protectedPids.set(pid, why);
  const app = input.app ?? {};
  const roots = (app.pids ?? []).filter((p) => p > 0);
  const instances = new Map<number, number | undefined>();
  for (const [pid, ticks] of app.seen ?? []) instances.set(pid, ticks);
  for (const pid of roots) instances.set(pid, procAvailable ? readStat(pid)?.startTicks : undefined);
  if (procAvailable && roots.length > 0) for (const d of descendants(roots)) if (!instances.has(d)) instances.set(d, readStat(d)?.startTicks);
  return {
    protectedPids,
    scope: input.scope,
    app: {
      ...(app.name === undefined ? {} : { name: app.name }),
      uid: app.uid ?? appUid(roots, protectedPids, input.daemonPid),
      pmIds: new Set(app.pmIds ?? []),
      instances,
      ...(app.cwd ? { cwd: app.cwd } : {}),
    },
    ...(input.pm2Home ? { pm2Home: input.pm2Home } : {}),
    ...(input.otherApps ? { otherApps: input.otherApps } : {}),
    ...(input.killLog ? { killLog: input.killLog } : {}),
  };
}

/** The uid the app runs as: an instance's, else the PM2 daemon's (apps run as it by default), else ours. */
function appUid(roots: readonly number[], guarded: ReadonlyMap<number, string>, daemonPid: number | undefined): number {
  if (procAvailable) {
    for (const pid of roots) {
      const uid = procFacts(pid)?.uid;
      if (uid !== undefined && uid >= 0) return uid;
    }
    const daemon = daemonPid ?? [...guarded].find(([, why]) => why === 'the PM2 daemon')?.[0];
    const uid = daemon === undefined ? undefined : procFacts(daemon)?.uid;
    if (uid !== undefined && uid >= 0) return uid;
  }
  return process.getuid?.() ?? -1;
}
