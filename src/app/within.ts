/** Waiting on shutdown work that must not hold the exit (or the lock) for long. */

/** Wait for `promise` (errors ignored), at most `ms` when given. */
export async function within(ms: number | undefined, promise: Promise<unknown> | undefined): Promise<void> {
  if (!promise) return;
  if (ms === undefined) return void (await promise.catch(() => undefined));
  let t: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((r) => (t = setTimeout(r, ms)))]);
  clearTimeout(t);
}
