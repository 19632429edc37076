/**
 * The update triggers of a long-running monitor (the module, `run`): one timer per app with
 * `update:` at its interval, and `trigger()` for the webhook. A trigger while the app's update
 * runs, here or in another process (the repo's lock), answers "in progress"; the run itself
 * goes on in the background and never throws. After each update the engine checks the app at once.
 */
import type { AppConfig } from '../config/schema.js';
import { inspectLock } from '../lock/lock.js';
import { readJournal, repoLockPath } from './store.js';
import { runUpdate, type UpdateDeps, type UpdateReport } from './run-update.js';
import type { UpdateTrigger } from './story.js';

/** What a trigger from outside (the webhook) is told. */
export type TriggerAnswer = { readonly result: 'started' } | { readonly result: 'in_progress' } | { readonly result: 'unknown_app' };

export interface SchedulerDeps extends UpdateDeps {
  /** After an update check that moved something: look at the app now. */
  readonly afterUpdate?: (app: string, report: UpdateReport) => void;
  /** The first check of each app this long after start (default: at once, to finish interrupted updates). */
  readonly firstDelayMs?: number;
}

export class UpdateScheduler {
  private apps = new Map<string, AppConfig>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<UpdateReport | undefined>>();
  private stopped = false;

  constructor(apps: readonly AppConfig[], private readonly deps: SchedulerDeps) {
    this.setApps(apps);
  }

  start(): void {
    for (const name of this.apps.keys()) this.schedule(name, this.deps.firstDelayMs ?? 0);
  }

  /** A new config: apps keep their timers only if their update block is unchanged. */
  replace(apps: readonly AppConfig[]): void {
    const before = this.apps;
    this.setApps(apps);
    for (const [name, t] of this.timers) {
      if (JSON.stringify(before.get(name)?.update) === JSON.stringify(this.apps.get(name)?.update)) continue;
      clearTimeout(t);
      this.timers.delete(name);
    }
    if (!this.stopped) for (const name of this.apps.keys()) if (!this.timers.has(name) && !this.running.has(name)) this.schedule(name, 0);
  }

  /** Start a check of `app` now unless one runs (the webhook; `update` from PM2 actions). */
  trigger(app: string, trigger: UpdateTrigger = 'webhook'): TriggerAnswer {
    const cfg = this.apps.get(app);
    if (!cfg) return { result: 'unknown_app' };
    if (this.running.has(app) || this.busyElsewhere(app)) return { result: 'in_progress' };
    void this.run(cfg, trigger);
    return { result: 'started' };
  }

  /** The app names with `update:`. */
  names(): string[] {
    return [...this.apps.keys()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.running.values());
  }

  private setApps(apps: readonly AppConfig[]): void {
    this.apps = new Map(apps.filter((a) => a.update).map((a) => [a.name, a]));
  }

  /** Another process holds the repo of the app's interrupted or running update. */
  private busyElsewhere(app: string): boolean {
    const j = readJournal(this.deps.stateDir, app);
    return j !== undefined && inspectLock(repoLockPath(this.deps.stateDir, j.repo))?.live === true;
  }

  private schedule(app: string, ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timers.get(app));
    const t = setTimeout(() => {
      this.timers.delete(app);
      const cfg = this.apps.get(app);
      if (!cfg) return;
      void this.run(cfg, 'schedule').then(() => {
        if (this.apps.has(app) && !this.timers.has(app)) this.schedule(app, this.apps.get(app)!.update!.intervalMs);
      });
    }, ms);
    this.timers.set(app, t);
  }

  private run(cfg: AppConfig, trigger: UpdateTrigger): Promise<UpdateReport | undefined> {
    const existing = this.running.get(cfg.name);
    if (existing) return existing;
    const log = this.deps.logger.child({ app: cfg.name });
    const p = runUpdate(cfg, { trigger }, this.deps)
      .then((report) => {
        if (report.outcome === 'busy') log.debug(report.detail);
        if (report.story || report.resumed) this.deps.afterUpdate?.(cfg.name, report);
        return report;
      })
      .catch((err: unknown) => {
        log.error(`update check failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      })
      .finally(() => this.running.delete(cfg.name));
    this.running.set(cfg.name, p);
    return p;
  }
}
