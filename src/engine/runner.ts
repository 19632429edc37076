/**
 * Running the monitor for a lifetime (the PM2 module and `helpdesk-monitor run`): load the config,
 * wait for the PM2 daemon without spawning one, start the engine, reload the config when the file
 * changes or on SIGHUP (keeping the last good config when the new one is invalid).
 */
import { unwatchFile, watchFile } from 'node:fs';
import { join } from 'node:path';
import { sleep, systemClock, type Clock } from '../clock.js';
import { loadConfig } from '../config/load.js';
import type { MonitorConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import { createLogger, type Logger } from '../log/logger.js';
import { stateDir } from '../paths.js';
import { connectPm2, pingDaemon, type Pm2Port } from '../pm2/adapter.js';
import { loadPm2 } from '../pm2/load.js';
import { createHttpProber } from '../probes/http.js';
import { Engine } from './engine.js';

export interface RunOptions {
  readonly configPath: string;
  readonly pm2Home: string;
  readonly console?: 'stderr' | 'stdout';
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

/** Build a logger for a config. */
export function loggerFor(config: MonitorConfig, options: Pick<RunOptions, 'console' | 'logLevel'>): Logger {
  return createLogger({
    level: options.logLevel ?? config.log.level,
    format: config.log.format,
    file: config.log.file ?? join(stateDir(config.stateDir), 'monitor.log'),
    maxSizeBytes: config.log.maxSizeBytes,
    maxFiles: config.log.maxFiles,
    console: options.console ?? 'stderr',
  });
}

/** Start the monitor. Throws ConfigError when the config is invalid at start. */
export async function startMonitor(options: RunOptions): Promise<RunningMonitor> {
  const clock = options.clock ?? systemClock;
  const config = loadConfig(options.configPath);
  const logger = loggerFor(config, options);
  const pm2 = await waitForPm2(options.pm2Home, logger);
  const prober = createHttpProber(() => clock.now());
  const engine = new Engine(config, { pm2, prober, clock, logger });
  engine.start();

  let current = JSON.stringify(config);
  const reload = async (): Promise<boolean> => {
    try {
      const next = loadConfig(options.configPath);
      if (JSON.stringify(next) === current) return true;
      await engine.reload(next);
      current = JSON.stringify(next);
      return true;
    } catch (err) {
      logger.error(`config reload rejected, keeping the last good config: ${describeError(err)}`);
      return false;
    }
  };
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
      await engine.stop();
      prober.close();
      await pm2.close();
      await new Promise<void>((r) => logger.on('finish', r).end());
    },
  };
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
