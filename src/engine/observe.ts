/**
 * Building one observation of an app: its run status (from PM2's table, or the system's for apps
 * PM2 does not run: the strategy says which), the probes (HTTP, TCP, exec: all must pass), the
 * rules (rule-outcomes.ts), and squatters on its ports around a crash or a start (when: squat-policy.ts;
 * a found squatter, or a crash the bus reported, makes this check skip the probes). Raw outcomes
 * only: judging them is decide()'s job.
 */
import type { AppConfig } from '../config/schema.js';
import type { ProcessInfo } from '../pm2/adapter.js';
import type { HttpProber } from '../probes/http.js';
import { procAvailable } from '../proc/read.js';
import { snapshotSync } from '../ports/sync.js';
import type { RestartStrategy } from '../strategies/types.js';
import type { Observation } from './decide.js';
import { probesWanted, squatterSearch } from './squat-policy.js';
import { otherProbes } from './verify.js';
import { hasRules, ruleOutcomes, type AppRules } from './rule-outcomes.js';
import { printable } from '../text/printable.js';

export interface ObserveInput {
  readonly app: AppConfig;
  /** PM2's table as the engine knows it now. */
  readonly list: readonly ProcessInfo[];
  /** A full list, fresh from PM2: the search for squatters must know every managed pid. */
  readonly freshList: () => Promise<readonly ProcessInfo[]>;
  readonly strategy: RestartStrategy;
  readonly prober: HttpProber;
  readonly limit: <T>(task: () => Promise<T>) => Promise<T>;
  readonly now: () => number;
  readonly crashes: number;
  readonly paused: boolean;
  /** A failed remedy left the app stopped: look for squatters. */
  readonly leftStopped: boolean;
  /** The port watch saw something listen on the app's ports after a crash: look for squatters first. */
  readonly watchHit?: boolean;
  /** ms since the last crash the bus reported (undefined: none since our last restart of the app). */
  readonly sinceCrashMs?: number;
  /** The PM2 daemon's pid (a file read: asked only when squatters are searched). */
  readonly daemonPid: () => number | undefined;
  /** The app's rule trackers, owned by its worker (they remember across checks). */
  readonly rules: AppRules;
}


/** Observe the app once. */
export async function observe(input: ObserveInput): Promise<Observation> {
  const { app, list } = input;
  const pm2 = input.strategy.status(app, list);
  const search = app.ports.length > 0 && procAvailable
    ? squatterSearch({
      state: pm2.state, crashes: input.crashes, leftStopped: input.leftStopped, watchHit: input.watchHit === true,
      ...(input.sinceCrashMs === undefined ? {} : { sinceCrashMs: input.sinceCrashMs }),
    })
    : 'none';
  let squatters = search === 'first' ? await searchSquatters(input, pm2.pids) : [];
  const paused = input.paused ? { paused: true } : {};
  if (!probesWanted(input.crashes, squatters.length)) return { at: input.now(), pm2, crashes: input.crashes, squatters, ...paused };
  const up = pm2.state === 'online';
  const http = up && app.health.url ? await input.limit(() => input.prober.probe(app.health)) : undefined;
  // No TCP or exec probe: no slot to wait for (the common case, checked every interval).
  const probed = up && (app.tcp || app.healthCheckCommand) ? await input.limit(() => otherProbes(app)) : [];
  const rules = up && hasRules(app) ? ruleOutcomes(app, input.rules, list, pm2.pids, input.now()) : [];
  const others = probed.length === 0 ? rules : rules.length === 0 ? probed : [...probed, ...rules];
  if (search === 'after-failure' && (http?.ok === false || probed.some((o) => !o.ok))) squatters = await searchSquatters(input, pm2.pids);
  return {
    at: input.now(), pm2, crashes: input.crashes, squatters,
    ...(http ? { http } : {}),
    ...(others.length > 0 ? { others } : {}),
    ...paused,
  };
}

/** Holders of the app's ports that are not the app, against a fresh PM2 list. */
async function searchSquatters(input: ObserveInput, appPids: readonly number[]): Promise<Observation['squatters']> {
  return findSquatters(input.app.name, appPids, await input.freshList(), input.app.ports, input.daemonPid());
}

/**
 * Holders that are neither a process PM2 runs (this app's instances, other apps', the daemon) nor
 * a descendant of one of this app's running instances (a worker it forked with the listening
 * handle is still the app). An old instance's child that outlived it has moved to init: found.
 */
function findSquatters(name: string, appPids: readonly number[], list: readonly ProcessInfo[], ports: readonly number[], daemon: number | undefined): Observation['squatters'] {
  const own = new Set([...appPids, ...list.filter((p) => p.name === name && p.pid > 0).map((p) => p.pid)]);
  const managed = new Set([...own, ...list.map((p) => p.pid)]);
  if (daemon) managed.add(daemon);
  return snapshotSync(ports)
    .holders.filter((h) => !managed.has(h.pid) && !(h.lineage ?? []).some((a) => own.has(a.pid)))
    .map((h) => ({ port: h.port, pid: h.pid, command: printable(h.command) }));
}
