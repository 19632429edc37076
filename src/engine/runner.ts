/**
 * Running the monitor: for a lifetime (the PM2 module and `run`) or for one pass (`check`).
 * Both load the config, take the single-instance lock, reach the PM2 daemon without spawning one,
 * and drive the same Engine; the long run also reloads its config when the file changes or on
 * SIGHUP (keeping the last good config when the new one is invalid) and keeps state.json fresh.
 */
import { unwatchFile, watchFile } from 'node:fs';
import { join } from 'node:path';
import { sleep, systemClock, type Clock } from '../clock.js';
import { formatDuration } from '../config/duration.js';
import { loadConfig } from '../config/load.js';
import type { MonitorConfig } from '../config/schema.js';
import { Pm2Error, UsageError, describeError } from '../errors.js';
import { ensurePrivateDir, octal } from '../fsx/private-dir.js';
import { acquireLock, type HeldLock } from '../lock/lock.js';
import { createLogger, reconfigureLogger, type Logger, type LoggerOptions } from '../log/logger.js';
import { stateDir } from '../paths.js';
import { connectPm2, pingDaemon, type Pm2Port } from '../pm2/adapter.js';
import { loadPm2 } from '../pm2/load.js';
import { createHttpProber, type HttpProber } from '../probes/http.js';
import { checkDeadline } from './deadline.js';
import { Engine } from './engine.js';
import { hostname } from 'node:os';
import schedule from 'node-schedule';
import { createNotifier, type Notifier } from '../notify/notifier.js';
import { switchableNotifier } from '../notify/switchable.js';
import { redactDeep, redactUrl } from '../redact.js';
import { controlFilePath, readControl } from '../state/control.js';
import { openStateFile, stateFilePath, writeJsonAtomic } from '../state/state-file.js';
import { restoreApp, toStateDocument } from './state-document.js';
import type { WorkerView } from './view.js';

export interface RunOptions {
  readonly configPath: string;
  readonly pm2Home: string;
  readonly console?: 'stderr' | 'stdout' | 'none';
  readonly clock?: Clock;
  /** Overrides the config's log level (`--verbose`). */
  readonly logLevel?: MonitorConfig['log']['level'];
}

export interface RunningMonitor {
  readonly engine: Engine;
  readonly logger: Logger;
  /** Re-read the config file now; returns false (and keeps the old config) when it is invalid. */
  reload(): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Build a logger for a config. The state dir is made private (or refused: UnsafePathError) first:
 * it holds the log, the lock and the state, and nothing may be written there before it is judged.
 */
export function loggerFor(config: MonitorConfig, options: Pick<RunOptions, 'console' | 'logLevel'>): Logger {
  const dir = ensurePrivateDir(stateDir(config.stateDir));
  const logger = createLogger(loggerOptionsFor(config, options));
  if (dir.repairedFrom !== undefined) logger.warn(`state_dir ${dir.path} was readable by others (mode ${octal(dir.repairedFrom)}); it is private now (0700)`);
  return logger;
}

/** The logger settings a config asks for (also applied to the live logger at reload). */
function loggerOptionsFor(config: MonitorConfig, options: Pick<RunOptions, 'console' | 'logLevel'>): LoggerOptions {
  return {
    level: options.logLevel ?? config.log.level,
    format: config.log.format,
    file: config.log.file ?? join(stateDir(config.stateDir), 'monitor.log'),
    maxSizeBytes: config.log.maxSizeBytes,
    maxFiles: config.log.maxFiles,
    gzip: config.log.gzip,
    console: options.console ?? 'stderr',
  };
}

/** The lock file of a config's state dir. */
export const lockPath = (config: MonitorConfig): string => join(stateDir(config.stateDir), 'monitor.lock');

function takeLock(config: MonitorConfig, logger: Logger): HeldLock {
  return acquireLock({
    path: lockPath(config),
    onTakeover: (why, prev) => logger.warn(`took over a stale lock: ${why}`, prev ? { previous_pid: prev.pid, started_at: prev.started_at } : {}),
  });
}

/**
 * Start the monitor for a lifetime. Throws ConfigError (invalid config), UnsafePathError (state
 * dir or log file) or LockHeldError. A start that fails gives back all it took, the lock first
 * of all: the PM2 module retries in this same process, and a lock kept by a failed start would
 * keep it out for good.
 */
export async function startMonitor(options: RunOptions): Promise<RunningMonitor> {
  const config = loadConfig(options.configPath);
  const logger = loggerFor(config, options);
  const undo: (() => unknown)[] = [];
  try {
    const lock = takeLock(config, logger);
    undo.push(() => lock.release());
    return await startLocked(options, config, logger, lock, undo);
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch {
        // give back the rest
      }
    }
    await new Promise<void>((r) => logger.on('finish', r).end());
    throw err;
  }
}

