/**
 * Single-instance locks for the doors: the monitor's one lock in its state dir (the module, `run`,
 * `check`), or one lock per watched app (`watch`, so two runs never fight over one PM2 app).
 */
import { join } from 'node:path';
import type { MonitorConfig } from '../config/schema.js';
import { LockHeldError } from '../errors.js';
import { acquireLock, type HeldLock, type LockRole } from '../lock/lock.js';
import type { Logger } from '../log/logger.js';
import { stateDir } from '../paths.js';

/** A lock of one watched app: `name` is what its takeover line calls it. */
export interface AppLock {
  readonly path: string;
  readonly name: string;
}

/**
 * The monitor's lock, taken by the PM2 module, `run` or `check`; or per-app locks (`held` words
 * the error when another run has one). The door's role goes into the lock record, so a refused
 * start names its holder ("the PM2 module (pid N)").
 */
export type LockPlan =
  | { readonly monitor: Exclude<LockRole, 'watch'> }
  | { readonly apps: readonly AppLock[]; readonly role: LockRole; readonly held: (lock: AppLock, err: LockHeldError) => Error };

/** The lock file of a config's state dir. */
export const lockPath = (config: MonitorConfig): string => join(stateDir(config.stateDir), 'monitor.lock');

/** Take what the plan asks for, or nothing (a lock taken before a failure is given back). */
export function takeLocks(config: MonitorConfig, plan: LockPlan, logger: Logger): HeldLock[] {
  if ('monitor' in plan) {
    return [acquireLock({
      path: lockPath(config), role: plan.monitor,
      onTakeover: (why, prev) => logger.warn(`took over a stale lock: ${why}`, prev ? { previous_pid: prev.pid, started_at: prev.started_at } : {}),
    })];
  }
  const held: HeldLock[] = [];
  try {
    // In one order for every run, so two runs with overlapping apps cannot each hold half.
    for (const lock of [...plan.apps].sort((a, b) => a.name.localeCompare(b.name))) {
      try {
        held.push(acquireLock({ path: lock.path, role: plan.role, onTakeover: (why) => logger.warn(`took over the stale lock of ${lock.name}: ${why}`) }));
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
