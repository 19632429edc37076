/**
 * What the alarm trigger remembers and writes back about one handled alarm: the state file's
 * record (same incident and first-seen time while the alarm stays the same), the line for the
 * notes column, and whether that line is news (one line per outcome, not one per poll). Pure.
 */
import type { AlarmOutcome } from '../engine/alarm-inbox.js';
import type { AlarmRow, HandledRecord } from './plan.js';

/** The alarm as the engine's log and the notes name it. */
export function alarmDetail(app: string, rows: readonly AlarmRow[], incident: string): string {
  // Bounded: the detail is the remedy's reason, in the log, state.json and notifications.
  const shown = rows.slice(0, 5).map((r) => r.processId).join(', ');
  const ids = rows.length > 5 ? `${shown} and ${rows.length - 5} more` : shown;
  const distinct = [...new Set(rows.map((r) => r.value))];
  const values = distinct.length > 3 ? `${distinct.slice(0, 3).join('/')}/...` : distinct.join('/');
  return `alarm table: process_id${rows.length > 1 ? 's' : ''} ${ids} (${app}) in alarm (value ${values}), incident ${incident}`;
}

/** The record of `row` after `outcome`, keeping what a previous record of the same alarm knew. */
export function recordOf(row: AlarmRow, app: string, outcome: AlarmOutcome, incident: string, prev: HandledRecord | undefined, wallNow: number): HandledRecord {
  const now = new Date(wallNow).toISOString();
  const same = prev !== undefined && prev.value === row.value && prev.app === app;
  return {
    process_id: row.processId,
    process_name: row.processName ?? '',
    app,
    value: row.value,
    first_seen: same ? prev.first_seen : now,
    handled_at: now,
    result: outcome.result,
    detail: outcome.detail.slice(0, 300),
    incident,
  };
}

/** The incident of an alarm already seen (held, say), so its log lines and notes share one id. */
export function ongoingIncident(rows: readonly AlarmRow[], app: string, handled: ReadonlyMap<number, HandledRecord>): string | undefined {
  for (const r of rows) {
    const prev = handled.get(r.processId);
    if (prev && prev.value === r.value && prev.app === app && (prev.result === 'held' || prev.result === 'unobserved' || prev.result === 'superseded')) return prev.incident;
  }
  return undefined;
}

/** Whether this outcome is worth a line in the notes (a new result for the alarm, not the same hold again). */
export function noteWorthy(outcome: AlarmOutcome, prev: HandledRecord | undefined, incident: string): boolean {
  if (outcome.result === 'unobserved' || outcome.result === 'superseded') return false;
  return prev === undefined || prev.incident !== incident || prev.result !== outcome.result;
}

/** The line for the notes column (sql.ts bounds it). */
export function noteText(app: string, outcome: AlarmOutcome, incident: string, cleared: boolean, wallNow: number): string {
  const at = new Date(wallNow).toISOString().slice(0, 19);
  const what = outcome.result === 'remedied'
    ? `restarted ${app}: ${outcome.detail}${cleared ? '; alarm cleared' : ''}`
    : outcome.result === 'held'
      ? `${app} not restarted: ${outcome.detail}; alarm left set`
      : `remedy of ${app} ${outcome.result}: ${outcome.detail}; alarm left set`;
  return `${at}Z helpdesk-monitor incident ${incident}: ${what}`;
}
