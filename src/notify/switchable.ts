/**
 * A notifier whose targets can change while the engine holds it: a config reload (a rotated
 * webhook token, a new channel) swaps the inner notifier. Events from then on go to the new
 * targets; the old notifier stops accepting and delivers what it already queued (its close()
 * flushes for up to its closeTimeoutMs) in the background.
 */
import type { Notifier, NotifierStats } from './types.js';

export interface SwitchableNotifier extends Notifier {
  /** Send from now on through `next`; the previous notifier is flushed and closed. */
  replace(next: Notifier): void;
}

const COUNTERS = ['sent', 'failed', 'attempts', 'rateLimited', 'dropped'] as const;

export function switchableNotifier(initial: Notifier): SwitchableNotifier {
  let current = initial;
  let closed = false;
  /** Retired notifiers still delivering what they had queued, with their close(). */
  const retiring = new Map<Notifier, Promise<void>>();
  /** Counters of retired notifiers, so stats() stays cumulative across reloads. */
  const retired = { sent: 0, failed: 0, attempts: 0, rateLimited: 0, dropped: 0 };

  const retire = (old: Notifier): void => {
    retiring.set(
      old,
      old.close().then(() => {
        const s = old.stats();
        for (const k of COUNTERS) retired[k] += s[k];
        retiring.delete(old);
      }),
    );
  };

  return {
    notify: (event) => current.notify(event),
    async flush(timeoutMs) {
      await Promise.all([current.flush(timeoutMs), ...retiring.values()]);
    },
    async close(timeoutMs) {
      closed = true;
      await Promise.all([current.close(timeoutMs), ...retiring.values()]);
    },
    stats(): NotifierStats {
      const all = [current, ...retiring.keys()].map((n) => n.stats());
      const sum = (k: (typeof COUNTERS)[number] | 'pending'): number => all.reduce((n, s) => n + s[k], k === 'pending' ? 0 : retired[k]);
      return { sent: sum('sent'), failed: sum('failed'), attempts: sum('attempts'), rateLimited: sum('rateLimited'), dropped: sum('dropped'), pending: sum('pending') };
    },
    replace(next) {
      const old = current;
      current = next;
      retire(old);
      // Replaced after close(): nothing may be sent any more.
      if (closed) retire(next);
    },
  };
}
