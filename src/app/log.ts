/**
 * The monitor's log, built through src/log/logger.ts: from the config (the module, `run`,
 * `check`), with the door's console target and level, or from settings a door gives whole
 * (`watch`: its run's own file). The state dir is made private (or refused: UnsafePathError)
 * before anything is written there: it holds the log, the lock and the state.
 */
import { join } from 'node:path';
import type { MonitorConfig } from '../config/schema.js';
import { ensurePrivateDir, octal } from '../fsx/private-dir.js';
import { createLogger, type Logger, type LoggerOptions } from '../log/logger.js';
import { stateDir } from '../paths.js';

/** What a door says about the config's log. */
export interface LogHooks {
  /** The console stream (default stderr; the module writes to stdout, `check --json` to none). */
  readonly console?: 'stderr' | 'stdout' | 'none';
  /** Overrides the config's log level (`--verbose`). */
  readonly logLevel?: MonitorConfig['log']['level'];
}

/** The config's log, or a log the door describes in full. */
export type LogPlan = LogHooks | { readonly options: LoggerOptions };

/** Open the log a plan asks for. */
export function openLog(config: MonitorConfig, plan: LogPlan): Logger {
  if ('options' in plan) return createLogger(plan.options);
  const dir = ensurePrivateDir(stateDir(config.stateDir));
  const logger = createLogger(logOptionsFor(config, plan));
  if (dir.repairedFrom !== undefined) logger.warn(`state_dir ${dir.path} was readable by others (mode ${octal(dir.repairedFrom)}); it is private now (0700)`);
  return logger;
}

/** The logger settings a config asks for (also applied to the live logger at reload). */
export function logOptionsFor(config: MonitorConfig, hooks: LogHooks): LoggerOptions {
  return {
    level: hooks.logLevel ?? config.log.level,
    format: config.log.format,
    file: logFileOf(config),
    maxSizeBytes: config.log.maxSizeBytes,
    maxFiles: config.log.maxFiles,
    gzip: config.log.gzip,
    ...(config.log.syslog ? { syslog: config.log.syslog } : {}),
    console: hooks.console ?? 'stderr',
  };
}

/** The log file: the configured one, else monitor.log in the state dir. */
export const logFileOf = (config: MonitorConfig): string => config.log.file ?? join(stateDir(config.stateDir), 'monitor.log');

/** End the log (its file written out); at most `capMs` when given. */
export function endLog(logger: Logger, capMs?: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = capMs === undefined ? undefined : setTimeout(resolve, capMs);
    logger.on('finish', () => {
      clearTimeout(t);
      resolve();
    });
    logger.end();
  });
}
