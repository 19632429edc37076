/** Waiting for a condition with a deadline, for unit and integration tests alike (no PM2 here). */

/**
 * Poll `cond` until it returns a truthy value or the deadline passes. `what` may be a function: it
 * is called only on timeout, so the error can tell what was seen meanwhile (a log, samples).
 */
export async function waitFor<T>(what: string | (() => string), cond: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) {
      const told = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${told}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
