/**
 * Life of the PM2 module (`pm2 install helpdesk-monitor`): settings come from PM2's env
 * (`pm2 set helpdesk-monitor:<key>`). A missing or invalid config never crash-loops the module:
 * it says what to do and waits for the file to appear or become valid.
 */
import { statSync } from 'node:fs';
import { sleep } from '../clock.js';
import { CONFIG_ENV, MODULE_NAME, moduleSetting } from '../config/load.js';
import { startMonitor, type RunningMonitor } from '../engine/runner.js';
import { LockHeldError, describeError } from '../errors.js';
import { pm2Home } from '../paths.js';
import { exitOnSignals } from './exit.js';

/** Run as the PM2 module until a signal stops us. */
export async function runModule(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const home = pm2Home(env);
  const configPath = moduleSetting(env, home, 'config') ?? env[CONFIG_ENV];
  let monitor: RunningMonitor | undefined;
  let stopped = false;
  exitOnSignals(async () => {
    stopped = true;
    await monitor?.stop();
  });
  if (!configPath) {
    say(`no config set: run \`pm2 set ${MODULE_NAME}:config /absolute/path/to/monitor.yaml\` (or an ecosystem.config.js with monitor: blocks)`);
    setInterval(() => undefined, 60_000); // stay up quietly; `pm2 set` restarts us with the setting
    return;
  }
  let lastError = '';
  let lastMtime = -1;
  while (!stopped && !monitor) {
    const mtime = mtimeOf(configPath);
    if (mtime !== lastMtime) {
      lastMtime = mtime;
      try {
        const level = moduleSetting(env, home, 'log_level');
        monitor = await startMonitor({
          configPath, pm2Home: home, console: 'stdout',
          ...(level === 'debug' || level === 'info' || level === 'warn' || level === 'error' ? { logLevel: level } : {}),
        });
        return;
      } catch (err) {
        const msg = describeError(err);
        if (err instanceof LockHeldError) {
          if (msg !== lastError) say(`standing by: ${msg}`);
          lastMtime = -1; // retry while the other instance holds the lock
        } else if (msg !== lastError) {
          say(`cannot start: ${msg}\nwaiting for ${configPath} to change`);
        }
        lastError = msg;
      }
    }
    await sleep(lastError.includes('holds the lock') ? 10_000 : 2000);
  }
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function say(message: string): void {
  process.stdout.write(`${new Date().toISOString()} error helpdesk-monitor ${message}\n`);
}
