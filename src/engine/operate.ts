/**
 * The operator's actions (`start|restart|reload|stop`), built from the remedy's own steps: free
 * the app's ports (sparing its live instances), act through PM2, wait for online, probe health.
 * Each step is reported to a StepReporter so the CLI can show it with its duration.
 */
import type { AppConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import type { ProcessInfo } from '../pm2/adapter.js';
import type { FreePortsResult } from '../ports/free-port.js';
import { appScope, freeAppPorts, freePortsAroundLive, startApp, stopApp, verifyHealthy, type ActDeps } from './act.js';
import { describeFreed } from './remedy.js';

export type Operation = 'start' | 'restart' | 'reload' | 'stop';

/** Reports one step: call begin, then the returned function when it ends. */
export interface StepReporter {
  begin(label: string): (ok: boolean, detail: string) => void;
}

export interface OperationResult {
  readonly app: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly ports?: FreePortsResult;
}

/** Run one operation on one app. Never throws: failures are in the result. */
export async function operate(op: Operation, app: AppConfig, deps: ActDeps, report: StepReporter, timeoutMs?: number): Promise<OperationResult> {
  const step = async <T>(label: string, run: () => Promise<T>, describe: (v: T) => [boolean, string]): Promise<T | undefined> => {
    const end = report.begin(label);
    try {
      const v = await run();
      const [ok, detail] = describe(v);
      end(ok, detail);
      return ok ? v : undefined;
    } catch (err) {
      end(false, describeError(err));
      return undefined;
    }
  };
  const fail = (detail: string, ports?: FreePortsResult): OperationResult => ({ app: app.name, ok: false, detail, ...(ports ? { ports } : {}) });

  const list = await step('look up the app in PM2', () => deps.pm2.list(), (l) => {
    const n = mine(l, app).length;
    return [n > 0, n > 0 ? `${n} instance(s)` : `no PM2 app named "${app.name}"`];
  });
  if (!list) return fail(`no PM2 app named "${app.name}" (start it the first time from its ecosystem file)`);
  const instances = mine(list, app);
  const daemon = deps.pm2.daemonPid();

  if (op === 'stop') {
    const scope = appScope(app, list, daemon);
    if ((await step('stop through PM2', () => stopApp(app, list, false, deps), () => [true, 'stopped'])) === undefined) return fail('stop failed');
    if (app.ports.length === 0) return { app: app.name, ok: true, detail: 'stopped' };
    const freed = await step(`confirm ports ${app.ports.join(',')} are free`, () => freeAppPorts(app, scope, deps), (r) => [r.free, describeFreed(r)]);
    return freed ? { app: app.name, ok: true, detail: 'stopped, ports free', ports: freed } : fail('stopped, but a port is still held');
  }

  let ports: FreePortsResult | undefined;
  if (op === 'restart') {
    // As a remedy does: stop first so PM2 cannot respawn into a port we are freeing.
    const scope = appScope(app, list, daemon);
    if ((await step('stop through PM2', () => stopApp(app, list, false, deps), () => [true, 'stopped'])) === undefined) return fail('stop failed');
    if (app.ports.length > 0) {
      ports = await step(`free ports ${app.ports.join(',')}`, () => freeAppPorts(app, scope, deps), (r) => [r.free, describeFreed(r)]);
      if (!ports) return fail('a port is still held; not starting into EADDRINUSE');
    }
    if ((await step('start through PM2', () => startApp(app, list, deps), () => [true, 'started'])) === undefined) return fail('start failed');
  } else {
    if (app.ports.length > 0) {
      // The app's live instances keep serving (start of an online app, reload): spare them.
      ports = await step(`free ports ${app.ports.join(',')}`, () => freePortsAroundLive(app, deps), (r) => [r.free || r.live > 0, describeFreed(r)]);
      if (!ports) return fail('a port is held by a process outside the kill scope');
    }
    const action = op === 'reload' ? 'reload' : 'restart';
    const needed = op === 'reload' || instances.some((p) => p.status !== 'online');
    if (needed) {
      const ok = await step(`${op} through PM2`, () => Promise.all(instances.map((p) => deps.pm2.act(action, p.pmId))), () => [true, `${action} sent`]);
      if (ok === undefined) return fail(`${op} failed`);
    }
  }

  const verified = await step(app.health.url ? `wait for online and ${app.health.url}` : 'wait for online', () => verifyHealthy(app, deps, timeoutMs ?? app.verifyTimeoutMs), (v) => [v.ok, v.detail]);
  return verified
    ? { app: app.name, ok: true, detail: 'healthy', ...(ports ? { ports } : {}) }
    : fail('not healthy after the action', ports);
}

function mine(list: readonly ProcessInfo[], app: AppConfig): ProcessInfo[] {
  return list.filter((p) => p.name === app.name && !p.isModule);
}

/**
 * `start ECOSYSTEM_FILE`: free the monitored apps' ports (sparing live instances), let PM2 start
 * the file (a no-op for apps already online), then verify each monitored app.
 */
export async function startEcosystem(file: string, apps: readonly AppConfig[], deps: ActDeps, report: StepReporter, timeoutMs?: number): Promise<OperationResult[]> {
  const results: OperationResult[] = [];
  for (const app of apps.filter((a) => a.ports.length > 0)) {
    const end = report.begin(`${app.name}: free ports ${app.ports.join(',')}`);
    const r = await freePortsAroundLive(app, deps);
    const ok = r.free || r.live > 0;
    end(ok, describeFreed(r));
    if (!ok) results.push({ app: app.name, ok: false, detail: 'a port is held by a process outside the kill scope', ports: r });
  }
  const end = report.begin(`pm2 start ${file}`);
  try {
    await deps.pm2.start(file);
    end(true, 'started');
  } catch (err) {
    end(false, describeError(err));
    return [...results, ...apps.map((a) => ({ app: a.name, ok: false, detail: `pm2 start failed: ${describeError(err)}` }))];
  }
  for (const app of apps) {
    if (results.some((r) => r.app === app.name)) continue;
    const e = report.begin(`${app.name}: wait for online${app.health.url ? ` and ${app.health.url}` : ''}`);
    const v = await verifyHealthy(app, deps, timeoutMs ?? app.verifyTimeoutMs);
    e(v.ok, v.detail);
    results.push({ app: app.name, ok: v.ok, detail: v.ok ? 'healthy' : v.detail });
  }
  return results;
}
