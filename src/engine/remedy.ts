/**
 * One remedy, told as one story: the pre_restart_command gate, then up to max_attempts restarts
 * by the app's strategy (pm2: stop, free ports, start; service: systemctl; process: stop, free
 * ports, start the command), each verified by the app's probes. Every step's duration is
 * recorded. Never throws: every failure becomes part of the report.
 */
import { sleep } from '../clock.js';
import type { AppConfig } from '../config/schema.js';
import type { FreePortsResult } from '../ports/free-port.js';
import { probeExec } from '../probes/exec.js';
import { restartProcess } from '../strategies/process.js';
import { restartService, serviceExists } from '../strategies/service.js';
import { verifyHealthy, type ActDeps } from './act.js';
import { managedByPm2, processSpecOf, statusOutsidePm2 } from './observe.js';
import { operate, type OperationResult } from './operate.js';
import { recordingReporter, runStep, type RecordedStep, type StepReporter } from '../steps/steps.js';

export { describeFreed } from '../steps/wording.js';

export interface RemedyReport {
  readonly app: string;
  readonly reason: string;
  readonly ok: boolean;
  /** The pre_restart_command failed: nothing was restarted. */
  readonly skipped: boolean;
  readonly attempts: number;
  readonly strategy: string;
  readonly steps: readonly RecordedStep[];
  readonly ports?: FreePortsResult;
  /** From the start of the remedy to verified health. */
  readonly timeToHealthyMs?: number;
  readonly failure?: string;
  readonly totalMs: number;
}

export interface RemedyDeps extends ActDeps {
  /** Env for strategy commands (systemctl); defaults to ours. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Run the remedy for an app that decide() found unhealthy. */
export async function runRemedy(app: AppConfig, reason: string, hung: boolean, deps: RemedyDeps): Promise<RemedyReport> {
  const t0 = deps.clock.now();
  const recorder = recordingReporter(deps.clock);
  const report = (r: { ok: boolean; detail?: string; ports?: FreePortsResult }, extra: { skipped?: boolean; attempts: number; strategy: string }): RemedyReport => {
    const totalMs = deps.clock.now() - t0;
    return {
      app: app.name, reason, ok: r.ok, skipped: extra.skipped ?? false, attempts: extra.attempts, strategy: extra.strategy, steps: recorder.steps, totalMs,
      ...(r.ports ? { ports: r.ports } : {}),
      ...(r.ok ? { timeToHealthyMs: totalMs } : { failure: r.detail ?? 'failed' }),
    };
  };

  if (app.preRestartCommand) {
    const { command, timeoutMs } = app.preRestartCommand;
    const pre = await runStep(recorder, 'pre_restart_command', () => probeExec({ command, timeoutMs, appName: app.name }), (o) => [o.ok, o.ok ? 'passed' : o.detail]);
    if (!pre.ok) return report({ ok: false, detail: `pre_restart_command failed, restart skipped: ${pre.detail}` }, { skipped: true, attempts: 0, strategy: app.strategy });
  }

  const strategy = await resolveStrategy(app, deps);
  let last: OperationResult = { app: app.name, ok: false, detail: 'no attempt made' };
  const p = app.policy;
  for (let attempt = 1; attempt <= p.maxAttempts; attempt++) {
    if (attempt > 1) {
      const wait = Math.min(p.backoffMaxMs, p.restartDelayMs * p.backoffFactor ** (attempt - 2));
      await runStep(recorder, `wait ${Math.round(wait)}ms before attempt ${attempt}`, () => sleep(wait), () => [true, 'restart_delay']);
    }
    last = await restartOnce(strategy, app, deps, recorder, hung && attempt === 1);
    if (last.ok) return report(last, { attempts: attempt, strategy });
  }
  return report(last, { attempts: p.maxAttempts, strategy });
}

type Resolved = 'pm2' | 'service' | 'process';

/** `auto`: PM2 when PM2 knows the app, else the systemd unit when it exists, else the process spec. */
async function resolveStrategy(app: AppConfig, deps: RemedyDeps): Promise<Resolved> {
  if (app.strategy !== 'auto') return app.strategy;
  if (managedByPm2(app, await deps.pm2.list().catch(() => []))) return 'pm2';
  if (await serviceExists(app.serviceUnit, deps.env ?? process.env)) return 'service';
  return 'process';
}

async function restartOnce(strategy: Resolved, app: AppConfig, deps: RemedyDeps, reporter: StepReporter, hung: boolean): Promise<OperationResult> {
  if (strategy === 'pm2') return operate('restart', app, deps, reporter, { hung });
  const outside = async () => statusOutsidePm2(app);
  let r: { ok: boolean; detail: string; ports?: FreePortsResult };
  if (strategy === 'service') {
    r = await restartService({ unit: app.serviceUnit, timeoutMs: app.verifyTimeoutMs }, { clock: deps.clock, reporter, ...(deps.env ? { env: deps.env } : {}) });
  } else if (app.process) {
    r = await restartProcess(processSpecOf(app), { clock: deps.clock, reporter, ...(deps.env ? { env: deps.env } : {}) });
  } else {
    return { app: app.name, ok: false, detail: 'restart_strategy process needs a process: block' };
  }
  const ports = r.ports ? { ports: r.ports } : {};
  if (!r.ok) return { app: app.name, ok: false, detail: r.detail, ...ports };
  const v = await runStep(reporter, 'wait until the probes pass', () => verifyHealthy(app, deps, app.verifyTimeoutMs, outside), (x) => [x.ok, x.detail]);
  return { app: app.name, ok: v.ok, detail: v.ok ? 'healthy' : `not healthy: ${v.detail}`, ...ports };
}
