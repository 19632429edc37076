/**
 * The effects of a remedy, each a small step the engine and the CLI wrapper share: stop through
 * PM2 (so PM2 does not respawn behind our back), free the app's ports, start, verify.
 */
import type { Clock } from '../clock.js';
import { sleep } from '../clock.js';
import type { AppConfig } from '../config/schema.js';
import type { Pm2Port, ProcessInfo } from '../pm2/adapter.js';
import { probePm2Status } from '../probes/pm2-status.js';
import type { HttpProber } from '../probes/http.js';
import type { Pm2StatusOutcome } from '../probes/types.js';
import { probeAll } from './observe.js';
import { runFreePorts } from '../ports/async.js';
import { buildScope } from '../ports/context.js';
import type { FreePortsResult } from '../ports/free-port.js';
import type { ScopeContext } from '../ports/scope.js';
import { killJudged } from '../ports/kill.js';
import { identify } from '../proc/identify.js';
import { procAvailable } from '../proc/read.js';
import { descendants } from '../proc/tree.js';
import { waitUntil } from '../proc/wait.js';
import { pm2Home } from '../paths.js';

export interface ActDeps {
  readonly pm2: Pm2Port;
  readonly prober: HttpProber;
  readonly clock: Clock;
  /** The app's instances seen since the monitor started (pid -> start ticks): still the app's. */
  readonly seen?: (app: string) => ReadonlyMap<number, number>;
  /** The PM2_HOME whose pm_id marks identify apps (default: PM2_HOME of this process). */
  readonly pm2Home?: string;
}

/** The safety scope for an app, built from the live process list (before stopping it). */
export function appScope(app: AppConfig, list: readonly ProcessInfo[], deps: Pick<ActDeps, 'pm2' | 'seen' | 'pm2Home'>): ScopeContext {
  const mine = list.filter((p) => p.name === app.name && !p.isModule);
  const first = mine.find((p) => p.cwd);
  const otherApps = new Map(list.filter((p) => p.name !== app.name && p.pid > 0).map((p) => [p.pid, p.name] as const));
  const daemonPid = deps.pm2.daemonPid();
  return buildScope({
    scope: app.killScope,
    app: {
      name: app.name,
      pmIds: mine.map((p) => p.pmId),
      pids: mine.map((p) => p.pid),
      ...(deps.seen ? { seen: deps.seen(app.name) } : {}),
      ...(first?.cwd ? { cwd: first.cwd } : {}),
    },
    pm2Home: deps.pm2Home ?? pm2Home(),
    ...(daemonPid ? { daemonPid } : {}),
    otherApps,
  });
}

/** The app's scope with its live (online) instances protected: for freeing ports around a running app. */
export function sparingLiveScope(app: AppConfig, list: readonly ProcessInfo[], deps: Pick<ActDeps, 'pm2' | 'seen' | 'pm2Home'>): { scope: ScopeContext; live: number } {
  const live = list.filter((p) => p.name === app.name && !p.isModule && p.pid > 0 && p.status === 'online');
  const scope = appScope(app, list, deps);
  const protectedPids = new Map(scope.protectedPids);
  for (const p of live) protectedPids.set(p.pid, `a live instance of ${app.name}`);
  return { scope: { ...scope, protectedPids }, live: live.length };
}

/** Free the app's ports around its live instances (wrapper start/reload, cleanup-ports, hook). */
export async function freePortsAroundLive(app: AppConfig, deps: ActDeps, dryRun = false): Promise<FreePortsResult & { live: number }> {
  let list: ProcessInfo[] = [];
  try {
    list = await deps.pm2.list();
  } catch {
    // PM2 unreachable: no pids to spare; the never-killed list and the scope still hold
  }
  const { scope, live } = sparingLiveScope(app, list, deps);
  const r = await runFreePorts({ ports: app.ports, scope, graceMs: app.killGraceMs, now: () => deps.clock.now(), dryRun });
  return { ...r, live };
}

/**
 * Stop every instance of the app through PM2. When the app is hung, kill its processes as soon as
 * PM2 has marked them stopping, instead of waiting PM2's kill_timeout on a frozen process. The
 * victims are identified (start time, lineage) now, judged against the app's scope, and re-checked
 * right before the SIGKILL: a pid PM2 already reaped and the system reused is left alone.
 */
export async function stopApp(app: AppConfig, list: readonly ProcessInfo[], hung: boolean, deps: ActDeps, scope?: ScopeContext): Promise<void> {
  const mine = list.filter((p) => p.name === app.name && !p.isModule);
  const judged = scope ?? appScope(app, list, deps);
  const pids = mine.map((p) => p.pid).filter((pid) => pid > 0);
  const victims = hung && procAvailable ? [...pids, ...descendants(pids)].map(identify).filter((v) => v !== undefined) : [];
  const stops = mine.map((p) => deps.pm2.act('stop', p.pmId));
  if (hung) {
    await waitUntil(async () => (await deps.pm2.list()).filter((p) => p.name === app.name).every((p) => p.status !== 'online'), { limitMs: 1000, now: () => deps.clock.now(), firstMs: 5, maxMs: 20 });
    for (const v of victims) killJudged(v, judged, 'SIGKILL');
  }
  await Promise.all(stops);
}

/** Free the app's configured ports under its safety scope. */
export function freeAppPorts(app: AppConfig, scope: ScopeContext, deps: Pick<ActDeps, 'clock'>): Promise<FreePortsResult> {
  return runFreePorts({ ports: app.ports, scope, graceMs: app.killGraceMs, now: () => deps.clock.now() });
}

/** (Re)start every known instance of the app by pm_id (works for stopped and errored ones). */
export async function startApp(app: AppConfig, list: readonly ProcessInfo[], deps: ActDeps): Promise<void> {
  const mine = list.filter((p) => p.name === app.name && !p.isModule);
  await Promise.all(mine.map((p) => deps.pm2.act('restart', p.pmId)));
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly elapsedMs: number;
  readonly detail: string;
}

/**
 * Wait until the app is up (every PM2 instance online, or `status` says so for apps outside PM2)
 * and every probe passes, or the deadline.
 */
export async function verifyHealthy(
  app: AppConfig,
  deps: ActDeps,
  timeoutMs = app.verifyTimeoutMs,
  status: () => Promise<Pm2StatusOutcome> = async () => probePm2Status(app.name, await deps.pm2.list()),
): Promise<VerifyResult> {
  const started = deps.clock.now();
  let detail = 'no observation yet';
  while (deps.clock.now() - started < timeoutMs) {
    const s = await status();
    if (s.state === 'errored' || s.state === 'missing') {
      return { ok: false, elapsedMs: deps.clock.now() - started, detail: `${s.state} (${s.detail})` };
    }
    if (s.state !== 'online') {
      detail = s.detail;
    } else {
      const left = timeoutMs - (deps.clock.now() - started);
      const r = await probeAll(app, deps.prober, Math.max(50, Math.round(Math.min(app.health.timeoutMs, left))));
      if (r.ok) return { ok: true, elapsedMs: deps.clock.now() - started, detail: `online, ${r.detail}` };
      detail = `online, but ${r.detail}`;
    }
    await sleep(50);
  }
  return { ok: false, elapsedMs: deps.clock.now() - started, detail: `not healthy within ${timeoutMs} ms: ${detail}` };
}
