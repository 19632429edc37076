/**
 * The one way to wait for something outside to change (a process to exit, a socket to close, PM2
 * to report a status): poll with a doubling pause, from `firstMs` up to `maxMs`, never past the
 * deadline. The pre-start hook's plan polls through its own sleep effect (sleepSync below).
 */
export interface WaitOptions {
  readonly limitMs: number;
  readonly now?: () => number;
  readonly firstMs?: number;
  readonly maxMs?: number;
}

/** Resolves true as soon as `cond` holds, false at the deadline. `cond` is asked at least once. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, options: WaitOptions): Promise<boolean> {
  const now = options.now ?? (() => performance.now());
  const until = now() + options.limitMs;
  let pause = options.firstMs ?? 2;
  for (;;) {
    if (await cond()) return true;
    const left = until - now();
    if (left <= 0) return false;
    await new Promise((r) => setTimeout(r, Math.max(1, Math.min(pause, left))));
    pause = Math.min(pause * 2, options.maxMs ?? 50);
  }
}

/** Block the thread for `ms` (the preload hook runs before the event loop does). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ms));
}
