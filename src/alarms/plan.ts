/**
 * What one poll of the alarm table asks for, given what was already handled: the table is state,
 * not a queue, so a row still in alarm after we remedied it is not a new alarm. An alarm is acted
 * on when it is new (or its value changed), when it was only held back (a pause, a backoff, an
 * open circuit: it is offered again until a remedy runs), or when `realarm_after` has passed since
 * it was handled. Handled records of rows no longer in alarm are forgotten, so a row cleared and
 * raised anew is new. Rows for the same app are one remedy. Pure.
 */
import type { AlarmsConfig } from '../config/alarms.js';
import type { AlarmResult } from '../engine/alarm-inbox.js';
import type { HandledAlarmRecord } from '../engine/state-document.js';

export interface AlarmRow {
  readonly processId: number;
  readonly value: number;
  /** NULL when the process table has no row (or a NULL name) for the id. */
  readonly processName: string | null;
}

/** What the state file keeps of a handled alarm (engine/state-document.ts). */
export type HandledRecord = HandledAlarmRecord;

export interface Target {
  readonly app: string;
  readonly rows: readonly AlarmRow[];
  /** Why it is acted on now. */
  readonly why: 'new' | 'held before' | 'not looked at before' | 'realarm_after passed';
}

export interface PollPlan {
  /** One entry per app to remedy. */
  readonly act: readonly Target[];
  /** Still in alarm, already handled: nothing to do. */
  readonly handled: readonly { readonly row: AlarmRow; readonly record: HandledRecord }[];
  /** No app by that name (after `map:`). */
  readonly unknown: readonly { readonly row: AlarmRow; readonly name: string }[];
  /** No process name for the id. */
  readonly nameless: readonly AlarmRow[];
  /** Handled records of ids no longer in alarm: forget them. */
  readonly forget: readonly number[];
}

export interface PlanContext {
  readonly apps: ReadonlySet<string>;
  readonly map: Readonly<Record<string, string>>;
  /** Wall-clock ms. */
  readonly now: number;
  readonly realarmAfterMs?: number;
}

/** The plan's context for `cfg` at wall-clock `now`: the poller and the `alarms` command read it alike. */
export function planContext(cfg: AlarmsConfig, apps: Iterable<string>, now: number): PlanContext {
  return {
    apps: new Set(apps), map: cfg.map, now,
    ...(cfg.realarmAfterMs === undefined ? {} : { realarmAfterMs: cfg.realarmAfterMs }),
  };
}

/** Results after which a still-raised alarm is not acted on again (until realarm_after). */
const SETTLED: ReadonlySet<AlarmResult> = new Set(['remedied', 'failed', 'skipped']);

/** The app an alarm's process name stands for. */
export function appFor(name: string, map: Readonly<Record<string, string>>): string {
  return Object.hasOwn(map, name) ? map[name]! : name;
}

export function planPoll(rows: readonly AlarmRow[], handled: ReadonlyMap<number, HandledRecord>, ctx: PlanContext): PollPlan {
  const act = new Map<string, { rows: AlarmRow[]; why: Target['why'] }>();
  const out = { handled: [] as { row: AlarmRow; record: HandledRecord }[], unknown: [] as { row: AlarmRow; name: string }[], nameless: [] as AlarmRow[] };
  const inAlarm = new Set<number>();
  for (const row of rows) {
    inAlarm.add(row.processId);
    if (row.processName === null || row.processName === '') {
      out.nameless.push(row);
      continue;
    }
    const app = appFor(row.processName, ctx.map);
    if (!ctx.apps.has(app)) {
      out.unknown.push({ row, name: app });
      continue;
    }
    const record = handled.get(row.processId);
    const why = reasonToAct(row, app, record, ctx);
    if (why === undefined) {
      out.handled.push({ row, record: record! });
      continue;
    }
    const entry = act.get(app);
    if (entry) entry.rows.push(row);
    else act.set(app, { rows: [row], why });
  }
  const forget = [...handled.keys()].filter((id) => !inAlarm.has(id));
  return { act: [...act].map(([app, e]) => ({ app, rows: e.rows, why: e.why })), ...out, forget };
}

function reasonToAct(row: AlarmRow, app: string, record: HandledRecord | undefined, ctx: PlanContext): Target['why'] | undefined {
  // Another value, or the row now names another app: a different alarm.
  if (!record || record.value !== row.value || record.app !== app) return 'new';
  if (record.result === 'held') return 'held before';
  if (!SETTLED.has(record.result)) return 'not looked at before';
  const at = Date.parse(record.handled_at);
  if (ctx.realarmAfterMs !== undefined && (!Number.isFinite(at) || ctx.now - at >= ctx.realarmAfterMs)) return 'realarm_after passed';
  return undefined;
}

/** An incident id people can find in the log and the notes column: time, process id, a little chance. */
export function incidentId(now: number, processId: number, rand: number): string {
  const t = new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 15);
  return `${t}Z-${processId}-${Math.floor(rand * 0x10000).toString(16).padStart(4, '0')}`;
}
