/**
 * An alarm raised from outside the app (a row of the MySQL alarm table) waiting for the app's
 * next check. The check adds it to its observation as one more urgent rule outcome, so decide()
 * judges it like any other evidence: a pause, a backoff or an open circuit holds it back, and a
 * remedy is verified by the app's own probes (the alarm is not part of verification). Whoever
 * raised it hears what became of it once: remedied, failed, held back (and why), or not looked
 * at (PM2 unreachable, the worker stopped). One alarm per app at a time; a newer one replaces the
 * older, which is told `superseded`.
 */
import type { OtherProbeOutcome } from '../probes/types.js';
import type { Decision, Observation } from './decide.js';
import type { RemedyReport } from './remedy.js';

export interface RaisedAlarm {
  /** For people and logs: `alarm table: process_id 7 (api) alarma=1, incident 20261201-...`. */
  readonly detail: string;
  readonly incidentId: string;
}

export type AlarmResult = 'remedied' | 'failed' | 'skipped' | 'held' | 'unobserved' | 'superseded';

export interface AlarmOutcome {
  readonly result: AlarmResult;
  /** Why (held: the policy's note; failed: the remedy's failure). */
  readonly detail: string;
  /** The remedy's duration, when one ran. */
  readonly durationMs?: number;
}

interface Pending {
  readonly alarm: RaisedAlarm;
  readonly settle: (o: AlarmOutcome) => void;
}

export class AlarmInbox {
  private pending: Pending | undefined;

  /** Leave an alarm for the next check; resolves with what became of it. */
  put(alarm: RaisedAlarm): Promise<AlarmOutcome> {
    this.pending?.settle({ result: 'superseded', detail: 'a newer alarm replaced it before a check' });
    return new Promise((resolve) => {
      this.pending = { alarm, settle: resolve };
    });
  }

  /** The alarm this check takes (at most once). */
  take(): Pending | undefined {
    const p = this.pending;
    this.pending = undefined;
    return p;
  }

  /** A stopping worker tells a waiting alarm it was not looked at. */
  drop(why: string): void {
    this.take()?.settle({ result: 'unobserved', detail: why });
  }
}

/** The observation with the alarm added as an urgent, failed rule. */
export function withAlarm(obs: Observation, alarm: RaisedAlarm): Observation {
  const outcome: OtherProbeOutcome = { kind: 'alarm', ok: false, urgent: true, latencyMs: 0, detail: alarm.detail, info: { incident: alarm.incidentId } };
  return { ...obs, others: [...(obs.others ?? []), outcome] };
}

/** What a decision without a remedy means for the alarm: held back, and why. */
export function heldOutcome(d: Extract<Decision, { action: 'none' }>): AlarmOutcome {
  const why = d.note ?? (d.state.phase === 'missing' ? `the app is not in PM2 (${d.state.lastReason ?? 'missing'})` : d.state.phase === 'stopped' ? 'the app is stopped in PM2 (an operator stop is respected)' : `the app is ${d.state.phase}`);
  return { result: 'held', detail: why };
}

/** What a remedy that ran means for the alarm that asked for it. */
export function remedyOutcome(report: RemedyReport): AlarmOutcome {
  return {
    result: report.ok ? 'remedied' : report.skipped ? 'skipped' : 'failed', durationMs: report.totalMs,
    detail: report.ok ? `healthy again after ${Math.round(report.timeToHealthyMs ?? report.totalMs)} ms` : (report.failure ?? 'the remedy failed'),
  };
}
