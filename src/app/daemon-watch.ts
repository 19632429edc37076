/**
 * The daemon watch of the long-running doors. Both keep the copy of the last good dump (a stat
 * every 30 s). `run`, which lives outside PM2, also watches the daemon itself: when the bus
 * loses it, or a ping every `WATCH_EVERY_MS` goes unanswered, it runs the watchdog (resurrect a
 * dead daemon, report or kill a hung one); after a resurrect it checks every app and tells one
 * story. The module never does: it dies with the daemon, and comes back with it.
 */
import type { Engine } from '../engine/engine.js';
import type { WorkerView } from '../engine/view.js';
import type { Logger } from '../log/logger.js';
import type { Notifier } from '../notify/types.js';
import type { Pm2Port } from '../pm2/adapter.js';
import { pingDaemon } from '../pm2/adapter.js';
import type { DaemonOutcome } from '../supervisor/watchdog.js';
import { DaemonTeller, afterResurrect, dumpKeeper, keepDump, watchDaemon, type DaemonContext } from './daemon.js';

const WATCH_EVERY_MS = 10_000;
const KEEP_EVERY_MS = 30_000;
/** How long after a resurrect the apps are given to turn healthy before the story is told. */
const SETTLE_MS = 30_000;

export interface DaemonWatchDeps {
  readonly pm2: Pm2Port;
  readonly engine: Engine;
  readonly logger: Logger;
  readonly notifier: () => Notifier | undefined;
  /** false (the module): keep the dump copy only. */
  readonly supervise: boolean;
}

/** Healthy, and its last check too (one failed probe under the threshold leaves the phase healthy). */
const settledHealthy = (v: WorkerView): boolean => v.state.phase === 'healthy' && v.state.consecutiveFailures === 0;

export class DaemonWatch {
  private readonly timers: NodeJS.Timeout[] = [];
  private offBus: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly teller: DaemonTeller;

  constructor(
    private readonly ctx: DaemonContext,
    private readonly deps: DaemonWatchDeps,
  ) {
    this.teller = new DaemonTeller(deps.logger, deps.notifier);
  }

  /** Start; `pending` is what the watchdog did before the engine existed (a resurrect while waiting for PM2). */
  start(pending?: DaemonOutcome): void {
    const keeper = dumpKeeper(this.ctx);
    keepDump(keeper, this.deps.logger);
    this.timers.push(setInterval(() => keepDump(keeper, this.deps.logger), KEEP_EVERY_MS));
    if (this.deps.supervise) {
      this.offBus = this.deps.pm2.onBusSignal((s) => {
        if (s === 'disconnected') this.poke();
      });
      this.timers.push(setInterval(() => {
        if (this.running) return;
        void pingDaemon(this.ctx.pm2Home, this.ctx.config.supervisor.pingTimeoutMs).then((ok) => {
          if (!ok) this.poke();
          else this.teller.tell({ kind: 'answering' });
        });
      }, WATCH_EVERY_MS));
    }
    for (const t of this.timers) t.unref();
    if (pending) this.running = this.settle(pending).finally(() => (this.running = undefined));
  }

  /** Run the watchdog once (not twice at a time). */
  private poke(): void {
    if (this.running || this.stopped) return;
    this.running = (async () => {
      const outcome = await watchDaemon(this.ctx);
      if (!this.stopped) await this.settle(outcome);
    })().finally(() => (this.running = undefined));
  }

  /** Tell the outcome; after a resurrect, once the apps have had their checks. */
  private async settle(outcome: DaemonOutcome): Promise<void> {
    if (outcome.kind !== 'resurrected') return this.teller.tell(outcome);
    const until = performance.now() + SETTLE_MS;
    const { engine } = this.deps;
    // What the workers knew is from before the daemon died: every app is checked afresh first.
    await Promise.race([Promise.all(engine.appNames().map((a) => engine.checkFresh(a))), new Promise((r) => setTimeout(r, 5000))]);
    while (!this.stopped && performance.now() < until) {
      const sick = engine.views().filter((v) => !settledHealthy(v));
      if (sick.length === 0) break;
      await Promise.race([Promise.all(sick.map((v) => engine.checkFresh(v.app))), new Promise((r) => setTimeout(r, 2000))]);
      await new Promise((r) => setTimeout(r, 500));
    }
    if (!this.stopped) this.teller.tell(outcome, await afterResurrect(this.deps.pm2, engine.views()));
  }


  /** Stop the timers and the bus listener; a watchdog run in progress finishes on its own deadlines. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.splice(0)) clearInterval(t);
    this.offBus?.();
  }
}
