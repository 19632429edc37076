/**
 * The per-app notification limit: at most `max` events per app in a fixed window of `perMs`,
 * across all targets. What is dropped is counted and logged once per window (also when the app
 * sends nothing more: a sweep reports windows that ended with drops), never per event.
 */
import type { Clock } from '../clock.js';

export interface AppRateLimit {
  /** True when the event may go out; false (counted) when the app's window is full. */
  admit(app: string): boolean;
  /** Report what is left, forget every window, stop the sweep. */
  close(): void;
}

interface AppWindow {
  start: number;
  count: number;
  dropped: number;
}

export interface RateLimitOptions {
  readonly max: number;
  readonly perMs: number;
  readonly clock: Clock;
  /** Called per dropped event (the notifier's rateLimited counter). */
  readonly onDrop: () => void;
  readonly warn: (message: string, meta: Record<string, unknown>) => void;
}

export function appRateLimit({ max, perMs, clock, onDrop, warn }: RateLimitOptions): AppRateLimit {
  const windows = new Map<string, AppWindow>();
  let sweepTimer: NodeJS.Timeout | undefined;
  let closed = false;

  function report(app: string, w: AppWindow): void {
    if (w.dropped === 0) return;
    warn(`notifications for app ${app} rate-limited: ${w.dropped} dropped`, { app, max, per_ms: perMs });
    w.dropped = 0;
  }

  /** Report windows that ended with drops even when the app sends nothing more; forget old windows. */
  function sweep(): void {
    sweepTimer = undefined;
    const now = clock.now();
    let pendingDrops = false;
    for (const [app, w] of windows) {
      if (now - w.start >= perMs) {
        report(app, w);
        windows.delete(app);
      } else if (w.dropped > 0) pendingDrops = true;
    }
    if (pendingDrops) armSweep();
  }

  function armSweep(): void {
    if (sweepTimer || closed) return;
    let due = perMs;
    const now = clock.now();
    for (const w of windows.values()) if (w.dropped > 0) due = Math.min(due, w.start + perMs - now);
    sweepTimer = setTimeout(sweep, Math.max(1, due));
    sweepTimer.unref();
  }

  return {
    admit(app) {
      const now = clock.now();
      let w = windows.get(app);
      if (w && now - w.start >= perMs) {
        report(app, w);
        w = undefined;
      }
      if (!w) {
        w = { start: now, count: 0, dropped: 0 };
        windows.set(app, w);
      }
      if (w.count < max) {
        w.count++;
        return true;
      }
      w.dropped++;
      onDrop();
      armSweep();
      return false;
    },
    close() {
      closed = true;
      if (sweepTimer) clearTimeout(sweepTimer);
      sweepTimer = undefined;
      for (const [app, w] of windows) report(app, w);
      windows.clear();
    },
  };
}
