/**
 * The alarm table's own health, apart from the apps': whether the last poll worked, and what to
 * log about it. A change is told once (down, with its code and where; another kind of fault;
 * back, with how long it was away), a lasting outage at most every STILL_DOWN_EVERY_MS. An unreachable
 * server is retried with backoff (1 s doubling to the cap, with jitter, so a fleet of monitors
 * does not reconnect in step); a query the server refuses (a missing table or privilege) waits
 * for the next regular poll: retrying sooner fixes nothing. Pure: time and chance come in.
 */
import type { SourceFault } from '../errors.js';

export type Fault = SourceFault;

export type SourceHealth =
  | { readonly kind: 'up' }
  | { readonly kind: 'down'; readonly fault: Fault; readonly since: number; readonly toldAt: number; readonly failures: number };

export interface Line {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
}

export interface Step {
  readonly health: SourceHealth;
  readonly line?: Line;
  /** When to poll next (ms from now). */
  readonly nextMs: number;
}

export const STILL_DOWN_EVERY_MS = 10 * 60_000;
const FIRST_RETRY_MS = 1000;
const JITTER = 0.2;

export const initialHealth: SourceHealth = { kind: 'up' };

/**
 * The wait before retry `n` (1-based) of an unreachable server: 1 s doubling up to the cap, then
 * shortened by up to 20 % at random (rand in [0,1)). Jitter only downwards: the cap stays the
 * longest wait, and monitors that lost the same server still spread out once they reach it.
 */
export function retryMs(n: number, capMs: number, rand: number): number {
  const base = Math.min(capMs, FIRST_RETRY_MS * 2 ** Math.min(Math.max(n - 1, 0), 30));
  return Math.max(FIRST_RETRY_MS / 2, Math.round(base * (1 - JITTER * rand)));
}

/** A poll that worked. */
export function pollSucceeded(health: SourceHealth, now: number, intervalMs: number): Step {
  if (health.kind === 'up') return { health, nextMs: intervalMs };
  const away = Math.max(1, Math.round((now - health.since) / 1000));
  const message = health.fault.kind === 'unreachable' ? `alarm table: database back after ${away} s` : `alarm table: the query works again after ${away} s`;
  return { health: { kind: 'up' }, nextMs: intervalMs, line: { level: 'info', message } };
}

/** A poll that failed with `fault`. */
export function pollFailed(health: SourceHealth, fault: Fault, now: number, opts: { intervalMs: number; capMs: number; rand: number }): Step {
  const failures = health.kind === 'down' ? health.failures + 1 : 1;
  // Never longer than the regular poll; the jitter applies below that cap too.
  const nextMs = fault.kind === 'unreachable' ? retryMs(failures, Math.min(opts.capMs, Math.max(opts.intervalMs, FIRST_RETRY_MS)), opts.rand) : opts.intervalMs;
  if (health.kind === 'up') {
    const message = fault.kind === 'unreachable'
      ? `alarm table: database down (${fault.text}); retrying with backoff, probes and remedies go on`
      : `alarm table: ${fault.text}; probes and remedies go on, the table is read again at the next poll`;
    return { health: { kind: 'down', fault, since: now, toldAt: now, failures }, nextMs, line: { level: 'error', message } };
  }
  // Another kind of trouble (the server answers now, but refuses the query) is news; another code
  // of the same kind (ER_SERVER_SHUTDOWN, then ECONNREFUSED) is the same outage: the "still"
  // line tells the latest.
  if (health.fault.kind !== fault.kind) {
    return {
      health: { ...health, fault, toldAt: now, failures },
      nextMs,
      line: { level: 'error', message: `alarm table: ${fault.kind === 'unreachable' ? 'database unreachable' : 'query refused'} now: ${fault.text}` },
    };
  }
  if (now - health.toldAt >= STILL_DOWN_EVERY_MS) {
    const mins = Math.round((now - health.since) / 60_000);
    return { health: { ...health, toldAt: now, failures }, nextMs, line: { level: 'warn', message: `alarm table: still failing after ${mins} min (${fault.text})` } };
  }
  return { health: { ...health, fault, failures }, nextMs };
}
