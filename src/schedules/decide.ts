/**
 * The schedule takeover, as pure decisions (no I/O, times passed in): after each tick of an
 * app's cron_restart, did PM2 fire it, should the monitor, or neither? And at start, what about
 * a tick missed while the monitor or the daemon was down? PM2 7 loses a stopped app's cron when
 * a tick meets its stop, loses a tick during a delayed restart, and never catches up a downtime
 * (README "Schedules PM2 loses"). The rule that nothing fires twice: any start of the app since
 * the tick (a bus event, or PM2's own pm_uptime, which holds even when the bus was away) means it
 * was fired, by PM2 or an operator, and the monitor leaves it.
 */

export type Firer = 'pm2' | 'monitor';

/** The app as PM2 describes it when the decision is made. */
export interface AppNow {
  readonly status: string;
  /** PM2's pm_uptime: wall ms of the last start. */
  readonly startedAt: number;
}

export interface TickFacts {
  /** Wall ms of the tick. */
  readonly tick: number;
  readonly now: number;
  readonly windowMs: number;
  /** Wall ms of the app's starts the bus reported (online, restart) since the tick. */
  readonly startsSeen: readonly number[];
  /** Undefined: PM2 does not have the app (deleted) or could not be asked. */
  readonly app: AppNow | undefined;
  /** The last tick already decided (persisted): a tick at or before it is not decided again. */
  readonly lastTick?: number;
}

export type TickDecision =
  /** Ask again at `at` (wall ms): inside the window, or PM2 is between stop and start. */
  | { readonly kind: 'wait'; readonly at: number; readonly reason: string }
  /** The app was started since the tick: PM2 fired it (or an operator did). */
  | { readonly kind: 'leave-to-pm2'; readonly startedAt: number; readonly reason: string }
  /** PM2 did not: restart by pm_id (a stopped app is started), as PM2's cron does. */
  | { readonly kind: 'fire'; readonly reason: string }
  | { readonly kind: 'skip'; readonly reason: string };

/** Node's timers and PM2's croner may run a few ms early: a start this close before the tick is the tick's. */
export const TICK_SLACK_MS = 50;
/** How long past the window a transitional status (stopping, launching) is waited out, in windows. */
export const TRANSITION_WINDOWS = 3;
/** How often a transitional status is looked at again. */
export const RECHECK_MS = 500;

const TRANSITIONAL = new Set(['stopping', 'launching']);

/** Decide one tick. Call at the tick's window end (and again when told to wait). */
export function decideTick(f: TickFacts): TickDecision {
  if (f.lastTick !== undefined && f.tick <= f.lastTick) return { kind: 'skip', reason: `the tick at ${iso(f.tick)} was already decided` };
  const from = f.tick - TICK_SLACK_MS;
  const seen = f.startsSeen.find((t) => t >= from);
  if (seen !== undefined) return { kind: 'leave-to-pm2', startedAt: seen, reason: 'PM2 started it at the tick (seen on the bus)' };
  if (f.app && f.app.startedAt >= from) return { kind: 'leave-to-pm2', startedAt: f.app.startedAt, reason: 'started since the tick (PM2\'s pm_uptime)' };
  const windowEnd = f.tick + f.windowMs;
  if (f.now < windowEnd) return { kind: 'wait', at: windowEnd, reason: 'PM2 has until the window ends' };
  // Missing may be a resurrect in progress (the list fills app by app): waited out like a stop.
  if (!f.app || TRANSITIONAL.has(f.app.status)) {
    const what = f.app ? `PM2 is ${f.app.status} it` : 'PM2 does not have the app';
    const giveUp = windowEnd + TRANSITION_WINDOWS * f.windowMs;
    if (f.now < giveUp) return { kind: 'wait', at: Math.min(giveUp, f.now + RECHECK_MS), reason: what };
    return { kind: 'skip', reason: `${what} ${Math.round((f.now - f.tick) / 1000)} s after the tick` };
  }
  // A delayed restart is on its way (restart_delay, exp backoff): it is the tick's restart, and
  // it re-arms PM2's cron (finding h).
  if (f.app.status === 'waiting restart') return { kind: 'skip', reason: 'PM2 restarts it itself (waiting restart)' };
  if (f.app.status === 'online') return { kind: 'fire', reason: `PM2 did not restart it within ${seconds(f.windowMs)} of the tick` };
  return { kind: 'fire', reason: `PM2 did not start the ${f.app.status} app within ${seconds(f.windowMs)} of the tick` };
}

export interface CatchUpFacts {
  readonly now: number;
  readonly catchUp: 'once' | 'skip';
  readonly windowMs: number;
  /** The last tick at or before now, by the expression. */
  readonly lastDue: number | undefined;
  /** The last tick decided, from the record; undefined when there is none (first run). */
  readonly lastTick: number | undefined;
  readonly app: AppNow | undefined;
}

export type CatchUpDecision =
  /** The last due tick is recent: decide it as a tick (PM2 may still be acting on it). */
  | { readonly kind: 'tick'; readonly tick: number }
  | { readonly kind: 'leave-to-pm2'; readonly tick: number; readonly startedAt: number; readonly reason: string }
  | { readonly kind: 'fire'; readonly tick: number; readonly reason: string }
  /** Nothing to do; `tick` (when set) is recorded as decided, so it is not caught up again. */
  | { readonly kind: 'skip'; readonly tick?: number; readonly reason: string };

/** At start: was a tick missed while the monitor (or the daemon) was down, and what then? */
export function decideCatchUp(f: CatchUpFacts): CatchUpDecision {
  const due = f.lastDue;
  if (due === undefined) return { kind: 'skip', reason: 'no tick has been due yet' };
  if (f.lastTick !== undefined && due <= f.lastTick) return { kind: 'skip', reason: 'no tick missed since the last one' };
  if (f.now - due < f.windowMs) return { kind: 'tick', tick: due };
  if (f.lastTick === undefined) return { kind: 'skip', tick: due, reason: 'no record of earlier ticks (first run): following from the next tick' };
  if (f.app && f.app.startedAt >= due - TICK_SLACK_MS) return { kind: 'leave-to-pm2', tick: due, startedAt: f.app.startedAt, reason: `started since the missed tick at ${iso(due)}` };
  // Not recorded: a resurrect in progress may list it in a moment (the caller asks again).
  if (!f.app) return { kind: 'skip', reason: 'PM2 does not have the app' };
  if (f.catchUp === 'skip') return { kind: 'skip', tick: due, reason: `missed the tick at ${iso(due)}; catch_up: skip waits for the next tick` };
  if (TRANSITIONAL.has(f.app.status)) return { kind: 'skip', tick: due, reason: `missed the tick at ${iso(due)}, but PM2 is ${f.app.status} the app` };
  return { kind: 'fire', tick: due, reason: `missed the tick at ${iso(due)} while the monitor or PM2 was down (catch_up: once)` };
}

const iso = (t: number): string => new Date(t).toISOString();
const seconds = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);
