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
import { signal } from '../ports/sync.js';
import { descendants, procAvailable } from '../ports/procfs.js';

export interface ActDeps {
  readonly pm2: Pm2Port;
  readonly prober: HttpProber;
  readonly clock: Clock;
}

/** The safety scope for an app, built from the live process list (before stopping it). */
export function appScope(app: AppConfig, list: readonly ProcessInfo[], daemonPid: number | undefined): ScopeContext {
  const mine = list.filter((p) => p.name === app.name && !p.isModule);
  const first = mine[0];
  const otherApps = new Map(list.filter((p) => p.name !== app.name && p.pid > 0).map((p) => [p.pid, p.name] as const));
  return buildScope({
    scope: app.killScope,
    appPids: mine.map((p) => p.pid),
    ...(first?.cwd ? { appCwd: first.cwd } : {}),
    ...(first?.script ? { appScript: first.script } : {}),
    ...(daemonPid ? { daemonPid } : {}),
    otherApps,
  });
}

/** The app's scope with its live (online) instances protected: for freeing ports around a running app. */
export function sparingLiveScope(app: AppConfig, list: readonly ProcessInfo[], daemonPid: number | undefined): { scope: ScopeContext; live: number } {
  const live = list.filter((p) => p.name === app.name && !p.isModule && p.pid > 0 && p.status === 'online');
  const scope = appScope(app, list, daemonPid);
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
  const { scope, live } = sparingLiveScope(app, list, deps.pm2.daemonPid());
  const r = await runFreePorts({ ports: app.ports, scope, graceMs: app.killGraceMs, now: () => deps.clock.now(), dryRun });
  return { ...r, live };
}

/**
 * Stop every instance of the app through PM2. When the app is hung, kill its processes as soon as
 * PM2 has marked them stopping, instead of waiting PM2's kill_timeout on a frozen process.
 */
export async function stopApp(app: AppConfig, list: readonly ProcessInfo[], hung: boolean, deps: ActDeps): Promise<void> {
  const mine = list.filter((p) => p.name === app.name && !p.isModule);
  const stops = mine.map((p) => deps.pm2.act('stop', p.pmId));
  if (hung) {
    const pids = mine.map((p) => p.pid).filter((pid) => pid > 0);
    const victims = procAvailable ? [...pids, ...descendants(pids)] : pids;
    await waitFor(deps, 1000, async () => {
      const now = await deps.pm2.list();
      return now.filter((p) => p.name === app.name).every((p) => p.status !== 'online');
    });
    for (const pid of victims) signal(pid, 'SIGKILL');
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
      const r = await probeAll(app, deps.prober, Math.max(50, Math.min(app.health.timeoutMs, left)));
      if (r.ok) return { ok: true, elapsedMs: deps.clock.now() - started, detail: `online, ${r.detail}` };
      detail = `online, but ${r.detail}`;
    }
    await sleep(50);
  }
  return { ok: false, elapsedMs: deps.clock.now() - started, detail: `not healthy within ${timeoutMs} ms: ${detail}` };
}

async function waitFor(deps: ActDeps, limitMs: number, cond: () => Promise<boolean>): Promise<boolean> {
  const until = deps.clock.now() + limitMs;
  while (deps.clock.now() < until) {
    if (await cond()) return true;
    await sleep(5);
  }
  return false;
}
