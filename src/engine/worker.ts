/**
 * One worker per app: owns the app's timer, counters and state; observes, asks the pure policy,
 * runs the remedy. Checks never overlap; a trigger during a check queues exactly one more.
 */
import { sleep } from '../clock.js';
import type { AppConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { probePm2Status } from '../probes/pm2-status.js';
import { snapshotSync } from '../ports/sync.js';
import { procAvailable } from '../ports/procfs.js';
import type { ActDeps } from './act.js';
import { afterRemedy, decide, initialState, type AppState, type Observation } from './decide.js';
import type { Limiter, ProcessCache } from './process-cache.js';
import { describeFreed, runRemedy, type RemedyReport } from './remedy.js';

export interface WorkerDeps extends ActDeps {
  readonly logger: Logger;
  readonly processes: ProcessCache;
  readonly limiter: Pick<Limiter, 'run'>;
  readonly onRemedy?: (report: RemedyReport) => void;
  /** Called after every check (the state file writer debounces). */
  readonly onChange?: () => void;
}

export interface WorkerView {
  readonly app: string;
  readonly state: AppState;
  readonly lastObservation?: Observation;
  readonly lastRemedy?: RemedyReport;
  /** Monotonic time the last remedy finished. */
  readonly lastRemedyAt?: number;
  readonly lastError?: string;
}

export class AppWorker {
  private state: AppState;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private pending = false;
  private crashes = 0;
  private closed = true;
  private lastObservation: Observation | undefined;
  private lastRemedy: RemedyReport | undefined;
  private lastRemedyAt: number | undefined;
  private lastError: string | undefined;
  private readonly log: Logger;

  constructor(
    readonly app: AppConfig,
    private readonly deps: WorkerDeps,
  ) {
    this.state = initialState(deps.clock.now());
    this.log = deps.logger.child({ app: app.name });
  }

  /** Begin periodic checks (the first one right away). */
  start(): void {
    this.closed = false;
    this.schedule(0);
  }

  /** Stop the timer and wait for a check in progress. */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** PM2 reported an unexpected exit: count it and check at once. */
  noteCrash(): void {
    if (this.state.phase === 'remedying') return; // our own stop/start
    this.crashes++;
    this.trigger();
  }

  /** Check as soon as possible (coalesced with a check in progress). */
  trigger(): void {
    if (this.closed) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.schedule(0);
  }

  /**
   * Check now, and while the app is failing below its threshold (or not yet judged, e.g. inside
   * its startup grace), again at its interval, until it is healthy, remedied or given up on.
   * This is the one-pass `check`.
   */
  async checkUntilSettled(): Promise<WorkerView> {
    if (this.running) await this.running;
    const { intervalMs, failureThreshold } = this.app.health;
    const deadline = this.deps.clock.now() + this.app.startupGraceMs + (failureThreshold + 1) * intervalMs;
    await this.runCheck(0);
    while ((this.state.phase === 'failing' || this.state.phase === 'unknown') && this.deps.clock.now() < deadline) {
      await sleep(intervalMs);
      await this.runCheck(0);
    }
    return this.view();
  }

  view(): WorkerView {
    return {
      app: this.app.name,
      state: this.state,
      ...(this.lastObservation ? { lastObservation: this.lastObservation } : {}),
      ...(this.lastRemedy ? { lastRemedy: this.lastRemedy } : {}),
      ...(this.lastRemedyAt !== undefined ? { lastRemedyAt: this.lastRemedyAt } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const started = this.deps.clock.now();
      void this.runCheck(Math.min(250, this.app.health.intervalMs / 2)).then(() => {
        const again = this.pending;
        this.pending = false;
        this.schedule(again ? 0 : this.nextDelay(this.deps.clock.now() - started));
      });
    }, ms);
  }

  /**
   * Fixed rate: checks start one interval apart (a slow probe does not stretch the period, and
   * checks never overlap). While PM2 is unreachable, retry less often instead of hammering it.
   */
  private nextDelay(tookMs: number): number {
    if (this.lastError) return Math.min(30_000, this.app.health.intervalMs * 4);
    return Math.max(0, this.app.health.intervalMs - tookMs);
  }

  private runCheck(maxListAgeMs: number): Promise<void> {
    const run = this.check(maxListAgeMs).finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async check(maxListAgeMs: number): Promise<void> {
    try {
      await this.checkInner(maxListAgeMs);
    } finally {
      this.deps.onChange?.();
    }
  }

  private async checkInner(maxListAgeMs: number): Promise<void> {
    let obs: Observation;
    try {
      obs = await this.observe(this.crashes > 0 ? 0 : maxListAgeMs);
      if (this.lastError) this.log.info('PM2 reachable again', { after: this.lastError });
      this.lastError = undefined;
    } catch (err) {
      const msg = describeError(err);
      if (msg !== this.lastError) this.log.warn(`cannot observe the app: ${msg}; will retry with backoff`);
      this.lastError = msg;
      return;
    }
    this.lastObservation = obs;
    const d = decide(this.state, obs, this.app);
    this.setState(d.state, d.action === 'remedy' ? d.reason : undefined);
    if (d.action === 'none') {
      if (d.note) this.log.debug(d.note);
      return;
    }
    this.log.warn(`unhealthy: ${d.reason}; starting remedy`, { hung: d.hung });
    const report = await runRemedy(this.app, d.reason, d.hung, this.deps);
    this.deps.processes.invalidate();
    this.crashes = 0;
    this.lastRemedy = report;
    this.lastRemedyAt = this.deps.clock.now();
    this.logReport(report);
    this.setState(afterRemedy(this.state, report.ok, this.deps.clock.now(), this.app, report.failure ?? d.reason));
    this.deps.onRemedy?.(report);
  }

  private async observe(maxListAgeMs: number): Promise<Observation> {
    const list = await this.deps.processes.get(maxListAgeMs);
    const pm2 = probePm2Status(this.app.name, list);
    const crashes = this.crashes;
    this.crashes = 0;
    const http =
      pm2.state === 'online' && this.app.health.url
        ? await this.deps.limiter.run(() => this.deps.prober.probe(this.app.health))
        : undefined;
    // Only a crashing or down app is checked for squatters: the /proc scan is not free.
    const suspicious = crashes > 0 || pm2.state === 'errored' || pm2.state === 'launching' || (pm2.state === 'stopped' && this.state.leftStopped);
    const squatters = suspicious && procAvailable && this.app.ports.length > 0 ? this.findSquatters(pm2.pids, list) : [];
    return { at: this.deps.clock.now(), pm2, crashes, squatters, ...(http ? { http } : {}) };
  }

  private findSquatters(appPids: readonly number[], list: readonly { pid: number }[]): Observation['squatters'] {
    const managed = new Set([...appPids, ...list.map((p) => p.pid)]);
    const daemon = this.deps.pm2.daemonPid();
    if (daemon) managed.add(daemon);
    return snapshotSync(this.app.ports).holders.filter((h) => !managed.has(h.pid)).map((h) => ({ port: h.port, pid: h.pid, command: h.command }));
  }

  private setState(next: AppState, why?: string): void {
    const prev = this.state;
    this.state = next;
    if (prev.phase !== next.phase) {
      const level = next.phase === 'unhealthy' ? 'error' : next.phase === 'failing' ? 'warn' : 'info';
      this.log.log(level, `${prev.phase} -> ${next.phase}${why ?? next.lastReason ? `: ${why ?? next.lastReason}` : ''}`);
    } else if (next.phase === 'failing' && next.consecutiveFailures !== prev.consecutiveFailures) {
      this.log.warn(`check failed: ${next.lastReason}`);
    }
  }

  private logReport(r: RemedyReport): void {
    const steps = r.steps.map((s) => `${s.step.split(' ')[0]} ${s.ok ? 'ok' : 'FAILED'} in ${Math.round(s.ms)}ms`).join(', ');
    const fields = {
      reason: r.reason,
      ...(r.ports ? { ports: describeFreed(r.ports), killed: r.ports.killed.map((k) => k.pid), refused: r.ports.refused.map((x) => x.pid) } : {}),
      steps,
    };
    if (r.ok) this.log.info(`remedy succeeded: healthy again after ${Math.round(r.timeToHealthyMs ?? r.totalMs)}ms`, fields);
    else this.log.error(`remedy failed: ${r.failure}`, fields);
  }
}
