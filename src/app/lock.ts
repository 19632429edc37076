/**
 * Single-instance locks for the doors: the monitor's one lock in its state dir (the module, `run`,
 * `check`), or one lock per watched app (`watch`, so two runs never fight over one PM2 app).
 */
import { join } from 'node:path';
import type { MonitorConfig } from '../config/schema.js';
import { LockHeldError } from '../errors.js';
import { acquireLock, type HeldLock } from '../lock/lock.js';
import type { Logger } from '../log/logger.js';
import { stateDir } from '../paths.js';

/** A lock of one watched app: `name` is what its takeover line calls it. */
export interface AppLock {
  readonly path: string;
  readonly name: string;
}

/** The monitor's lock, or per-app locks (`held` words the error when another run has one). */
export type LockPlan = 'monitor' | { readonly apps: readonly AppLock[]; readonly held: (lock: AppLock, err: LockHeldError) => Error };

/** The lock file of a config's state dir. */
export const lockPath = (config: MonitorConfig): string => join(stateDir(config.stateDir), 'monitor.lock');

/** Take what the plan asks for, or nothing (a lock taken before a failure is given back). */
export function takeLocks(config: MonitorConfig, plan: LockPlan, logger: Logger): HeldLock[] {
  if (plan === 'monitor') {
    return [acquireLock({
      path: lockPath(config),
      onTakeover: (why, prev) => logger.warn(`took over a stale lock: ${why}`, prev ? { previous_pid: prev.pid, started_at: prev.started_at } : {}),
    })];
  }
  const held: HeldLock[] = [];
  try {
    // In one order for every run, so two runs with overlapping apps cannot each hold half.
    for (const lock of [...plan.apps].sort((a, b) => a.name.localeCompare(b.name))) {
      try {
        held.push(acquireLock({ path: lock.path, onTakeover: (why) => logger.warn(`took over the stale lock of ${lock.name}: ${why}`) }));
      } catch (err) {
        throw err instanceof LockHeldError ? plan.held(lock, err) : err;
      }
    }
    return held;
  } catch (err) {
    held.forEach((l) => l.release());
    throw err;
  }
}
