/**
 * The schedules of all configured apps whose PM2 process has a cron_restart the monitor can
 * follow (one AppSchedule each), kept in step with PM2: at start, at each reconcile, at a config
 * reload, and when the bus is back after losing the daemon (a resurrect may renumber the apps;
 * ticks missed meanwhile go to catch_up). Long-running doors only (`run`, the PM2 module).
 */
import type { MonitorConfig } from '../config/schema.js';
import { DEFAULT_SCHEDULE } from '../config/schedule.js';
import type { Logger } from '../log/logger.js';
import type { Pm2Port, ProcessInfo } from '../pm2/adapter.js';
import { describeError } from '../errors.js';
import { AppSchedule, type AppScheduleDeps } from './app-schedule.js';
import { followability } from './view.js';

export interface SchedulesDeps {
  readonly pm2: Pm2Port;
  readonly logger: Logger;
  readonly stateDir: string;
  readonly now?: () => number;
}

export class MonitorSchedules {
  private readonly schedules = new Map<string, AppSchedule>();
  /** Why an app's cron_restart is not followed, as last logged (said once per change). */
  private readonly told = new Map<string, string>();
  private config: MonitorConfig;
  private jobDeps: AppScheduleDeps | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void)[] = [];
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(config: MonitorConfig, private readonly deps: SchedulesDeps) {
    this.config = config;
  }

  async start(): Promise<void> {
    this.unsubscribe.push(this.deps.pm2.onProcessEvent((e) => this.schedules.get(e.name)?.onEvent(e)));
    this.unsubscribe.push(this.deps.pm2.onBusSignal((s) => {
      if (s === 'connected') void this.sync().then(() => Promise.all([...this.schedules.values()].map((a) => a.catchUp()))).catch(() => undefined);
    }));
    await this.sync();
    this.timer = setInterval(() => void this.sync(), this.config.reconcileMs);
    this.timer.unref();
  }

  async replace(next: MonitorConfig): Promise<void> {
    this.config = next;
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = setInterval(() => void this.sync(), next.reconcileMs);
      this.timer.unref();
    }
    await this.sync();
  }

  /** One sync at a time (a reconcile and a reconnection may ask together). */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.syncOnce()).catch((err: unknown) => {
      this.deps.logger.warn(`schedule: cannot read PM2's list: ${describeError(err)}`);
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    if (this.stopped) return;
    const list = await this.deps.pm2.list();
    const wanted = new Set<string>();
    for (const app of this.config.apps) {
      const cfg = app.schedule ?? DEFAULT_SCHEDULE;
      const procs = list.filter((p) => p.name === app.name && !p.isModule);
      // Missing for now (a resurrect in progress lists nothing yet): keep following by name, so a
      // tick in progress is decided and the next one is not lost; the app's own ticks say "not in PM2".
      if (procs.length === 0 && this.schedules.has(app.name) && cfg.enabled) {
        wanted.add(app.name);
        continue;
      }
      const f = followability(cfg, procs);
      if (!f.follow) {
        this.tell(app.name, f.why);
        continue;
      }
      this.told.delete(app.name);
      wanted.add(app.name);
      await this.ensure(app.name, procs[0] as ProcessInfo, f.expression, cfg);
    }
    for (const [name, s] of this.schedules) {
      if (!wanted.has(name)) {
        s.stop();
        this.schedules.delete(name);
      }
    }
  }

  private async ensure(app: string, proc: ProcessInfo, expression: string, cfg: NonNullable<MonitorConfig['apps'][number]['schedule']>): Promise<void> {
    const have = this.schedules.get(app);
    if (have && have.expression === expression && JSON.stringify(have.cfg) === JSON.stringify(cfg)) {
      have.follow(proc.pmId);
      return;
    }
    have?.stop();
    const s = new AppSchedule(app, proc.pmId, expression, cfg, await this.jobDepsLoaded());
    if (this.stopped) return;
    this.schedules.set(app, s);
    this.deps.logger.info(`schedule: following PM2's cron_restart "${expression}" (pm_id ${proc.pmId}); the monitor fires a tick PM2 misses within ${cfg.windowMs / 1000} s, catch_up: ${cfg.catchUp}`, { app });
    s.start();
  }

  /** node-schedule (and luxon, with its ICU data) is loaded only when an app has a schedule to follow. */
  private async jobDepsLoaded(): Promise<AppScheduleDeps> {
    if (!this.jobDeps) {
      const { default: schedule } = await import('node-schedule');
      this.jobDeps = {
        pm2: this.deps.pm2, logger: this.deps.logger, stateDir: this.deps.stateDir, now: this.deps.now ?? Date.now,
        scheduleJob: (expr, fire) => schedule.scheduleJob(expr, fire),
      };
    }
    return this.jobDeps;
  }

  private tell(app: string, why: string | undefined): void {
    if (why === undefined || this.told.get(app) === why) return;
    this.told.set(app, why);
    this.deps.logger.info(`schedule: not followed, PM2 alone: ${why}`, { app });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unsubscribe.splice(0)) u();
    for (const s of this.schedules.values()) s.stop();
    this.schedules.clear();
  }
}
