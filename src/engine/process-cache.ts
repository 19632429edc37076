/**
 * A short-lived cache of PM2's process list, shared by all workers: 50 apps checking every second
 * should cost one list call per tick, not fifty. One fetch in flight at a time.
 */
import type { Clock } from '../clock.js';
import type { Pm2Port, ProcessInfo } from '../pm2/adapter.js';

export class ProcessCache {
  private value: { at: number; list: ProcessInfo[] } | undefined;
  private inflight: Promise<ProcessInfo[]> | undefined;

  constructor(
    private readonly pm2: Pm2Port,
    private readonly clock: Clock,
  ) {}

  /** The list, at most `maxAgeMs` old (0 forces a fetch, joining one already in flight). */
  async get(maxAgeMs: number): Promise<ProcessInfo[]> {
    const v = this.value;
    if (v && this.clock.now() - v.at <= maxAgeMs) return v.list;
    if (this.inflight) return this.inflight;
    const started = this.clock.now();
    this.inflight = this.pm2
      .list()
      .then((list) => {
        this.value = { at: started, list };
        return list;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  /** Drop the cached list (after an action changed it). */
  invalidate(): void {
    this.value = undefined;
  }
}

/** A counting semaphore: bounded probe concurrency across apps. */
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
