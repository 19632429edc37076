/**
 * One `helpdesk-monitor watch` run: take a lock per watched command, create the log files, start
 * each command as a PM2 app (spawning a daemon if none runs, like `pm2 start`), then run the
 * ordinary Engine in the foreground with the log rule, telling the story on stdout. Stopping
 * deletes exactly the PM2 apps this run started (PM2 stops them: SIGTERM via the stop shim, 5 s,
 * SIGKILL) and releases the locks. Any failure while starting undoes what was done.
 */
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openMonitor, type Monitor } from '../app/open.js';
import { within } from '../app/within.js';
import type { Clock } from '../clock.js';
import { HelpdeskError, LockHeldError, describeError } from '../errors.js';
import type { Pm2Port } from '../pm2/adapter.js';
import { STOP_GRACE_MS, pm2AppFor, toWatchMonitorConfig, type WatchSpec } from './config.js';
import { Story } from './story.js';

export interface WatchOptions {
  readonly specs: readonly WatchSpec[];
  readonly pm2Home: string;
  /** Where the commands run (the current directory). */
  readonly cwd: string;
  /** The config file, or a description of the command line, for the engine's log. */
  readonly source: string;
  /** Names this run's log file under the watch dir. */
  readonly runId: string;
  /** Writes one story line (stdout). */
  readonly write: (line: string) => void;
  /** Engine log lines on stderr at debug level (else errors only; everything goes to the file). */
  readonly verbose?: boolean;
  readonly clock?: Clock;
}

export interface WatchSession {
  /** `$PM2_HOME/helpdesk-monitor/watch`. */
  readonly dir: string;
  /** Stop watching, delete the PM2 apps this run started, release the locks. Idempotent. */
  stop(): Promise<void>;
}

/** The watch command's own state dir: beside the main monitor's, never its lock. */
export function watchDir(pm2Home: string): string {
  return join(pm2Home, 'helpdesk-monitor', 'watch');
}

/** A watched command could not be started (exit 1). */
export class WatchStartError extends HelpdeskError {
  override readonly name = 'WatchStartError';
}

/** Start watching. Throws LockHeldError (exit 3), WatchStartError or a PM2 error (exit 1). */
export async function startWatch(options: WatchOptions): Promise<WatchSession> {
  const { specs, pm2Home, cwd } = options;
  const dir = watchDir(pm2Home);
  const verbose = options.verbose === true;
  const monitor = await openMonitor({
    config: toWatchMonitorConfig(specs, options.source, dir),
    pm2Home, pm2: 'spawn', persist: false,
    ...(options.clock ? { clock: options.clock } : {}),
    // The engine's log: everything to the run's file; errors (or all, with --verbose) to stderr.
    log: {
      options: {
        level: verbose ? 'debug' : 'info', format: 'text', file: join(dir, `${options.runId}.log`),
        maxSizeBytes: 5 * 1024 * 1024, maxFiles: 3, console: 'stderr', consoleLevel: verbose ? 'debug' : 'error',
      },
    },
    // One lock per watched command (its PM2 app), so two runs never fight over one app.
    lock: {
      apps: specs.map((s) => ({ path: join(dir, `${s.pm2Name}.lock`), name: s.pm2Name })),
      role: 'watch',
      held: (lock, err) => {
        const spec = specs.find((s) => s.pm2Name === lock.name);
        return new LockHeldError(`${spec?.name ?? lock.name} (PM2 app ${lock.name}) is already watched: ${err.message}`, err.holderPid);
      },
    },
  });
  const story = new Story(specs, { write: options.write, pidOf: async (name) => (await monitor.pm2?.list())?.find((p) => p.name === name && p.pid > 0)?.pid });
  const started = new Map<string, number>(); // PM2 name -> pm_id
  let removal: Promise<void> | undefined;
  // Runs before the engine is awaited: a remedy in progress must not outlive the apps.
  const removeApps = (): Promise<void> => (removal ??= monitor.pm2 ? deleteApps(monitor.pm2, started, story) : Promise.resolve());
  let unsubscribe: (() => void) | undefined;
  try {
    for (const spec of specs) story.tell(spec.pm2Name, `watching: ${spec.command}`);
    for (const spec of specs) {
      const size = ensureLogFile(spec.logFile);
      story.tell(spec.pm2Name, `log file ${spec.logFile} (${size === undefined ? 'created' : `${size} bytes`}), timeout ${spec.timeoutS} s, check every ${spec.intervalS} s`);
    }

    // Like `pm2 start`: connecting spawns a daemon when none answers.
    const port = await monitor.connect();
    await removeLeftovers(port, specs, story);
    for (const spec of specs) {
      try {
        await port.start(pm2AppFor(spec, cwd));
      } catch (err) {
        throw new WatchStartError(`cannot start ${spec.name} through PM2: ${describeError(err)}`);
      }
      const info = (await port.list()).find((p) => p.name === spec.pm2Name);
      if (!info) throw new WatchStartError(`PM2 does not list ${spec.pm2Name} after starting it`);
      started.set(spec.pm2Name, info.pmId);
      story.started(spec.pm2Name, info.pid > 0 ? info.pid : undefined);
      if (info.outLog) story.tell(spec.pm2Name, `the command's own output goes to PM2's log ${info.outLog}`);
    }

    await monitor.build({
      // PM2 restarts a watched command that exits (autorestart), as the original's monitor
      // restarted a dead process: counting the exit as a crash would restart it a second time.
      // The engine still acts when PM2 gives up (errored, restart overlimit); silence is its job.
      ignoreExits: true,
      onObservation: (app, obs) => story.observation(app, obs),
      onEvent: (e) => story.event(e),
      onRemedy: (r) => story.remedyDone(r.app),
    });
    unsubscribe = port.onProcessEvent((e) => story.processEvent(e));
    monitor.start();
  } catch (err) {
    unsubscribe?.();
    await monitor.stopEngine();
    await giveBack(monitor, removeApps, story);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    dir,
    stop() {
      stopping ??= (async () => {
        story.closingDown();
        monitor.silenceConsole(); // a remedy cut short by the shutdown is no error worth showing
        story.say(`stopping ${specs.length === 1 ? 'the watched command' : `${specs.length} watched commands`} (SIGTERM, SIGKILL after ${STOP_GRACE_MS / 1000} s)`);
        unsubscribe?.();
        // No new checks from here; a check (or remedy) in progress ends while the apps are deleted.
        const engineStopped = monitor.stopEngine();
        await removeApps();
        await within(ENGINE_WAIT_MS, engineStopped);
        await giveBack(monitor, removeApps, story);
      })();
      return stopping;
    },
  };
}

