/**
 * Cron expressions as PM2's `cron_restart` holds them, read the way the monitor follows them:
 * which ones are valid, which ones the monitor can follow tick for tick, and the ticks before
 * and after a time. PM2 7 runs cron_restart with croner 4 (5 or 6 fields, seconds first when 6);
 * we compute ticks with the cron-parser that node-schedule itself loads. The two agree on plain
 * fields (numbers, `*`, ranges, lists, steps, month and day names); they differ where day of
 * month and day of week are both restricted (croner 4: both must match; cron-parser: either)
 * and on `?`, `L`, `#`, `W` and `@nicknames`, so those are left to PM2 alone: a tick we computed
 * and PM2 did not would make the monitor fire a restart PM2 rightly skipped.
 */
import { createRequire } from 'node:module';

interface CronDate {
  toDate(): Date;
}
interface CronIterator {
  next(): CronDate;
  prev(): CronDate;
}
interface CronParser {
  parseExpression(expr: string, options?: { currentDate?: Date }): CronIterator;
}

let parser: CronParser | undefined;
/** node-schedule's own cron-parser (4.x), so the timer and our arithmetic agree. */
function cronParser(): CronParser {
  if (!parser) {
    const req = createRequire(import.meta.url);
    parser = createRequire(req.resolve('node-schedule'))('cron-parser') as CronParser;
  }
  return parser;
}

const FIELD = /^[0-9A-Za-z*,/-]+$/;

/** Why `expr` is not a cron expression PM2 and the monitor both accept, or undefined when it is. */
export function cronError(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length < 5 || fields.length > 6) return `expected 5 fields (minute hour day month weekday) or 6 (seconds first), got ${fields.length}`;
  const odd = fields.find((f) => !FIELD.test(f));
  if (odd !== undefined) return `field "${odd}" has a character the monitor does not follow (only digits, names, * , - /)`;
  try {
    cronParser().parseExpression(expr);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return undefined;
}

/**
 * Why the monitor cannot follow a valid `expr` tick for tick (it stays PM2's alone), or
 * undefined. Call after cronError.
 */
export function notFollowable(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  const [dom, dow] = fields.length === 6 ? [fields[3], fields[5]] : [fields[2], fields[4]];
  if (dom !== '*' && dow !== '*') return 'day of month and day of week are both set (PM2\'s croner needs both to match, cron-parser either)';
  return undefined;
}

/** The first tick strictly after `t` (ms), or undefined when there is none. */
export function tickAfter(expr: string, t: number): number | undefined {
  try {
    return cronParser().parseExpression(expr, { currentDate: new Date(t) }).next().toDate().getTime();
  } catch {
    return undefined;
  }
}

/** The last tick at or before `t` (ms), or undefined. */
export function tickAtOrBefore(expr: string, t: number): number | undefined {
  try {
    // cron-parser's prev() is strictly before its current date; a tick at exactly t counts.
    return cronParser().parseExpression(expr, { currentDate: new Date(t + 1) }).prev().toDate().getTime();
  } catch {
    return undefined;
  }
}
