/**
 * The `schedule:` block of an app: how the monitor backs up PM2's `cron_restart` (README
 * "Schedules PM2 loses"). The expression itself is PM2's (pm2_env.cron_restart); the block only
 * says whether to back it up, how long to wait for PM2 after a tick, and what to do at start
 * about ticks missed while the monitor or the daemon was down.
 */
import { z } from 'zod';
import { durationIn } from './duration-schema.js';

export interface ScheduleConfig {
  /** false: PM2 alone (the monitor neither watches nor fires the app's schedule). */
  readonly enabled: boolean;
  /** At start, a tick missed since the last one seen: `once` fires one catch-up, `skip` waits for the next tick. */
  readonly catchUp: 'once' | 'skip';
  /** How long after a tick PM2 has to act (bus: online/restart of the pm_id) before the monitor does. */
  readonly windowMs: number;
}

export const DEFAULT_SCHEDULE: ScheduleConfig = { enabled: true, catchUp: 'skip', windowMs: 10_000 };

export const scheduleSchema = z.strictObject({
  enabled: z.boolean().default(DEFAULT_SCHEDULE.enabled),
  catch_up: z.enum(['once', 'skip'], { error: 'expected once (fire one catch-up at start) or skip (wait for the next tick)' }).default(DEFAULT_SCHEDULE.catchUp),
  window: durationIn(1000, 300_000, 'a window').default(DEFAULT_SCHEDULE.windowMs),
});

export const SCHEDULE_KEYS: readonly string[] = [...Object.keys(scheduleSchema.shape), 'schedule'];

export function toScheduleConfig(r: z.output<typeof scheduleSchema>): ScheduleConfig {
  return { enabled: r.enabled, catchUp: r.catch_up, windowMs: r.window };
}
