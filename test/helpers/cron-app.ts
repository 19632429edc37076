/** The cron fixture (test/fixtures/cron-app.cjs) under a sandbox's PM2: start it, count its starts, time ticks. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, type Sandbox } from './sandbox.js';

export const CRON_APP = join(ROOT, 'test', 'fixtures', 'cron-app.cjs');
/** Every 5 s (PM2 7's croner takes a leading seconds field, and so does node-schedule). */
export const EVERY_5S = '*/5 * * * * *';
export const PERIOD_MS = 5000;

export type CronMode = 'serve' | 'job' | 'slow';

/** Every 10 s: room for a stop, a save, a SIGKILL and a resurrect between two ticks on a busy machine. */
export const EVERY_10S = '*/10 * * * * *';

/** Start `name` with cron_restart (every 5 s unless `options` says otherwise); its starts are recorded in the returned file. */
export async function startCronApp(sb: Sandbox, name: string, mode: CronMode, options: Record<string, unknown> = {}): Promise<string> {
  const file = join(sb.home, `${name}.starts`);
  await sb.start({
    name, script: CRON_APP, cron_restart: EVERY_5S, autorestart: mode !== 'job',
    ...(mode === 'slow' ? { kill_timeout: 3000 } : {}),
    env: { TICK_FILE: file, TICK_MODE: mode }, ...options,
  });
  return file;
}

/** The start times (ms) the app recorded. */
export function startsOf(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => Number(l.split(' ')[0]));
}

/** Starts recorded at or after `since`. */
export const startsSince = (file: string, since: number): number[] => startsOf(file).filter((t) => t >= since);

/** The next tick strictly after `t` of a schedule every `period` ms (default 5 s). */
export const nextTick = (t: number, period = PERIOD_MS): number => (Math.floor(t / period) + 1) * period;

/** Sleep until wall-clock `t` (+ `plusMs`). */
export async function sleepUntil(t: number, plusMs = 0): Promise<void> {
  const ms = t + plusMs - Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

/** Wait until `ms` past a tick (so the next few steps happen well between two ticks). */
export async function justAfterTick(ms = 150, period = PERIOD_MS): Promise<number> {
  const t = nextTick(Date.now(), period);
  await sleepUntil(t, ms);
  return t;
}
