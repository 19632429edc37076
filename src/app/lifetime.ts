/**
 * The monitor for a lifetime: the PM2 module and `run`. It loads the config, takes the
 * single-instance lock, waits for the PM2 daemon (never spawning one), restores state.json and
 * keeps it fresh, applies control.json within a second of a change, reloads the config when the
 * file changes, and reports its own footprint. Signals are the door's: it calls reload() on
 * SIGHUP and stop() on SIGTERM.
 */
import { unwatchFile, watchFile } from 'node:fs';
import type { Clock } from '../clock.js';
import { loadConfig } from '../config/load.js';
import { SHUTDOWN_GRACE_MS, type Engine } from '../engine/engine.js';
import type { Logger } from '../log/logger.js';
import type { Requester } from '../engine/view.js';
import { killLimit } from '../proc/users.js';
import { controlFilePath, readControl } from '../state/control.js';
import { requestControl, type ControlRequest } from './control.js';
import type { LogHooks } from './log.js';
import { openMonitor } from './open.js';
import { watchConfig, type ReloadOutcome } from './reload.js';
import { MonitorWeb } from './web.js';
import { DaemonTeller, watchDaemon } from './daemon.js';
import { DaemonWatch } from './daemon-watch.js';
import type { DaemonOutcome } from '../supervisor/watchdog.js';
import type { StatusDocument } from '../status/live.js';
import { selfReport } from './self-report.js';
import { MonitorStats, monitorFigures, type MonitorFigures } from './monitor-stats.js';

export interface RunOptions extends LogHooks {
  /** Which door runs it: the PM2 module or `run` (recorded in the lock; default run). */
  readonly role?: 'module' | 'run';
  readonly configPath: string;
  readonly pm2Home: string;
  readonly clock?: Clock;
}

export interface RunningMonitor {
  readonly engine: Engine;
  readonly logger: Logger;
  /** Re-read the config file now; ok false (the old config kept) when it is invalid, with why. */
  reload(): Promise<ReloadOutcome>;
  /** Stop checking and give back everything, the lock last. Idempotent. */
  stop(): Promise<void>;
  /** The document `status --json` prints, from what the workers know now (no probe, no PM2 call). */
  statusDocument(): StatusDocument;
  /** The status server's URL, when the config has `http:`. */
  readonly webUrl: () => string | undefined;
  /** Apps, unhealthy ones, open circuits, remedies since start, recent probe p95 (`pm2 show`). */
  figures(): MonitorFigures;
  /**
   * An operator's request from inside (the module's `pm2 trigger` actions): written to
   * control.json as the CLI writes it, and applied now rather than within the second.
   */
  requestControl(app: string, request: ControlRequest, by: Requester): void;
}

/**
 * Start the monitor for a lifetime. Throws ConfigError (invalid config), UnsafePathError (state
 * dir or log file) or LockHeldError. A start that fails gives back all it took, the lock
 * included: the PM2 module retries in this same process, and a lock kept by a failed start would
 * keep it out for good.
 */
export async function startMonitor(options: RunOptions): Promise<RunningMonitor> {
  const config = loadConfig(options.configPath);
  const hooks: LogHooks = { ...(options.console ? { console: options.console } : {}), ...(options.logLevel ? { logLevel: options.logLevel } : {}) };
  const monitor = await openMonitor({
    config, pm2Home: options.pm2Home, log: hooks, lock: { monitor: options.role ?? 'run' }, pm2: 'wait',
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const undo: (() => void)[] = [];
  const unwind = (): void => {
    for (const step of undo.splice(0).reverse()) step();
  };
  const role = options.role ?? 'run';
  const daemonCtx = { pm2Home: options.pm2Home, stateDir: monitor.stateDir, config, logger: monitor.logger, role };
  // `run` lives outside PM2: while no daemon answers it asks the watchdog, which may bring it back.
  let pending: DaemonOutcome | undefined;
  const waitTeller = new DaemonTeller(monitor.logger, () => undefined);
  const supervise = role === 'run'
    ? async (): Promise<boolean> => {
        const outcome = await watchDaemon(daemonCtx);
        if (outcome.kind === 'resurrected') pending = outcome;
        else if (outcome.kind !== 'answering' && outcome.kind !== 'resurrected-elsewhere') waitTeller.tell(outcome);
        return outcome.kind === 'answering' || outcome.kind === 'resurrected' || outcome.kind === 'resurrected-elsewhere';
      }
    : undefined;
  try {
    await monitor.connect(supervise);
    const web = new MonitorWeb({ views: () => monitor.engine?.views() ?? [], monoNow: () => monitor.clock.now(), stateDir: monitor.stateDir, logger: monitor.logger });
    const stats = new MonitorStats();
    await monitor.build({
      onObservation: (app, obs) => {
        web.hooks.onObservation(app, obs);
        stats.hooks.onObservation(app, obs);
      },
      onIncident: (incident) => {
        web.hooks.onIncident(incident);
        stats.hooks.onIncident(incident);
      },
    });
    // Given back before the monitor closes: a scrape during the close would read a stopping engine.
    undo.push(() => void web.close());
    // Bound before the first check: a port that is taken stops the start before anything acts.
    await web.apply(config);
    // Said once, before the first check: which kills this monitor cannot do (a service run as the PM2 user).
    const limit = killLimit(process.geteuid?.() ?? 0);
    if (limit) monitor.logger.info(limit);
    const engine = await monitor.start();
    const daemonWatch = new DaemonWatch(daemonCtx, { pm2: monitor.pm2!, engine, logger: monitor.logger, notifier: () => monitor.notifier, supervise: role === 'run' });
    daemonWatch.start(pending);
    undo.push(() => daemonWatch.stop());
    const footprint = selfReport(monitor.logger);
    undo.push(() => footprint.cancel());
    await footprint.update();
    const controlFile = controlFilePath(monitor.stateDir);
    const applyControl = (): void => engine.applyControl(readControl(controlFile, (m) => monitor.logger.warn(m)));
    watchFile(controlFile, { interval: 1000 }, applyControl);
    undo.push(() => unwatchFile(controlFile));
    // A reload may turn debug on or off: the footprint report follows the level.
    const reloader = watchConfig(options.configPath, monitor, hooks, () => footprint.update(), (next) => web.apply(next, true));
    undo.push(reloader.stop);
    return {
      engine,
      logger: monitor.logger,
      reload: reloader.reload,
      stop: async () => {
        unwind();
        await web.close();
        // Bounded: the doors force the exit at 10 s, and the lock must be given back before it.
        // The engine's wait covers a remedy's shutdown grace and its abandoning (engine.ts).
        return monitor.close({ farewell: 'stopped', engineWaitMs: SHUTDOWN_GRACE_MS + 1500, capMs: 750 });
      },
      statusDocument: () => web.status(),
      webUrl: () => web.url,
      figures: () => monitorFigures(engine.views(), stats, monitor.clock.now()),
      requestControl: (app, request, by) => {
        requestControl(controlFile, app, request, by);
        // The watcher sees the change too; applying the same control twice tells it once.
        applyControl();
      },
    };
  } catch (err) {
    unwind();
    await monitor.close();
    throw err;
  }
}

/** The status document as one log line (SIGUSR1: seed 000's "dump the state" signal). */
export function logStatus(m: RunningMonitor): void {
  try {
    m.logger.info('status (SIGUSR1)', { status: m.statusDocument() });
  } catch (err) {
    m.logger.warn(`status (SIGUSR1) failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