/** How long the engine's last check may run on once the apps are deleted. */
const ENGINE_WAIT_MS = 3000;

/**
 * Undo a start, or end a run: the apps this run started are deleted, the story's last lines
 * (which may look up a pid in PM2) are told, then the monitor closes PM2, the log and the locks.
 */
async function giveBack(monitor: Monitor, removeApps: () => Promise<void>, story: Story): Promise<void> {
  await removeApps().catch(() => undefined);
  await story.flush().catch(() => undefined);
  await monitor.close({ capMs: ENGINE_WAIT_MS, engineWaitMs: 0 });
}

/** Create the log file and its folders when missing; its size when it existed. */
function ensureLogFile(file: string): number | undefined {
  try {
    const size = statSync(file).size;
    return size;
  } catch {
    // create it below
  }
  try {
    mkdirSync(dirname(file), { recursive: true });
    closeSync(openSync(file, 'a'));
  } catch (err) {
    throw new WatchStartError(`cannot create the log file ${file}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`);
  }
  return undefined;
}

/**
 * An app of ours left by a run that could not clean up (kill -9): we hold its lock now, so
 * nobody else watches it. Delete it, so the command and directory are this run's.
 */
async function removeLeftovers(pm2: Pm2Port, specs: readonly WatchSpec[], story: Story): Promise<void> {
  const names = new Set(specs.map((s) => s.pm2Name));
  for (const p of await pm2.list()) {
    if (!names.has(p.name) || p.isModule) continue;
    story.tell(p.name, `replacing the PM2 app ${p.name} (pm_id ${p.pmId}) left by an earlier watch`);
    await pm2.act('delete', p.pmId);
  }
}

/** Delete exactly the apps this run started (by pm_id, and only while the name still matches). */
async function deleteApps(pm2: Pm2Port, started: ReadonlyMap<string, number>, story: Story): Promise<void> {
  if (started.size === 0) return;
  const list = await pm2.list();
  await Promise.all(
    [...started].map(async ([name, pmId]) => {
      if (!list.some((p) => p.pmId === pmId && p.name === name)) return story.tell(name, 'already gone from PM2');
      try {
        await pm2.act('delete', pmId);
        story.tell(name, 'stopped and removed from PM2');
      } catch (err) {
        story.tell(name, `could not remove it from PM2: ${describeError(err)} (pm2 delete ${name})`);
      }
    }),
  );
}
