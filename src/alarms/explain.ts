/**
 * The `alarms` command's view of one poll: each row in alarm with the app it maps to and what the
 * monitor does (or did) about it, in words, from the same plan the poller follows (plan.ts) and
 * what the state file says of the app (a pause or an open circuit holds a remedy back). Pure.
 */
import type { AlarmsConfig } from '../config/alarms.js';
import type { HandledRecord, PollPlan } from './plan.js';

export type RowAction = 'remedy' | 'handled' | 'unknown-app' | 'no-name';

export interface RowView {
  readonly process_id: number;
  readonly process_name: string | null;
  readonly value: number;
  readonly app: string | null;
  readonly action: RowAction;
  /** For people: what happens at the next poll, and why. */
  readonly explain: string;
  readonly handled?: HandledRecord;
}

/** What the state file says holds an app's remedies back, if anything. */
export type HoldOf = (app: string) => string | undefined;

export function explainPlan(plan: PollPlan, cfg: AlarmsConfig, holdOf: HoldOf): RowView[] {
  const out: RowView[] = [];
  const writes = [
    ...(cfg.onSuccess === 'clear' ? [`set ${cfg.columns.alarm} = 0 after a verified remedy`] : []),
    ...(cfg.note ? [`append a line to ${cfg.columns.notes}`] : []),
  ];
  const after = writes.length > 0 ? `; then ${writes.join(' and ')}` : '';
  for (const t of plan.act) {
    const hold = holdOf(t.app);
    for (const row of t.rows) {
      out.push({
        process_id: row.processId, process_name: row.processName, value: row.value, app: t.app, action: 'remedy',
        explain: hold
          ? `would ask for a remedy of ${t.app} (${t.why}), but it is held back now: ${hold}; the alarm stays set`
          : `would ask for a remedy of ${t.app} (${t.why}): restart by its strategy, verified by its probes${after}`,
      });
    }
  }
  for (const { row, record } of plan.handled) {
    const again = cfg.realarmAfterMs === undefined ? 'not again until it is cleared and raised anew' : `again once realarm_after has passed since ${record.handled_at}`;
    out.push({
      process_id: row.processId, process_name: row.processName, value: row.value, app: record.app, action: 'handled', handled: record,
      explain: `handled at ${record.handled_at} (incident ${record.incident}: ${record.result}, ${record.detail}); ${again}`,
    });
  }
  for (const { row, name } of plan.unknown) {
    out.push({
      process_id: row.processId, process_name: row.processName, value: row.value, app: null, action: 'unknown-app',
      explain: `no app ${JSON.stringify(name)} in the config: left alone (add it under apps:, or map it with alarms.map)`,
    });
  }
  for (const row of plan.nameless) {
    out.push({
      process_id: row.processId, process_name: null, value: row.value, app: null, action: 'no-name',
      explain: `no process name in ${cfg.tables.processes} for this id: left alone`,
    });
  }
  return out.sort((a, b) => a.process_id - b.process_id);
}
