/**
 * `supervisor:`: what `check` and `run` do when the PM2 daemon itself is gone or hung. PM2 has no
 * watchdog of its own (its maintainers point to "a cron task"), so the monitor's doors that live
 * outside the daemon decide whether to bring it back.
 */
import { z } from 'zod';
import { durationIn } from './duration-schema.js';

export interface SupervisorConfig {
  /** auto: resurrect a dead daemon from a usable dump; never: report it and exit 1. */
  readonly resurrect: 'auto' | 'never';
  /** A daemon that is alive but does not answer is killed (then resurrected), instead of only reported. */
  readonly killHungDaemon: boolean;
  /** One ping's limit. */
  readonly pingTimeoutMs: number;
  /** Failed pings in a row (one per ping_timeout, a second apart) before a live daemon counts as hung. */
  readonly hungAfter: number;
  /** Hard limit of `pm2 resurrect` (spawning the daemon and restoring the dump). */
  readonly resurrectTimeoutMs: number;
}

export const supervisorSchema = z.strictObject({
  resurrect: z.enum(['auto', 'never'], { error: 'expected auto (bring a dead daemon back from its dump) or never (report it and exit 1)' }).default('auto'),
  kill_hung_daemon: z.boolean().default(false),
  ping_timeout: durationIn(200, 30_000, 'a ping timeout').default(2000),
  hung_after: z.number().int().min(1).max(20).default(3),
  resurrect_timeout: durationIn(5000, 300_000, 'a resurrect timeout').default(60_000),
});

export const SUPERVISOR_KEYS: readonly string[] = Object.keys(supervisorSchema.shape);

export function toSupervisorConfig(raw: z.output<typeof supervisorSchema>): SupervisorConfig {
  return {
    resurrect: raw.resurrect,
    killHungDaemon: raw.kill_hung_daemon,
    pingTimeoutMs: raw.ping_timeout,
    hungAfter: raw.hung_after,
    resurrectTimeoutMs: raw.resurrect_timeout,
  };
}

/** The defaults, for configs without the block. */
export const DEFAULT_SUPERVISOR: SupervisorConfig = toSupervisorConfig(supervisorSchema.parse({}));

/** The longest the daemon watchdog may take before PM2 answers or the pass gives up (for deadlines). */
export function supervisorBudgetMs(s: SupervisorConfig): number {
  // hung_after pings a second apart, the resurrect lock wait (a resurrect elsewhere), the resurrect.
  return s.hungAfter * (s.pingTimeoutMs + 1000) + s.resurrectTimeoutMs * 2 + 5000;
}