/** The rest of the start, under the lock; every resource taken pushes its undo step. */
async function startLocked(options: RunOptions, config: MonitorConfig, logger: Logger, lock: HeldLock, undo: (() => unknown)[]): Promise<RunningMonitor> {
  const clock = options.clock ?? systemClock;
  const pm2 = await waitForPm2(options.pm2Home, logger);
  undo.push(() => pm2.close());
  const prober = createHttpProber(() => clock.now());
  undo.push(() => prober.close());
  const { engine, notifier, stateDirOf, writer } = openEngine(config, { pm2, prober, clock, logger });
  undo.push(() => notifier.close());
  engine.start();
  undo.push(() => engine.stop());
  const selfReport = scheduleSelfReport(logger);
  undo.push(() => selfReport.cancel());
  const controlFile = controlFilePath(stateDirOf());
  watchFile(controlFile, { interval: 1000 }, () => engine.applyControl(readControl(controlFile, (m) => logger.warn(m))));
  undo.push(() => unwatchFile(controlFile));

  // A reload applies everything a running monitor can change in place: apps, concurrency, the
  // notifier (new targets; the old one delivers what it queued, then closes) and the log (level,
  // format, file: the same Logger object is reconfigured). state_dir holds the lock, state and
  // control files: moving it needs a restart, so a new value is refused with a warning and the
  // rest of the new config applies under the old state_dir.
  let applied = config;
  let refusedDir: string | undefined;
  const applyReload = async (): Promise<boolean> => {
    try {
      const loaded = loadConfig(options.configPath);
      const wanted = stateDir(loaded.stateDir);
      if (wanted !== stateDirOf()) {
        // Once per new value: every later reload would repeat it otherwise.
        if (refusedDir !== wanted) {
          logger.warn(
            `config reload: state_dir cannot change while the monitor runs (its lock, state and control files live there); ` +
              `keeping ${stateDirOf()}, the new value ${wanted} takes effect at the next start; the rest of the config applies`,
            { key: 'state_dir', kept: stateDirOf(), refused: wanted },
          );
        }
        refusedDir = wanted;
      } else refusedDir = undefined;
      const { stateDir: _refused, ...rest } = loaded;
      const next: MonitorConfig = applied.stateDir === undefined ? rest : { ...rest, stateDir: applied.stateDir };
      if (JSON.stringify(next) === JSON.stringify(applied)) return true;
      if (JSON.stringify(next.log) !== JSON.stringify(applied.log)) {
        reconfigureLogger(logger, loggerOptionsFor(next, options));
        logger.info('config reload: log settings applied', { level: options.logLevel ?? next.log.level, format: next.log.format, file: next.log.file ?? join(stateDirOf(), 'monitor.log') });
      }
      if (JSON.stringify(next.notify) !== JSON.stringify(applied.notify)) {
        notifier.replace(createNotifier({ targets: next.notify, logger, clock }));
        logger.info(`config reload: notifying ${next.notify.length} target(s)${next.notify.length ? `: ${next.notify.map((t) => redactUrl(t.url)).join(', ')}` : ''}`);
      }
      await engine.reload(next);
      engine.applyControl(readControl(controlFile));
      applied = next;
      return true;
    } catch (err) {
      logger.error(`config reload rejected, keeping the last good config: ${describeError(err)}`);
      return false;
    }
  };
  // One reload at a time: a file change and a SIGHUP together must not interleave their swaps.
  let reloading: Promise<boolean> = Promise.resolve(true);
  const reload = (): Promise<boolean> => (reloading = reloading.then(applyReload, applyReload));
  watchFile(options.configPath, { interval: 1000 }, (cur, prev) => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) void reload();
  });
  const onHup = (): void => void reload();
  process.on('SIGHUP', onHup);

  return {
    engine,
    logger,
    reload,
    async stop() {
      process.off('SIGHUP', onHup);
      unwatchFile(options.configPath);
      unwatchFile(controlFile);
      selfReport.cancel();
      await engine.stop();
      writer.flush();
      await notifier.close();
      prober.close();
      await pm2.close();
      lock.release();
      logger.info('stopped');
      await new Promise<void>((r) => logger.on('finish', r).end());
    },
  };
}

