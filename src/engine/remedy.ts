/**
 * One remedy, told as one story: it is a restart (stop, free ports, start, verify), with every
 * step's duration recorded. Never throws: every failure becomes part of the report.
 */
import type { AppConfig } from '../config/schema.js';
import type { FreePortsResult } from '../ports/free-port.js';
import type { ActDeps } from './act.js';
import { operate } from './operate.js';
import { recordingReporter, type RecordedStep } from './steps.js';

export { describeFreed } from './describe.js';

export interface RemedyReport {
  readonly app: string;
  readonly reason: string;
  readonly ok: boolean;
  readonly steps: readonly RecordedStep[];
  readonly ports?: FreePortsResult;
  /** From the start of the remedy to verified health. */
  readonly timeToHealthyMs?: number;
  readonly failure?: string;
  readonly totalMs: number;
}

/** Stop the app, free its ports, start it and verify it is healthy. */
export async function runRemedy(app: AppConfig, reason: string, hung: boolean, deps: ActDeps): Promise<RemedyReport> {
  const t0 = deps.clock.now();
  const recorder = recordingReporter(deps.clock);
  const r = await operate('restart', app, deps, recorder, { hung });
  const totalMs = deps.clock.now() - t0;
  return {
    app: app.name, reason, ok: r.ok, steps: recorder.steps, totalMs,
    ...(r.ports ? { ports: r.ports } : {}),
    ...(r.ok ? { timeToHealthyMs: totalMs } : { failure: r.detail }),
  };
}
