/**
 * Which apps' schedules the monitor follows, and what `status` shows of each: the expression,
 * who owns it (`pm2` while PM2 fires it, `monitor` when the monitor fired the last tick), the
 * next tick and the last firing. Reads the schedule record (store.ts); no PM2 call.
 */
import { cronError, notFollowable, tickAfter } from '../config/cron.js';
import { DEFAULT_SCHEDULE, type ScheduleConfig } from '../config/schedule.js';
import type { ProcessInfo } from '../pm2/adapter.js';
import type { Firer } from './decide.js';
import { readRecord } from './store.js';

export type Followability = { readonly follow: true; readonly expression: string } | { readonly follow: false; readonly expression?: string; readonly why?: string };

/** Follow the app's cron_restart? `why` is absent when there is nothing to say (no cron_restart). */
export function followability(cfg: ScheduleConfig, procs: readonly Pick<ProcessInfo, 'cronRestart'>[]): Followability {
  const expression = procs.find((p) => p.cronRestart)?.cronRestart;
  if (!expression) return { follow: false };
  if (!cfg.enabled) return { follow: false, expression, why: 'schedule.enabled is false' };
  if (procs.length > 1) return { follow: false, expression, why: `${procs.length} instances (the monitor follows single-instance apps)` };
  const bad = cronError(expression) ?? notFollowable(expression);
  if (bad) return { follow: false, expression, why: `cron_restart "${expression}": ${bad}` };
  return { follow: true, expression };
}

/** The `schedule` object of an app's status row (snake_case, as `status --json` prints it). */
export interface ScheduleStatus {
  readonly expression: string;
  readonly owner: Firer;
  /** The monitor backs the schedule up (false: PM2 alone, `why` says why). */
  readonly followed: boolean;
  readonly why?: string;
  readonly next_tick?: string;
  readonly last_fired?: { readonly at: string; readonly by: Firer; readonly tick: string; readonly reason: string };
}

/**
 * The status of an app's schedule from PM2's processes of the app (the command has the list),
 * or, without them (the running monitor's page), from the record alone.
 */
export function scheduleStatus(stateDir: string, app: string, cfg: ScheduleConfig | undefined, procs: readonly Pick<ProcessInfo, 'cronRestart'>[] | undefined, now: number, configured = true): ScheduleStatus | undefined {
  const rec = readRecord(stateDir, app);
  const f0 = procs ? followability(cfg ?? DEFAULT_SCHEDULE, procs) : rec ? followability(cfg ?? DEFAULT_SCHEDULE, [{ cronRestart: rec.expression }]) : { follow: false as const };
  // The monitor follows the schedules of the apps in its config only.
  const f: Followability = configured || !f0.expression ? f0 : { follow: false, expression: f0.expression, why: 'the app is not in the monitor\'s config' };
  const expression = f.expression;
  if (!expression) return undefined;
  const fired = rec && rec.expression === expression ? rec.last_fired : undefined;
  const next = cronError(expression) === undefined ? tickAfter(expression, now) : undefined;
  return {
    expression,
    owner: f.follow ? fired?.by ?? 'pm2' : 'pm2',
    followed: f.follow,
    ...(!f.follow && f.why ? { why: f.why } : {}),
    ...(next === undefined ? {} : { next_tick: new Date(next).toISOString() }),
    ...(fired ? { last_fired: fired } : {}),
  };
}

/** The note `status` prints under its table for an app's schedule. */
export function scheduleNote(s: ScheduleStatus): string {
  const last = s.last_fired ? `; last fired ${s.last_fired.at} by ${s.last_fired.by}` : '; not fired yet';
  const next = s.next_tick ? `, next tick ${s.next_tick}` : '';
  return `schedule: cron_restart "${s.expression}", owner ${s.owner}${s.followed ? '' : ` (not backed up: ${s.why ?? 'PM2 alone'})`}${next}${last}`;
}
