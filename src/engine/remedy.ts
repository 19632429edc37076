/**
 * One remedy, told as one story: the pre_restart_command gate, then up to max_attempts restarts
 * by the app's strategy, each verified by the app's probes. Every step's duration is recorded.
 * Never throws: every failure becomes part of the report.
 */
import { sleep } from '../clock.js';
import type { AppConfig } from '../config/schema.js';
import type { FreePortsResult } from '../ports/free-port.js';
import { probeExec } from '../probes/exec.js';
import type { RestartStrategy } from '../strategies/types.js';
import { recordingReporter, runStep, type RecordedStep, type StepReporter } from '../steps/steps.js';
import { verify } from './operate.js';
import { verdictText, verifyHealthy, type ActDeps } from './verify.js';

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

export type RemedyDeps = ActDeps;

interface Attempt {
  readonly ok: boolean;
  readonly detail: string;
  readonly ports?: FreePortsResult;
}

/** Run the remedy for an app that decide() found unhealthy. */
export async function runRemedy(app: AppConfig, reason: string, hung: boolean, strategy: RestartStrategy, deps: RemedyDeps): Promise<RemedyReport> {
  const t0 = deps.clock.now();
  const recorder = recordingReporter(deps.clock);
  const report = (r: Attempt, extra: { skipped?: boolean; attempts: number }): RemedyReport => {
    const totalMs = deps.clock.now() - t0;
    return {
      app: app.name, reason, ok: r.ok, skipped: extra.skipped ?? false, attempts: extra.attempts, strategy: strategy.name, steps: recorder.steps, totalMs,
      ...(r.ports ? { ports: r.ports } : {}),
      ...(r.ok ? { timeToHealthyMs: totalMs } : { failure: r.detail || 'failed' }),
    };
  };

  if (app.preRestartCommand) {
    const { command, timeoutMs } = app.preRestartCommand;
    const pre = await runStep(recorder, 'pre_restart_command', () => probeExec({ command, timeoutMs, appName: app.name }), (o) => [o.ok, o.ok ? 'passed' : o.detail]);
    if (!pre.ok) return report({ ok: false, detail: `pre_restart_command failed, restart skipped: ${pre.detail}` }, { skipped: true, attempts: 0 });
  }

  let last: Attempt = { ok: false, detail: 'no attempt made' };
  const p = app.policy;
  for (let attempt = 1; attempt <= p.maxAttempts; attempt++) {
    if (attempt > 1) {
      const wait = Math.min(p.backoffMaxMs, p.restartDelayMs * p.backoffFactor ** (attempt - 2));
      await runStep(recorder, `wait ${Math.round(wait)}ms before attempt ${attempt}`, () => sleep(wait), () => [true, 'restart_delay']);
    }
    last = await restartOnce(strategy, app, deps, recorder, hung && attempt === 1);
    if (last.ok) return report(last, { attempts: attempt });
  }
  return report(last, { attempts: p.maxAttempts });
}

/** One restart by the strategy, then the same proof of health for every strategy. */
async function restartOnce(strategy: RestartStrategy, app: AppConfig, deps: RemedyDeps, reporter: StepReporter, hung: boolean): Promise<Attempt> {
  const r = await strategy.restart(app, reporter, { hung });
  const ports = r.ports ? { ports: r.ports } : {};
  if (!r.ok) return { ok: false, detail: r.detail, ...ports };
  if (strategy.readsTable) return verify(app, deps, reporter, {}, r.ports);
  const status = async () => strategy.status(app, []);
  const v = await runStep(reporter, 'wait until the probes pass', () => verifyHealthy(app, deps, app.verifyTimeoutMs, status), (x) => [x.ok, x.detail]);
  return { ok: v.ok, detail: verdictText(v), ...ports };
}