export interface CheckResult {
  readonly views: readonly WorkerView[];
  readonly healthy: boolean;
  /** The deadline this check ran under, in ms. */
  readonly deadlineMs: number;
  /** Apps still being checked when the deadline passed; empty when the check ended in time. */
  readonly unfinished: readonly string[];
}

export interface CheckOptions extends RunOptions {
  readonly apps?: readonly string[];
  /** Overrides the deadline derived from the config (checkDeadline). */
  readonly deadlineMs?: number;
}

/** How long closing the notifier, PM2 and the log may take before the lock is released anyway. */
const CLOSE_WAIT_MS = 3000;

/**
 * One pass for cron or a systemd timer: every app is probed; a failing app is re-probed up to its
 * failure_threshold (at its interval) before a remedy, exactly as the long-running monitor would.
 * The whole pass has a deadline derived from the config (see deadline.ts): past it, the apps still
 * being checked are logged and returned as unfinished, unhealthy, and the lock is released; the
 * caller should then exit, since their checks may still be running.
 * Throws ConfigError, LockHeldError, or Pm2Error when no daemon answers (a check never spawns one).
 * The lock is released on every path.
 */
export async function runCheck(options: CheckOptions): Promise<CheckResult> {
  const clock = options.clock ?? systemClock;
  const config = loadConfig(options.configPath);
  const unknown = (options.apps ?? []).filter((a) => !config.apps.some((c) => c.name === a));
  if (unknown.length > 0) throw new UsageError(`--app: ${unknown.join(', ')} not in the config ${config.source}`);
  const names = config.apps.map((a) => a.name).filter((n) => !options.apps || options.apps.includes(n));
  const deadlineMs = options.deadlineMs ?? checkDeadline(config, names).ms;
  const logger = loggerFor(config, options);
  const lock = takeLock(config, logger);
  let pm2: Pm2Port | undefined;
  let prober: HttpProber | undefined;
  let notifier: Notifier | undefined;
  let opened: ReturnType<typeof openEngine> | undefined;
  let expired = false;
  let timer: NodeJS.Timeout | undefined;
  const finished = new Set<string>();
  try {
    const pass = (async (): Promise<void> => {
      const api = loadPm2();
      if (!(await pingDaemon(api))) throw new Pm2Error('ping', `no PM2 daemon answers in ${options.pm2Home} (start it with \`pm2 resurrect\`)`);
      const port = await connectPm2({ pm2Home: options.pm2Home, api });
      if (expired) return void port.close().catch(() => undefined);
      pm2 = port;
      prober = createHttpProber(() => clock.now());
      opened = openEngine(config, { pm2, prober, clock, logger });
      notifier = opened.notifier;
      const engine = opened.engine;
      // One promise per app, so the deadline can tell which apps did not finish.
      await Promise.all(names.map((n) => engine.checkOnce([n]).then(() => void finished.add(n))));
      opened.writer.flush();
    })();
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    const done = pass.then(() => 'done' as const);
    done.catch(() => undefined); // a failure after the deadline has no one left to tell
    if ((await Promise.race([done, deadline])) === 'deadline') {
      expired = true;
      const unfinished = names.filter((n) => !finished.has(n));
      logger.error(`check deadline of ${formatDuration(deadlineMs)} passed; unfinished: ${unfinished.join(', ')}`, { deadline_ms: deadlineMs, unfinished });
      opened?.writer.flush();
      const views = (opened?.engine.views() ?? []).filter((v) => names.includes(v.app));
      return { views, healthy: false, deadlineMs, unfinished };
    }
    const views = opened!.engine.views().filter((v) => names.includes(v.app));
    return { views, healthy: views.every((v) => v.state.phase === 'healthy'), deadlineMs, unfinished: [] };
  } finally {
    clearTimeout(timer);
    try {
      await within(CLOSE_WAIT_MS, notifier?.close());
      if (expired) {
        // Checks may still run until the caller exits: their prober and PM2 connection stay open
        // (closing them would turn an in-flight probe into a failure, and a failure into a
        // remedy), and what they log after the end is dropped instead of failing the write.
        logger.on('error', () => undefined);
      } else {
        prober?.close();
        await within(CLOSE_WAIT_MS, pm2?.close());
      }
      await within(CLOSE_WAIT_MS, new Promise<void>((r) => logger.on('finish', r).end()));
    } finally {
      // Last, so that past the deadline the lock is free only once nothing is left to wait for.
      lock.release();
    }
  }
}

