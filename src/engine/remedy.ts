/**
 * One remedy, told as one story: the pre_restart_command gate, then up to max_attempts restarts
 * by the app's strategy, each verified by the app's probes. Every step's duration is recorded.
 * Never throws: every failure becomes part of the report.
 */
import { sleep } from '../clock.js';
import type { AppConfig } from '../config/schema.js';
import type { FreePortsResult } from '../ports/free-port.js';
import { probeExec } from '../probes/exec.js';
import { ABANDONED, type JournalNote, type RestartStrategy } from '../strategies/types.js';
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
  /** The monitor's shutdown cut the remedy short: the journal entry stays for the next start. */
  readonly abandoned?: boolean;
}

export type RemedyDeps = ActDeps;

/** How a remedy is run from the worker: its journal, and the shutdown that may cut it short. */
export interface RemedyOptions {
  readonly journal?: JournalNote;
  readonly signal?: AbortSignal;
}

/** `work` settled, or the signal aborted first (the work goes on alone; its result is dropped). */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T | typeof ABANDONED> {
  if (!signal) return work;
  if (signal.aborted) return Promise.resolve(ABANDONED);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(ABANDONED);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

interface Attempt {
  readonly ok: boolean;
  readonly detail: string;
  readonly ports?: FreePortsResult;
  readonly abandoned?: boolean;
}

const abandonedAttempt: Attempt = { ok: false, detail: ABANDONED, abandoned: true };

/** Run the remedy for an app that decide() found unhealthy. */
export async function runRemedy(app: AppConfig, reason: string, hung: boolean, strategy: RestartStrategy, deps: RemedyDeps, options: RemedyOptions = {}): Promise<RemedyReport> {
  const t0 = deps.clock.now();
  const recorder = recordingReporter(deps.clock);
  const report = (r: Attempt, extra: { skipped?: boolean; attempts: number }): RemedyReport => {
    const totalMs = deps.clock.now() - t0;
    return {
      app: app.name, reason, ok: r.ok, skipped: extra.skipped ?? false, attempts: extra.attempts, strategy: strategy.name, steps: recorder.steps, totalMs,
      ...(r.ports ? { ports: r.ports } : {}),
      ...(r.ok ? { timeToHealthyMs: totalMs } : { failure: r.detail || 'failed' }),
      ...(r.abandoned ? { abandoned: true } : {}),
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
      await runStep(recorder, `wait ${Math.round(wait)}ms before attempt ${attempt}`, () => unlessAborted(sleep(wait), options.signal), () => [true, 'restart_delay']);
    }
    if (options.signal?.aborted) return report(abandonedAttempt, { attempts: attempt - 1 });
    last = await restartOnce(strategy, app, deps, recorder, hung && attempt === 1, options);
    if (last.ok || last.abandoned) return report(last, { attempts: attempt });
  }
  return report(last, { attempts: p.maxAttempts });
}

/** One restart by the strategy, then the same proof of health for every strategy. */
async function restartOnce(strategy: RestartStrategy, app: AppConfig, deps: RemedyDeps, reporter: StepReporter, hung: boolean, options: RemedyOptions): Promise<Attempt> {
  const { signal } = options;
  // The strategy's step in flight (a PM2 stop waiting out kill_timeout) is not waited for once
  // the shutdown aborts: what it did so far is in the journal.
  const r = await unlessAborted(strategy.restart(app, reporter, { hung, ...options }), signal);
  if (r === ABANDONED || r.detail === ABANDONED) return abandonedAttempt;
  const ports = r.ports ? { ports: r.ports } : {};
  if (!r.ok) return { ok: false, detail: r.detail, ...ports };
  const status = async () => strategy.status(app, []);
  const v = await unlessAborted(
    strategy.readsTable
      ? verify(app, deps, reporter, {}, r.ports)
      : runStep(reporter, 'wait until the probes pass', () => verifyHealthy(app, deps, app.verifyTimeoutMs, status), (x) => [x.ok, x.detail]).then((x) => ({ ok: x.ok, detail: verdictText(x), ...ports })),
    signal,
  );
  return v === ABANDONED ? { ...abandonedAttempt, ...ports } : v;
}
