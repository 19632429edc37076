/**
 * Life of the PM2 module (`pm2 install helpdesk-monitor`): settings come from PM2's env
 * (`pm2 set helpdesk-monitor:<key>`). A missing or invalid config never crash-loops the module:
 * it says what to do and waits for the file to appear or become valid. Everything it says goes
 * to stdout with the level in the line, as the monitor's log does under PM2 (one stream, read in
 * order by `pm2 logs`); its first line names the command and how to put it on PATH.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { logStatus, startMonitor, type RunningMonitor } from '../app/lifetime.js';
import { sleep } from '../clock.js';
import { CONFIG_ENV, MODULE_NAME, moduleSetting } from '../config/load.js';
import { LOG_LEVEL_ENV, envValue } from '../config/env.js';
import { ConfigError, LockHeldError, describeError } from '../errors.js';
import { textLines, type LineLevel } from '../log/line.js';
import { packageRoot, packageVersion, pm2Home } from '../paths.js';
import { commandPlace, startLine } from './command-path.js';
import { exitOnSignals } from './exit.js';

/** Run as the PM2 module until a signal stops us. */
export async function runModule(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  say('info', introduction());
  const home = pm2Home(env);
  const configPath = moduleSetting(env, home, 'config') ?? env[CONFIG_ENV];
  let monitor: RunningMonitor | undefined;
  let stopped = false;
  exitOnSignals(async () => {
    stopped = true;
    await monitor?.stop();
  });
  // SIGHUP re-reads the config; while no monitor runs the loop below already watches the file.
  process.on('SIGHUP', () => void monitor?.reload());
  process.on('SIGUSR1', () => {
    if (monitor) logStatus(monitor);
  });
  if (!configPath) {
    say('warn', `no config set: run \`pm2 set ${MODULE_NAME}:config /absolute/path/to/monitor.yaml\` (or an ecosystem.config.js with monitor: blocks)`);
    setInterval(() => undefined, 60_000); // stay up quietly; `pm2 set` restarts us with the setting
    return;
  }
  let lastError = '';
  let lastMtime = -1;
  let retryAt = 0;
  while (!stopped && !monitor) {
    const mtime = mtimeOf(configPath);
    if (mtime !== lastMtime || (retryAt > 0 && Date.now() >= retryAt)) {
      retryAt = 0;
      lastMtime = mtime;
      try {
        // HELPDESK_MONITOR_LOG_LEVEL wins: the module setting always has a value (package.json's
        // default "info"), so it could not tell "set by the operator" from "nobody set it".
        const level = envValue(env, LOG_LEVEL_ENV) === undefined ? moduleSetting(env, home, 'log_level') : undefined;
        monitor = await startMonitor({
          role: 'module', configPath, pm2Home: home, console: 'stdout',
          ...(level === 'debug' || level === 'info' || level === 'warn' || level === 'error' ? { logLevel: level } : {}),
        });
        await showInPm2(monitor);
        return;
      } catch (err) {
        // A failed start gave everything back (the lock included), so trying again is safe.
        // A config error waits for the file to change; anything else (another instance holds the
        // lock, a state dir to chmod, a full disk) is fixed outside the config: retry in 10 s.
        const msg = describeError(err);
        if (err instanceof ConfigError) {
          if (msg !== lastError) say('error', `cannot start: ${msg}\nwaiting for ${configPath} to change`);
        } else {
          if (msg !== lastError) {
            if (err instanceof LockHeldError) say('warn', `standing by: ${msg}`);
            else say('error', `cannot start, retrying every 10 s: ${msg}`);
          }
          retryAt = Date.now() + 10_000;
        }
        lastError = msg;
      }
    }
    await sleep(2000);
  }
}

/** Metrics for `pm2 show` and actions for `pm2 trigger` (@pm2/io is loaded here only). Never throws. */
async function showInPm2(monitor: RunningMonitor): Promise<void> {
  try {
    const { startPm2Io } = await import('../app/pm2-io.js');
    startPm2Io(monitor);
  } catch (err) {
    monitor.logger.warn(`no metrics in pm2 show and no pm2 trigger actions: ${describeError(err)}`);
  }
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** A line (or lines) in the monitor log's text form, before the monitor and its log exist. */
function say(level: LineLevel, message: string): void {
  process.stdout.write(textLines(new Date().toISOString(), level, message));
}

/** `helpdesk-monitor <version> started; its command is <path> (put it on PATH: ...)`. */
function introduction(): string {
  const place = commandPlace(packageRoot(), MODULE_NAME);
  let executable = true;
  try {
    accessSync(place.command, constants.X_OK);
  } catch {
    executable = false;
  }
  return startLine(MODULE_NAME, packageVersion() ?? '(unknown version)', place, executable);
}
