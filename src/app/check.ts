/**
 * One pass for cron or a systemd timer (`check`): every app is probed; a failing app is re-probed
 * up to its failure_threshold (at its interval) before a remedy, exactly as the long-running
 * monitor would. The whole pass has a deadline derived from the config (engine/deadline.ts):
 * past it, the apps still being checked are logged and returned as unfinished, unhealthy, and the
 * lock is released; the caller should then exit, since their checks may still be running.
 */
import type { Clock } from '../clock.js';
import { formatDuration } from '../config/duration.js';
import { loadConfig } from '../config/load.js';
import { checkDeadline } from '../engine/deadline.js';
import type { WorkerView } from '../engine/view.js';
import { Pm2Error, UsageError } from '../errors.js';
import { DaemonTeller, afterResurrect, dumpKeeper, keepDump, watchDaemon } from './daemon.js';
import type { LogHooks } from './log.js';
import { openNotifier } from './notifier.js';
import { openMonitor } from './open.js';
import { within } from './within.js';

export interface CheckOptions extends LogHooks {
  readonly configPath: string;
  readonly pm2Home: string;
  readonly clock?: Clock;
  /** Only these apps (each must be in the config). */
  readonly apps?: readonly string[];
  /** Overrides the deadline derived from the config (checkDeadline). */
  readonly deadlineMs?: number;
}

export interface CheckResult {
  readonly views: readonly WorkerView[];
  readonly healthy: boolean;
  /** The deadline this check ran under, in ms. */
  readonly deadlineMs: number;
  /** Apps still being checked when the deadline passed; empty when the check ended in time. */
  readonly unfinished: readonly string[];
}

/** How long closing the notifier, PM2 and the log may take before the lock is released anyway. */
const CLOSE_WAIT_MS = 3000;

/**
 * Run the pass. Throws ConfigError, UsageError (an --app not in the config), LockHeldError, or
 * Pm2Error when no daemon answers (a check never spawns one). The lock is released on every path.
 */
export async function runCheck(options: CheckOptions): Promise<CheckResult> {
  const config = loadConfig(options.configPath);
  const unknown = (options.apps ?? []).filter((a) => !config.apps.some((c) => c.name === a));
  if (unknown.length > 0) throw new UsageError(`--app: ${unknown.join(', ')} not in the config ${config.source}`);
  const names = config.apps.map((a) => a.name).filter((n) => !options.apps || options.apps.includes(n));
  const deadlineMs = options.deadlineMs ?? checkDeadline(config, names).ms;
  // What is left of the deadline for the pass itself (an operator's --deadline covers the watchdog too).
  let passMs = deadlineMs;
  const monitor = await openMonitor({
    config, pm2Home: options.pm2Home, lock: { monitor: 'check' }, pm2: 'ping',
    log: { ...(options.console ? { console: options.console } : {}), ...(options.logLevel ? { logLevel: options.logLevel } : {}) },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const { logger } = monitor;
  let expired = false;
  let timer: NodeJS.Timeout | undefined;
  const finished = new Set<string>();
  const inScope = (views: readonly WorkerView[] = []): WorkerView[] => views.filter((v) => names.includes(v.app));
  try {
    // The daemon first, without spawning one: bring it back if it died (supervisor:). Its own
    // steps are bounded; the derived deadline of the pass starts once PM2 answers (a --deadline
    // given by the operator covers it all).
    const watchStarted = performance.now();
    const daemon = await watchDaemon({ pm2Home: options.pm2Home, stateDir: monitor.stateDir, config, logger, role: 'check' });
    const teller = new DaemonTeller(logger, () => monitor.notifier, monitor.stateDir);
    if (daemon.kind === 'hung' || daemon.kind === 'down') {
      const notifier = await openNotifier(config.notify, logger, monitor.clock);
      new DaemonTeller(logger, () => notifier, monitor.stateDir).tell(daemon);
      await within(CLOSE_WAIT_MS, notifier.close());
      throw new Pm2Error('ping', daemon.why);
    }
    if (daemon.kind !== 'resurrected') teller.tell(daemon);
    if (options.deadlineMs !== undefined) passMs = Math.max(1000, Math.round(deadlineMs - (performance.now() - watchStarted)));
    const pass = (async (): Promise<void> => {
      await monitor.connect();
      keepDump(dumpKeeper({ pm2Home: options.pm2Home, stateDir: monitor.stateDir }), logger);
      const engine = await monitor.build();
      // Each app is told as its pass ends, so the deadline can tell which apps did not finish;
      // one call, so the engine orders apps by depends_on.
      const checks = async (): Promise<void> => {
        await engine.checkOnce(names, (n) => finished.add(n));
        // Belt and braces: an alarm no check of this pass took is told so, not left waiting.
        engine.dropAlarms('not checked in this pass');
      };
      // The alarm table is read once first: its alarms are judged by this pass's checks.
      if (monitor.alarms) await monitor.alarms.pollOnce({ whileRaised: checks, ...(options.apps ? { only: new Set(names) } : {}) });
      else await checks();
      monitor.writer?.flush();
      // One story for a daemon brought back: what came of it, after this pass checked the apps.
      if (daemon.kind === 'resurrected') teller.tell(daemon, await afterResurrect(monitor.pm2!, inScope(engine.views())));
    })();
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), passMs);
    });
    const done = pass.then(() => 'done' as const);
    done.catch(() => undefined); // a failure after the deadline has no one left to tell
    if ((await Promise.race([done, deadline])) === 'deadline') {
      expired = true;
      const unfinished = names.filter((n) => !finished.has(n));
      logger.error(`check deadline of ${formatDuration(deadlineMs)} passed; unfinished: ${unfinished.join(', ')}`, { deadline_ms: deadlineMs, unfinished });
      monitor.writer?.flush();
      return { views: inScope(monitor.engine?.views()), healthy: false, deadlineMs, unfinished };
    }
    const views = inScope(monitor.engine?.views());
    return { views, healthy: views.every((v) => v.state.phase === 'healthy'), deadlineMs, unfinished: [] };
  } finally {
    clearTimeout(timer);
    // Last of all the lock is released: past the deadline, only once nothing is left to wait for.
    await monitor.close({ capMs: CLOSE_WAIT_MS, leaveChecks: expired });
  }
}
