/** The cron fixture (test/fixtures/cron-app.cjs) under a sandbox's PM2: start it, count its starts, time ticks. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, type Sandbox } from './sandbox.js';

export const CRON_APP = join(ROOT, 'test', 'fixtures', 'cron-app.cjs');
/** Every 5 s (PM2 7's croner takes a leading seconds field, and so does node-schedule). */
export const EVERY_5S = '*/5 * * * * *';
export const PERIOD_MS = 5000;

export type CronMode = 'serve' | 'job' | 'slow';

/** Start `name` with cron_restart; its starts are recorded in the returned file. */
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

/** The next 5-second tick strictly after `t`. */
export const nextTick = (t: number): number => (Math.floor(t / PERIOD_MS) + 1) * PERIOD_MS;

/** Sleep until wall-clock `t` (+ `plusMs`). */
export async function sleepUntil(t: number, plusMs = 0): Promise<void> {
  const ms = t + plusMs - Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

/** Wait until `ms` past a tick (so the next few steps happen well between two ticks). */
export async function justAfterTick(ms = 150): Promise<number> {
  const t = nextTick(Date.now());
  await sleepUntil(t, ms);
  return t;
}
