/**
 * The one way in: every door (the PM2 module, `run`, `check`, `watch`) builds its monitor here,
 * from a config and its own plan (which log, which locks, how to reach PM2, whether state is
 * kept) and hooks (what the engine tells it). The parts come in three steps, so a door can do its
 * own work between them: `openMonitor` opens the log and takes the locks, `connect` reaches PM2,
 * `build` makes the engine with what the last run left (state.json), the operator's control.json,
 * the notifier and the state writer. `close` gives back whatever was taken, in order, the locks
 * last: a failed start leaves nothing behind, and the next instance finds nothing still running.
 * The engine itself is handed only what it needs: it knows no file, signal or lock.
 */
import { hostname } from 'node:os';
import { systemClock, type Clock } from '../clock.js';
import type { AlarmPoller } from '../alarms/poller.js';
import type { AlarmsConfig } from '../config/alarms.js';
import type { MonitorConfig } from '../config/schema.js';
import type { Observation } from '../engine/decide.js';
import { pauseOfRecord } from '../engine/control-log.js';
import { Engine } from '../engine/engine.js';
import type { Incident } from '../engine/incident.js';
import type { RemedyReport } from '../engine/remedy.js';
import { resumeRemedies } from '../engine/resume.js';
import { killLogIn } from '../ports/kill-log.js';
import { restoreApp, type HandledAlarmRecord } from '../engine/state-document.js';
import type { WorkerEvent } from '../engine/view.js';
import type { HeldLock } from '../lock/lock.js';
import { silenceConsole, type Logger } from '../log/logger.js';
import type { SwitchableNotifier } from '../notify/switchable.js';
import { stateDir } from '../paths.js';
import type { Pm2Port } from '../pm2/adapter.js';
import { createHttpProber, type HttpProber } from '../probes/http.js';
import { controlFilePath, readControl } from '../state/control.js';
import { remedyJournal } from '../state/remedy-journal.js';
import { openStateFile, stateFilePath } from '../state/state-file.js';
import { endLog, openLog, type LogPlan } from './log.js';
import { takeLocks, type LockPlan } from './lock.js';
import { openNotifier } from './notifier.js';
import { reachPm2, type Pm2Plan } from './pm2.js';
import { stateWriter, type AlarmMemory, type StateWriter } from './state-writer.js';
import type { MonitorUpdates } from './updates.js';
import { within } from './within.js';
import { updateHoldReader } from '../update/hold.js';
import { MonitorSchedules } from '../schedules/schedules.js';

export interface MonitorPlan {
  readonly config: MonitorConfig;
  readonly pm2Home: string;
  readonly clock?: Clock;
  readonly log: LogPlan;
  readonly lock: LockPlan;
  readonly pm2: Pm2Plan;
  /** Restore and write state.json, apply control.json (default true; `watch` keeps no state). */
  readonly persist?: boolean;
}

/** What the door hears from the engine, besides the notifier and the state writer. */
export interface EngineHooks {
  readonly onEvent?: (event: WorkerEvent) => void;
  readonly onObservation?: (app: string, obs: Observation) => void;
  readonly onRemedy?: (report: RemedyReport) => void;
  readonly onIncident?: (incident: Incident) => void;
  /** Exits are not crashes (`watch`: PM2 itself restarts the command; see EngineDeps.ignoreExits). */
  readonly ignoreExits?: boolean;
}

export interface CloseOptions {
  /** Wait at most this long for each part (notifier, PM2, the log); default: as long as it takes. */
  readonly capMs?: number;
  /** ... and for the engine's checks in progress (default capMs). */
  readonly engineWaitMs?: number;
  /**
   * Checks may still be running (a `check` past its deadline; the process exits next): their
   * prober and PM2 connection stay open, since closing them would turn an in-flight probe into a
   * failure and a failure into a remedy, and what they log after the end is dropped.
   */
  readonly leaveChecks?: boolean;
  /** A last log line (`stopped`). */
  readonly farewell?: string;
}

/** How long a log that failed to open its monitor may take to end. */
const END_LOG_MS = 3000;

/**
 * Open the log and take the locks. Throws UnsafePathError (the state dir or the log file) or
 * LockHeldError; the log is ended then.
 */
export async function openMonitor(plan: MonitorPlan): Promise<Monitor> {
  const logger = openLog(plan.config, plan.log);
  try {
    return new Monitor(plan, logger, takeLocks(plan.config, plan.lock, logger));
  } catch (err) {
    await endLog(logger, END_LOG_MS);
    throw err;
  }
}

