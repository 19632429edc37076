/**
 * The actions on an app (`start|restart|reload|stop`) for the wrapper commands, built from the
 * PM2 strategy's steps: free the app's ports (sparing its live instances when it keeps running),
 * act through PM2, wait for online, probe health. Each step goes to a StepReporter.
 */
import type { AppConfig } from '../config/schema.js';
import type { FreePortsResult } from '../ports/free-port.js';
import { freePortsAroundLive, instancesOf, lookUpApp, stopFreeStart } from '../strategies/pm2.js';
import { runStep, type StepReporter } from '../steps/steps.js';
import { describeFreed } from '../steps/wording.js';
import { verdictText, verifyHealthy, type ActDeps } from './verify.js';

export type Operation = 'start' | 'restart' | 'reload' | 'stop';
export type { StepReporter } from '../steps/steps.js';

export interface OperationResult {
  readonly app: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly ports?: FreePortsResult;
}

export interface OperateOptions {
  /** How long to wait for healthy (default: the app's verify_timeout). */
  readonly timeoutMs?: number;
}

/** Run one operation on one app. Never throws: failures are in the result. */
export async function operate(op: Operation, app: AppConfig, deps: ActDeps, report: StepReporter, options: OperateOptions = {}): Promise<OperationResult> {
  if (op === 'stop' || op === 'restart') {
    const r = await stopFreeStart(op, app, deps, report);
    if (!r.ok || op === 'stop') return { app: app.name, ...r };
    return verify(app, deps, report, options, r.ports);
  }
  const fail = (detail: string, ports?: FreePortsResult): OperationResult => ({ app: app.name, ok: false, detail, ...(ports ? { ports } : {}) });
  const found = await lookUpApp(app, deps, report);
  if (!found.ok) return fail(found.detail);
  const instances = instancesOf(app, found.list);
  let ports: FreePortsResult | undefined;
  if (app.ports.length > 0) {
    // The app's live instances keep serving (start of an online app, reload): spare them.
    const freed = await runStep(report, `free ports ${app.ports.join(',')}`, () => freePortsAroundLive(app, deps), (r) => [r.free || r.live > 0, describeFreed(r)]);
    ports = freed.value;
    if (!freed.ok) return fail(`port held outside the kill scope: ${freed.detail}`, ports);
  }
  const action = op === 'reload' ? 'reload' : 'restart';
  if (op === 'reload' || instances.some((p) => p.status !== 'online')) {
    const acted = await runStep(report, `${op} through PM2`, () => Promise.all(instances.map((p) => deps.pm2.act(action, p.pmId))), () => [true, `${action} sent`]);
    if (!acted.ok) return fail(`${op} failed: ${acted.detail}`, ports);
  }
  return verify(app, deps, report, options, ports);
}

/** The verify step of a PM2 app, as the wrapper and the remedy both word it. */
export async function verify(app: AppConfig, deps: ActDeps, report: StepReporter, options: OperateOptions, ports: FreePortsResult | undefined): Promise<OperationResult> {
  const label = app.health.url ? `wait for online and ${app.health.url}` : 'wait for online';
  const v = await runStep(report, label, () => verifyHealthy(app, deps, options.timeoutMs ?? app.verifyTimeoutMs), (r) => [r.ok, r.detail]);
  return { app: app.name, ok: v.ok, detail: verdictText(v), ...(ports ? { ports } : {}) };
}

/**
 * `start ECOSYSTEM_FILE`: free the monitored apps' ports (sparing live instances), let PM2 start
 * the file (a no-op for apps already online), then verify each monitored app.
 */
export async function startEcosystem(file: string, apps: readonly AppConfig[], deps: ActDeps, report: StepReporter, timeoutMs?: number): Promise<OperationResult[]> {
  const results: OperationResult[] = [];
  for (const app of apps.filter((a) => a.ports.length > 0)) {
    const freed = await runStep(report, `${app.name}: free ports ${app.ports.join(',')}`, () => freePortsAroundLive(app, deps), (r) => [r.free || r.live > 0, describeFreed(r)]);
    if (!freed.ok) results.push({ app: app.name, ok: false, detail: `port held outside the kill scope: ${freed.detail}`, ...(freed.value ? { ports: freed.value } : {}) });
  }
  const started = await runStep(report, `pm2 start ${file}`, () => deps.pm2.start(file), () => [true, 'started']);
  if (!started.ok) return [...results, ...apps.map((a) => ({ app: a.name, ok: false, detail: `pm2 start failed: ${started.detail}` }))];
  for (const app of apps) {
    if (results.some((r) => r.app === app.name)) continue;
    const label = `${app.name}: wait for online${app.health.url ? ` and ${app.health.url}` : ''}`;
    const v = await runStep(report, label, () => verifyHealthy(app, deps, timeoutMs ?? app.verifyTimeoutMs), (r) => [r.ok, r.detail]);
    results.push({ app: app.name, ok: v.ok, detail: verdictText(v) });
  }
  return results;
}
