/**
 * The engine: one worker per configured app, PM2's process table kept from the bus (events fold
 * into it; crashes and PM2 giving up turn into immediate checks), and config reloads that swap
 * workers without losing the others' state. The PM2 module, `run`, `check` and `watch` all drive
 * this class.
 */
import { isAbsolute } from 'node:path';
import type { Clock } from '../clock.js';
import type { AppConfig, MonitorConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Pm2Port, ProcessEvent } from '../pm2/adapter.js';
import type { HttpProber } from '../probes/http.js';
import { ProcessTable } from '../pm2/table.js';
import { dependencyLayers } from '../config/rules.js';
import { InstanceLedger } from './instances.js';
import { Limiter } from './limiter.js';
import type { AlarmOutcome, RaisedAlarm } from './alarm-inbox.js';
import type { Observation } from './decide.js';
import type { Incident } from './incident.js';
import type { RemedyReport } from './remedy.js';
import type { Control, WorkerEvent, WorkerView } from './view.js';
import { AppWorker, type Inspection, type WorkerDeps } from './worker.js';

export interface EngineDeps {
  readonly pm2: Pm2Port;
  readonly prober: HttpProber;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onRemedy?: (report: RemedyReport) => void;
  readonly onIncident?: (incident: Incident) => void;
  readonly onChange?: (urgent: boolean) => void;
  readonly onEvent?: (event: WorkerEvent) => void;
  readonly onObservation?: (app: string, obs: Observation) => void;
  /** What a previous run of the monitor knew, per app (state.json). */
  readonly restored?: ReadonlyMap<string, Restored>;
  /**
   * Exits are not crashes (watch: PM2 restarts the command itself; the engine steps in when PM2
   * gives up). The table still hears them.
   */
  readonly ignoreExits?: boolean;
  /** A git update of an app in progress or halted (update/hold.ts); absent: no updates. */
  readonly updateHold?: WorkerDeps['updateHold'];
  /** The remedy journal (absent: remedies are not journaled; `watch`). */
  readonly journal?: WorkerDeps['journal'];
  /** The kill log of the state dir (absent: signals are not logged). */
  readonly killLog?: WorkerDeps['killLog'];
}

type Restored = NonNullable<ConstructorParameters<typeof AppWorker>[2]>;

/** Events that mean "look at this app now". */
const URGENT_EVENTS = new Set(['restart overlimit', 'errored']);

/**
 * How long a shutdown lets a remedy in progress finish before abandoning it (journaled, finished
 * at the next start). Well inside the doors' forced exit at 10 s: the state flush, the log and
 * the lock still have their time after it.
 */
export const SHUTDOWN_GRACE_MS = 6000;

export class Engine {
  private readonly workers = new Map<string, AppWorker>();
  /** PM2's processes as the bus tells them; a full list only to (re)load or reconcile. */
  readonly table: ProcessTable;
  private readonly instances = new InstanceLedger();
  private limiter: Limiter;
  private unsubscribe: (() => void) | undefined;
  /** pm_ids whose exit(stopping) we saw: their next exit is a stop, not a crash. */
  private readonly stopping = new Set<number>();

  constructor(
    private config: MonitorConfig,
    private readonly deps: EngineDeps,
  ) {
    this.table = new ProcessTable(deps.pm2, deps.clock, {
      // Read at each use: a reload may change it.
      reconcileMs: () => this.config.reconcileMs,
      onRows: (rows) => this.instances.note(rows),
    });
    this.limiter = new Limiter(config.concurrency);
    for (const app of config.apps) this.workers.set(app.name, this.makeWorker(app));
  }

  /** Start periodic checks and listen to the PM2 bus. */
  start(): void {
    const offEvents = this.deps.pm2.onProcessEvent((e) => this.onEvent(e));
    const offSignals = this.deps.pm2.onBusSignal((signal) => {
      if (signal === 'disconnected') return this.table.busDisconnected();
      this.table.busConnected();
      // Whatever happened while the bus was away: look at every app now.
      for (const w of this.workers.values()) w.trigger();
    });
    this.unsubscribe = () => {
      offEvents();
      offSignals();
    };
    for (const w of this.workers.values()) w.start();
    this.deps.logger.info(`watching ${this.workers.size} app(s): ${[...this.workers.keys()].join(', ')}`, { config: this.config.source });
    for (const w of this.workers.values()) w.tellRestored(this.configFile());
  }

  /**
   * One pass over every app (or the named ones), without timers: the `check` command. Apps are
   * checked in dependency layers: a dependency is settled (healthy, remedied or given up on)
   * before its dependents are looked at. `onSettled` hears each app as its pass ends (the check's
   * deadline names the ones that did not).
   */
  async checkOnce(names?: readonly string[], onSettled?: (app: string) => void): Promise<WorkerView[]> {
    const chosen = [...this.workers.values()].filter((w) => !names || names.includes(w.app.name));
    for (const w of chosen) w.tellRestored(this.configFile());
    const views = new Map<string, WorkerView>();
    for (const layer of dependencyLayers(chosen.map((w) => ({ name: w.app.name, dependsOn: w.app.dependsOn ?? [] })))) {
      const done = await Promise.all(layer.map(async (name) => {
        const view = await this.workers.get(name)!.checkUntilSettled();
        onSettled?.(name);
        return view;
      }));
      for (const v of done) views.set(v.app, v);
    }
    return chosen.map((w) => views.get(w.app.name)!);
  }

