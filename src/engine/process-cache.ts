/**
 * A short-lived cache of PM2's process list, shared by all workers: 50 apps checking every second
 * should cost one list call per tick, not fifty. One fetch in flight at a time.
 */
import type { Clock } from '../clock.js';
import type { Pm2Port, ProcessInfo } from '../pm2/adapter.js';
import { InstanceLedger } from './instances.js';

export class ProcessCache {
  private value: { at: number; list: ProcessInfo[] } | undefined;
  private inflight: Promise<ProcessInfo[]> | undefined;
  /** Bumped by invalidate(): a fetch started before it must not be cached as fresh. */
  private generation = 0;
  /** Every instance any list showed: still the app's when freeing its ports. */
  readonly instances = new InstanceLedger();

  constructor(
    private readonly pm2: Pm2Port,
    private readonly clock: Clock,
  ) {}

  /** The list, at most `maxAgeMs` old (0 forces a fetch, joining one already in flight). */
  async get(maxAgeMs: number): Promise<ProcessInfo[]> {
    const v = this.value;
    if (v && maxAgeMs > 0 && this.clock.now() - v.at <= maxAgeMs) return v.list;
    if (this.inflight) return this.inflight;
    const started = this.clock.now();
    const generation = this.generation;
    const fetch = this.pm2
      .list()
      .then((list) => {
        this.instances.note(list);
        if (generation === this.generation) this.value = { at: started, list };
        return list;
      })
      .finally(() => {
        if (this.inflight === fetch) this.inflight = undefined;
      });
    this.inflight = fetch;
    return fetch;
  }

  /** Drop the cached list and any fetch in flight (after an action changed it). */
  invalidate(): void {
    this.generation++;
    this.value = undefined;
    this.inflight = undefined;
  }
}

/** A counting semaphore: bounded probe concurrency across apps. */
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in.
    if (this.active >= this.max) await new Promise<void>((r) => this.queue.push(r));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}
