/**
 * How long one `check` may run before it gives up: derived from the config, so that a check that
 * does everything the config allows (wait out the startup grace, re-probe up to failure_threshold
 * at the interval with every probe taking its whole timeout, then one full remedy) still ends in
 * time, and only a check that hangs meets the deadline. Apps are checked in parallel, so the
 * slowest app sets it (with depends_on, the slowest of each dependency layer, added up); probes share `concurrency` slots, so a probe may first wait for others.
 */
import { MAX_TIMER_MS } from '../config/duration.js';
import { dependencyLayers } from '../config/rules.js';
import type { AppConfig, MonitorConfig } from '../config/schema.js';

/** Reaching the daemon before any check: the ping (3 s) and the connect (10 s) limits. */
export const CONNECT_ALLOWANCE_MS = 13_000;
/** One PM2 list call (the adapter's call limit). */
const PM2_CALL_MS = 5000;
/** One PM2 stop or restart (the adapter's action limit). */
const PM2_ACTION_MS = 30_000;
/** Everything not priced here (freeing a port after its grace, the hung-app kill, polling). */
const SLACK_MS = 5000;
/** Added once on top: the deadline is a backstop, not a schedule. */
export const DEADLINE_MARGIN_MS = 10_000;

export interface CheckDeadline {
  /** The whole check's deadline in ms (connect included, margin included). */
  readonly ms: number;
  /** The app that sets it (the slowest). */
  readonly app: string;
}

/** The deadline of a check of `names` (default: every app in the config). */
export function checkDeadline(config: MonitorConfig, names?: readonly string[]): CheckDeadline {
  const apps = config.apps.filter((a) => !names || names.includes(a.name));
  // A probe may wait for the slot of every other app's probe ahead of it.
  const rounds = Math.ceil(apps.length / Math.max(1, config.concurrency));
  const longestProbe = Math.max(0, ...apps.map(probeMs));
  let worst = { ms: 0, app: apps[0]?.name ?? '' };
  // depends_on: the pass checks a dependency before its dependents (engine.checkOnce), so the
  // layers add up; within a layer the slowest app sets it.
  let total = 0;
  for (const layer of dependencyLayers(apps.map((a) => ({ name: a.name, dependsOn: a.dependsOn ?? [] })))) {
    let slowest = 0;
    for (const app of apps.filter((a) => layer.includes(a.name))) {
      const ms = appCheckMs(app, rounds * longestProbe);
      slowest = Math.max(slowest, ms);
      if (ms > worst.ms) worst = { ms, app: app.name };
    }
    total += slowest;
  }
  // The alarm table is read once before the checks: one connect and one query, then the writes back.
  const a = config.alarms;
  const alarms = a ? 3 * (a.connectTimeoutMs + a.queryTimeoutMs + 1000) : 0;
  return { ms: Math.min(MAX_TIMER_MS, CONNECT_ALLOWANCE_MS + alarms + total + DEADLINE_MARGIN_MS), app: worst.app };
}

/** One observation's probes: HTTP first, then TCP and exec side by side (observe.ts). */
export function probeMs(app: AppConfig): number {
  const http = app.health.url ? app.health.timeoutMs : 0;
  const tcp = app.tcp ? app.health.timeoutMs : 0;
  const exec = app.healthCheckCommand?.timeoutMs ?? 0;
  return http + Math.max(tcp, exec);
}

/**
 * One app's pass (AppWorker.checkUntilSettled): the first check, re-checks at the interval until
 * startup grace + (failure_threshold + 1) intervals have passed (the last one may start just
 * before that and take an interval and a check more), and one remedy.
 */
function appCheckMs(app: AppConfig, oneProbeMs: number): number {
  const check = PM2_CALL_MS + oneProbeMs;
  const { intervalMs, failureThreshold } = app.health;
  const rechecks = app.startupGraceMs + (failureThreshold + 2) * intervalMs + check;
  return check + rechecks + remedyMs(app);
}

/** One remedy (runRemedy): the pre_restart_command, then max_attempts restarts with their delays. */
function remedyMs(app: AppConfig): number {
  const p = app.policy;
  let delays = 0;
  for (let attempt = 2; attempt <= p.maxAttempts; attempt++) delays += Math.min(p.backoffMaxMs, p.restartDelayMs * p.backoffFactor ** (attempt - 2));
  return (app.preRestartCommand?.timeoutMs ?? 0) + delays + p.maxAttempts * attemptMs(app);
}

/** One restart by the app's strategy, verified (auto may turn out to be any of them). */
function attemptMs(app: AppConfig): number {
  const verify = app.verifyTimeoutMs + probeMs(app);
  const pm2 = PM2_CALL_MS + 2 * PM2_ACTION_MS + app.killGraceMs + verify;
  // systemctl restart waits up to verify_timeout for active, then the probes are verified.
  const service = app.verifyTimeoutMs + verify;
  const processStrategy = (app.process?.stopGraceMs ?? 0) + app.killGraceMs + verify;
  const byStrategy = { pm2, service, process: processStrategy, auto: Math.max(pm2, service, processStrategy) };
  return byStrategy[app.strategy] + SLACK_MS;
}