  /** Every app (or the named ones) probed once and judged without acting: `status`, `check --dry-run`. */
  async inspect(names?: readonly string[]): Promise<Inspection[]> {
    const chosen = [...this.workers.values()].filter((w) => !names || names.includes(w.app.name));
    return Promise.all(chosen.map((w) => w.inspect()));
  }

  /**
   * An alarm from outside for a configured app (the alarm table): judged at the app's next check;
   * resolves with what became of it. Undefined when no app has that name.
   */
  raiseAlarm(app: string, alarm: RaisedAlarm): Promise<AlarmOutcome> | undefined {
    return this.workers.get(app)?.raiseAlarm(alarm);
  }

  /** Settle every alarm still waiting for a check (a one-pass check that did not look at its app). */
  dropAlarms(why: string): void {
    for (const w of this.workers.values()) w.dropAlarm(why);
  }

  /** Check an app as soon as possible (an update just ended). */
  checkNow(app: string): void {
    this.workers.get(app)?.trigger();
  }

  /**
   * Check an app now and resolve once a check begun after the call has ended (`pm2 trigger
   * helpdesk-monitor check-now`); undefined when no app has that name. A remedy the check starts
   * is part of it: callers bound the wait themselves.
   */
  checkFresh(app: string): Promise<void> | undefined {
    return this.workers.get(app)?.checkFresh();
  }

  /** The configured apps' names. */
  appNames(): string[] {
    return [...this.workers.keys()];
  }

  /** Operator input (control.json): pauses and resets, by app name. */
  applyControl(control: ReadonlyMap<string, Control>): void {
    for (const [name, w] of this.workers) w.applyControl(control.get(name) ?? {});
  }

  /** What every worker knows now. */
  views(): WorkerView[] {
    return [...this.workers.values()].map((w) => w.view());
  }

  /**
   * Apply a new, already validated config: unchanged apps keep their workers and counters,
   * changed ones are replaced, removed ones stop, new ones start.
   */
  async reload(next: MonitorConfig): Promise<void> {
    const running = this.unsubscribe !== undefined;
    for (const [name, w] of this.workers) {
      const app = next.apps.find((a) => a.name === name);
      if (app && JSON.stringify(app) === JSON.stringify(w.app)) continue;
      await w.stop();
      this.workers.delete(name);
    }
    if (next.concurrency !== this.config.concurrency) this.limiter = new Limiter(next.concurrency);
    for (const app of next.apps) {
      if (this.workers.has(app.name)) continue;
      const w = this.makeWorker(app);
      this.workers.set(app.name, w);
      if (running) w.start();
    }
    this.config = next;
    this.deps.logger.info(`config reloaded: watching ${this.workers.size} app(s)`, { config: next.source });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await Promise.all([...this.workers.values()].map((w) => w.stop(SHUTDOWN_GRACE_MS)));
  }

  /** The config file, for commands we suggest (`reset APP --config FILE`); watch mode has none. */
  private configFile(): string | undefined {
    return isAbsolute(this.config.source) ? this.config.source : undefined;
  }

  private makeWorker(app: AppConfig): AppWorker {
    const { pm2, prober, clock, logger, onRemedy, onIncident, onChange, onEvent, onObservation, updateHold, journal, killLog } = this.deps;
    return new AppWorker(
      app,
      {
        pm2, prober, clock, logger, table: this.table,
        seen: (name) => this.instances.seen(name),
        // indirect, so a reload's new limiter is seen by existing workers
        limiter: { run: <T>(task: () => Promise<T>) => this.limiter.run(task) },
        ...(onRemedy ? { onRemedy } : {}),
        ...(onIncident ? { onIncident } : {}),
        ...(onChange ? { onChange } : {}),
        ...(onEvent ? { onEvent } : {}),
        ...(onObservation ? { onObservation } : {}),
        ...(updateHold ? { updateHold } : {}),
        dependency: (name) => {
          const w = this.workers.get(name);
          return w ? { state: w.view().state, decided: () => w.decided() } : undefined;
        },
        // A dependency healthy again: its dependents look at once (and are remedied only if still failing).
        onHealthy: (name) => {
          for (const d of this.workers.values()) if (d.app.dependsOn?.includes(name)) d.trigger();
        },
        ...(journal ? { journal } : {}),
        ...(killLog ? { killLog } : {}),
      },
      this.deps.restored?.get(app.name),
    );
  }

  private onEvent(e: ProcessEvent): void {
    this.table.apply(e);
    const w = this.workers.get(e.name);
    if (!w) return;
    if (e.event === 'exit') {
      // A stop or restart (by an operator or by us) sends exit(stopping) then exit(stopped), both
      // with manually:false; only the final stop/restart event says manually. A crash sends a
      // lone exit. So an exit is a crash unless its instance was stopping.
      if (e.status === 'stopping') return void this.stopping.add(e.pmId);
      if (this.stopping.delete(e.pmId) || e.manually || this.deps.ignoreExits) return;
      // The squatter search and the new instance's pid need PM2's own list now.
      this.table.invalidate('crash');
      w.noteCrash();
    } else {
      this.stopping.delete(e.pmId);
      if (URGENT_EVENTS.has(e.event)) w.trigger();
    }
  }
}