export class Monitor {
  readonly config: MonitorConfig;
  readonly clock: Clock;
  /** The state dir this monitor keeps its files in (fixed for its life). */
  readonly stateDir: string;
  pm2: Pm2Port | undefined;
  engine: Engine | undefined;
  notifier: SwitchableNotifier | undefined;
  writer: StateWriter | undefined;
  /** The alarm table trigger (`alarms:` in the config). */
  alarms: AlarmPoller | undefined;
  /** Git auto-update: the schedule and the webhook (apps with `update:`, long-running doors). */
  updates: MonitorUpdates | undefined;
  /** The cron_restart schedules the monitor backs up (long-running doors that keep state). */
  schedules: MonitorSchedules | undefined;
  /** The config the update hold reads (replaced on reload). */
  private updateConfig: MonitorConfig;
  /** Handled alarms kept while no poller runs (the block was removed). */
  private retiredAlarms: AlarmMemory | undefined;
  private prober: HttpProber | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly plan: MonitorPlan,
    readonly logger: Logger,
    private readonly locks: readonly HeldLock[],
  ) {
    this.config = plan.config;
    this.clock = plan.clock ?? systemClock;
    this.stateDir = stateDir(plan.config.stateDir);
    this.updateConfig = plan.config;
  }

  /**
   * Reach PM2 as the plan says, and make the prober. A connection that arrives after close() is
   * closed. `supervise`: see reachPm2 (the daemon watchdog of `run`).
   */
  async connect(supervise?: () => Promise<boolean>): Promise<Pm2Port> {
    const port = await reachPm2(this.plan.pm2Home, this.plan.pm2, this.logger, supervise);
    if (this.closing) {
      await port.close().catch(() => undefined);
      throw new Error('the monitor was closed while it reached PM2');
    }
    this.pm2 = port;
    this.prober = createHttpProber(() => this.clock.now());
    return port;
  }

  /** Make the engine (not started) with the saved state, control, notifier and writer. */
  async build(hooks: EngineHooks = {}): Promise<Engine> {
    const { pm2, prober, clock, logger, config } = this;
    if (!pm2 || !prober) throw new Error('build() before connect()');
    const persist = this.plan.persist ?? true;
    const restored = new Map<string, ReturnType<typeof restoreApp> & { pause?: ReturnType<typeof pauseOfRecord> }>();
    const statePath = stateFilePath(this.stateDir);
    let handledAlarms: readonly HandledAlarmRecord[] = [];
    if (persist) {
      const saved = openStateFile(statePath);
      if (saved.warning) logger.warn(saved.warning);
      handledAlarms = saved.alarms ?? [];
      for (const [name, rec] of Object.entries(saved.apps)) {
        // The pause the last run had told: the same pause in control.json is not news to log again.
        const pause = pauseOfRecord(rec.paused_until);
        restored.set(name, { ...restoreApp(rec, clock.now()), ...(pause === undefined ? {} : { pause }) });
      }
    }
    const notifier = await openNotifier(config.notify, logger, clock);
    this.notifier = notifier;
    const host = hostname();
    // Reads the engine only once checks run, after `engine` exists.
    // Without `alarms:` (now), what was handled is kept as it was: a config that drops the block
    // and brings it back must not remedy the still-raised alarms again.
    if (!config.alarms && handledAlarms.length > 0) this.retiredAlarms = keptRecords(handledAlarms);
    // The one monitor of a state dir (it holds the lock) journals its remedies and finishes the
    // ones a previous run left cut short.
    const journal = persist && 'monitor' in this.plan.lock ? remedyJournal(this.stateDir, this.plan.lock.monitor, (m) => logger.warn(m)) : undefined;
    const writer = persist ? stateWriter(statePath, () => engine.views(), clock, logger, () => this.alarms ?? this.retiredAlarms) : undefined;
    // Every signal the engine sends to a process it did not spawn, and every holder it refused.
    const killLog = killLogIn(this.stateDir, 'monitor' in this.plan.lock ? this.plan.lock.monitor : this.plan.lock.role);
    const engine: Engine = new Engine(config, {
      pm2, prober, clock, logger, restored, killLog,
      ...(journal ? { journal } : {}),
      ...(hooks.ignoreExits ? { ignoreExits: true } : {}),
      ...(persist ? { updateHold: updateHoldReader(this.stateDir, (app) => this.updateConfig.apps.some((a) => a.name === app && a.update)) } : {}),
      ...(writer ? { onChange: writer.poke } : {}),
      onEvent: (e) => {
        notifier.notify({ ...e, killed: e.killed ? [...e.killed] : undefined, at: new Date(), host });
        hooks.onEvent?.(e);
      },
      ...(hooks.onObservation ? { onObservation: hooks.onObservation } : {}),
      ...(hooks.onRemedy ? { onRemedy: hooks.onRemedy } : {}),
      ...(hooks.onIncident ? { onIncident: hooks.onIncident } : {}),
    });
    this.engine = engine;
    this.writer = writer;
    if (persist) engine.applyControl(readControl(controlFilePath(this.stateDir), (m) => logger.warn(m)));
    if (config.alarms) this.alarms = await this.makeAlarms(config.alarms, handledAlarms);
    // Before the first check: a half-restarted app must not be judged (or taken for an operator's stop).
    if (journal) {
      const paused = (app: string): boolean => {
        const until = engine.views().find((v) => v.app === app)?.control.pausedUntil;
        return until === 'indefinite' || (typeof until === 'number' && until > Date.now());
      };
      await resumeRemedies(config.apps, { pm2, prober, clock, logger, journal, paused, killLog });
    }
    return engine;
  }

  /**
   * Apply a reloaded `alarms:` block: the old poller stops (its poll in progress ends first), a
   * new one starts with what was handled. Absent: no more polling.
   */
  async replaceAlarms(next: AlarmsConfig | undefined): Promise<void> {
    const old = this.alarms;
    // The old poller stays in place while it stops: state writes meanwhile keep its records.
    await old?.stop();
    const records = (old ?? this.retiredAlarms)?.records() ?? [];
    if (next) {
      this.alarms = await this.makeAlarms(next, records);
      this.retiredAlarms = undefined;
      if (this.started) this.alarms.start();
    } else {
      this.alarms = undefined;
      this.retiredAlarms = keptRecords(records);
    }
    this.writer?.poke(true);
  }

  /** mysql2 is loaded only when a config has an alarm table. */
  private async makeAlarms(cfg: AlarmsConfig, handled: readonly HandledAlarmRecord[]): Promise<AlarmPoller> {
    const { AlarmPoller } = await import('../alarms/poller.js');
    const engine = this.engine!;
    return new AlarmPoller(cfg, { engine, logger: this.logger, clock: this.clock, handled, onChange: () => this.writer?.poke(true) });
  }

  /** Start periodic checks (the long-running doors), and the updates of apps with `update:`. */
  async start(): Promise<Engine> {
    if (!this.engine) throw new Error('start() before build()');
    this.engine.start();
    this.alarms?.start();
    this.started = true;
    await this.replaceUpdates(this.config);
    // Its records live in the state dir: a door that keeps no state (`watch`) does not follow schedules.
    if ((this.plan.persist ?? true) && this.pm2) {
      this.schedules = new MonitorSchedules(this.config, { pm2: this.pm2, logger: this.logger, stateDir: this.stateDir });
      await this.schedules.start();
    }
    return this.engine;
  }

  /** Apply a reloaded config to the schedules (schedule: blocks, apps added or removed). */
  async replaceSchedules(next: MonitorConfig): Promise<void> {
    await this.schedules?.replace(next);
  }

  /**
   * Apply a (reloaded) config's `update:` blocks and webhook. The updates code is loaded only
   * when some app has `update:` or the webhook is configured.
   */
  async replaceUpdates(next: MonitorConfig): Promise<void> {
    this.updateConfig = next;
    const wanted = next.apps.some((a) => a.update) || next.updateWebhook !== undefined;
    if (!this.started || (!wanted && !this.updates)) return;
    if (!this.updates) {
      const { MonitorUpdates } = await import('./updates.js');
      const { engine, notifier, pm2, prober, clock, logger, stateDir } = this;
      this.updates = new MonitorUpdates({ config: next, stateDir, engine: engine!, notifier: notifier!, logger, act: { pm2: pm2!, prober: prober!, clock } });
      await this.updates.start(next);
    } else await this.updates.replace(next);
  }

  /** Stop periodic checks and wait for the ones in progress (once; later calls share it). */
  stopEngine(): Promise<void> {
    this.schedules?.stop();
    if (!this.started || !this.engine) return this.alarms?.stop() ?? Promise.resolve();
    // Together: a poll waits for the checks its alarms asked for, and a stopping worker settles them.
    // An update in progress is waited for (its own deadlines bound it); cut short, the journal finishes it.
    return (this.stopping ??= Promise.all([this.alarms?.stop(), this.engine.stop(), this.updates?.stop()]).then(() => undefined));
  }

  /** Lines from now on go to the log file only (a shutdown whose errors are expected). */
  silenceConsole(): void {
    silenceConsole(this.logger);
  }

  /** Give back everything, the locks last. Idempotent (later calls share the first). */
  close(options: CloseOptions = {}): Promise<void> {
    return (this.closing ??= this.closeOnce(options));
  }

  private async closeOnce(options: CloseOptions): Promise<void> {
    const { capMs } = options;
    try {
      await within(options.engineWaitMs ?? capMs, this.stopEngine());
      try {
        this.writer?.flush();
      } catch {
        // the writer logs its own failures; a view that throws must not keep the lock
      }
      await within(capMs, this.notifier?.close());
      if (options.leaveChecks) {
        this.logger.on('error', () => undefined);
      } else {
        this.prober?.close();
        await within(capMs, this.pm2?.close());
      }
      if (options.farewell) this.logger.info(options.farewell);
      await endLog(this.logger, capMs);
    } finally {
      for (const lock of this.locks) lock.release();
    }
  }
}

/** Handled alarms that no poller changes: written as they are. */
function keptRecords(records: readonly HandledAlarmRecord[]): AlarmMemory {
  return { version: -1, records: () => records };
}
