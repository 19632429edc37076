/** Durations as zod schemas for the config blocks that give each its own bounds (alarms:, update:). */
import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.js';

export const DURATION_HINT = 'expected a duration: seconds as a number, or a string like 500ms, 5s, 2m, 1h';

/** A duration from `minMs` to `maxMs`; `what` names it in the message. */
export const durationIn = (minMs: number, maxMs: number, what: string) =>
  z.union([z.number(), z.string()], { error: DURATION_HINT }).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: DURATION_HINT });
      return z.NEVER;
    }
    if (ms < minMs || ms > maxMs) {
      ctx.addIssue({ code: 'custom', message: `expected ${what} from ${formatDuration(minMs)} to ${formatDuration(maxMs)}` });
      return z.NEVER;
    }
    return ms;
  });