/** Wait for `promise` (errors ignored), at most `ms`. */
async function within(ms: number, promise: Promise<unknown> | undefined): Promise<void> {
  if (!promise) return;
  let t: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((r) => (t = setTimeout(r, ms)))]);
  clearTimeout(t);
}

function stateWriter(path: string, views: () => WorkerView[], clock: Clock, logger: Logger): { poke: (urgent: boolean) => void; flush: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  let lastWriteAt = -Infinity;
  let warned = false;
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const doc = toStateDocument(views(), clock.now());
    // Check times and latencies change every tick: alone they do not justify a write (and an
    // fsync) more than once a minute.
    const body = JSON.stringify(doc.apps, (k, v: unknown) => (k === 'last_check_at' || k === 'latency_ms' ? undefined : v));
    if (body === last && clock.now() - lastWriteAt < 60_000) return;
    try {
      writeJsonAtomic(path, redactDeep(doc));
      last = body;
      lastWriteAt = clock.now();
      warned = false;
    } catch (err) {
      if (!warned) logger.warn(`cannot write the state file ${path}: ${describeError(err)}`);
      warned = true;
    }
  };
  return {
    // Remedies and circuit changes are written at once (a kill -9 must not forget an open
    // circuit); routine checks at most once a second.
    poke: (urgent) => {
      if (urgent) flush();
      else timer ??= setTimeout(flush, 1000);
    },
    flush,
  };
}

/**
 * The monitor's own footprint at debug level every 5 minutes (node-schedule, wall-clock cron):
 * a module that grows without bound is PM2 modules' most reported bug, so make it visible.
 */
function scheduleSelfReport(logger: Logger): schedule.Job {
  let last = process.cpuUsage();
  return schedule.scheduleJob('*/5 * * * *', () => {
    const m = process.memoryUsage();
    const cpu = process.cpuUsage(last);
    last = process.cpuUsage();
    const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;
    logger.debug('monitor footprint', { rss_mib: mib(m.rss), heap_used_mib: mib(m.heapUsed), cpu_ms_5m: Math.round((cpu.user + cpu.system) / 1000) });
  });
}

interface OpenDeps {
  readonly pm2: Pm2Port;
  readonly prober: HttpProber;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * The engine with what the last run left (state.json: circuits, counters, history; a corrupt
 * file is kept aside with a warning), the operator's control.json, the notifier and the state
 * writer. Shared by the long run and the one-pass check.
 */
function openEngine(config: MonitorConfig, deps: OpenDeps) {
  const { clock, logger } = deps;
  const dir = stateDir(config.stateDir);
  const statePath = stateFilePath(dir);
  const restored = new Map<string, ReturnType<typeof restoreApp>>();
  const saved = openStateFile(statePath);
  if (saved.warning) logger.warn(saved.warning);
  for (const [name, rec] of Object.entries(saved.apps)) restored.set(name, restoreApp(rec, clock.now()));
  // Switchable: a reload with other webhook targets swaps what the engine's events reach.
  const notifier = switchableNotifier(createNotifier({ targets: config.notify, logger, clock }));
  const host = hostname();
  // Called only once checks run, after `engine` exists.
  const writer = stateWriter(statePath, () => engine.views(), clock, logger);
  const engine = new Engine(config, {
    ...deps,
    restored,
    onChange: writer.poke,
    onEvent: (e) => notifier.notify({ ...e, killed: e.killed ? [...e.killed] : undefined, at: new Date(), host }),
  });
  engine.applyControl(readControl(controlFilePath(dir), (m) => logger.warn(m)));
  return { engine, notifier, writer, stateDirOf: () => dir };
}

/** Wait (with backoff, logging once) until a PM2 daemon answers, then connect. Never spawns one. */
async function waitForPm2(home: string, logger: Logger): Promise<Pm2Port> {
  const api = loadPm2();
  let delay = 500;
  let told = false;
  while (!(await pingDaemon(api))) {
    if (!told) logger.warn(`no PM2 daemon answers in ${home}; waiting for it (start one with \`pm2 resurrect\` or \`pm2 start\`)`);
    told = true;
    await sleep(delay);
    delay = Math.min(delay * 2, 10_000);
  }
  return connectPm2({ pm2Home: home, api });
}
