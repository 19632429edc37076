/**
 * winston set up once: human text or JSON lines (schemas/log-line.schema.json), to the console,
 * to a size-rotated file, and to syslog when configured (syslog.ts).
 * The console is stderr for the CLI (stdout stays free for `--json` output), and stdout under
 * PM2 for every level: PM2 keeps a process's stdout and stderr in two files and `pm2 logs`
 * prints one after the other, so lines split by level would be read out of order.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import winston from 'winston';
import type { LogConfig } from '../config/schema.js';
import { APPEND_NOFOLLOW, PRIVATE_FILE_MODE, ensureAppendable } from '../fsx/safe-write.js';
import { redactDeep, redactText } from '../redact.js';
import { jsonRecord, textLine } from './line.js';
import { SyslogTransport, type SyslogOptions, type SyslogReport } from './syslog.js';

export type Logger = winston.Logger;

export interface LoggerOptions {
  readonly level: LogConfig['level'];
  readonly format: LogConfig['format'];
  /** Rotating log file; absent for console only. */
  readonly file?: string;
  readonly maxSizeBytes?: number;
  readonly maxFiles?: number;
  readonly gzip?: boolean;
  /**
   * Console stream: stderr by default; stdout inside PM2, where every level goes there (the level
   * is in the line), so `pm2 logs` shows the story in one file and in order.
   */
  readonly console?: 'stderr' | 'stdout' | 'none';
  /** The console's own level when it shows less than the file (watch: errors only, unless verbose). */
  readonly consoleLevel?: LogConfig['level'];
  /** Also send every line to syslog (RFC 5424). */
  readonly syslog?: SyslogOptions;
}

const text = winston.format.printf((info) => {
  const { level, message, timestamp, app, ...rest } = info as Record<string, unknown>;
  return textLine(String(timestamp), String(level), String(message), app ? String(app) : undefined, rest);
});

/**
 * A JSON line of the versioned schema: `time` (not winston's `timestamp`), `schema`, the fields
 * in a fixed order (line.ts jsonRecord). Serialised by winston's json format, which survives
 * circular and bigint values; `deterministic: false` keeps that order instead of sorting keys.
 */
const jsonShape = winston.format((info) => {
  const src = info as Record<string, unknown>;
  const { level, message: _message, timestamp, ...fields } = src;
  // `logger.error(err)` passes the Error itself: its message and stack are not enumerable.
  const stack = src['stack'];
  const shaped: Record<string | symbol, unknown> = jsonRecord(String(timestamp), String(level), String(src['message'] ?? ''), typeof stack === 'string' ? { ...fields, stack } : fields);
  // winston reads its own symbols (the level to filter by, the line to write) from the info.
  for (const sym of Object.getOwnPropertySymbols(info)) shaped[sym] = (info as Record<symbol, unknown>)[sym];
  return shaped as winston.Logform.TransformableInfo;
});

/**
 * Every line, message and metadata, goes through the one redaction (URL credentials, query
 * values, webhook tokens, configured header values) before any transport sees it.
 */
const redact = winston.format((info) => {
  const fields = info as Record<string, unknown>;
  // `logger.error(err)` passes the Error itself: its message and stack are not enumerable.
  for (const key of new Set([...Object.keys(fields), 'message', 'stack'])) {
    if (key === 'level' || !(key in fields)) continue;
    fields[key] = key === 'message' && typeof fields[key] === 'string' ? redactText(fields[key]) : redactDeep(fields[key]);
  }
  return info;
});

/** Create the logger. */
export function createLogger(options: LoggerOptions): Logger {
  const logger: Logger = winston.createLogger(loggerOptions(options, (level, message) => logger.log(level, message)));
  return logger;
}

/**
 * Apply new options to a live logger (a config reload): the same object, so everything holding
 * it follows; the old transports are closed (a file transport ends its stream) and new ones opened.
 */
export function reconfigureLogger(logger: Logger, options: LoggerOptions): void {
  logger.configure(loggerOptions(options, (level, message) => logger.log(level, message)));
}

/** Stop showing lines on the console; the file keeps them (a shutdown whose errors are expected). */
export function silenceConsole(logger: Logger): void {
  for (const t of logger.transports) if (t instanceof winston.transports.Console) t.silent = true;
}

function loggerOptions(options: LoggerOptions, report: SyslogReport): winston.LoggerOptions {
  const format = winston.format.combine(
    redact(),
    winston.format.timestamp(),
    options.format === 'json' ? winston.format.combine(jsonShape(), winston.format.json({ deterministic: false })) : text,
  );
  const transports: winston.transport[] = [];
  if ((options.console ?? 'stderr') !== 'none') {
    transports.push(
      new winston.transports.Console({
        ...(options.consoleLevel ? { level: options.consoleLevel } : {}),
        stderrLevels: options.console === 'stdout' ? [] : ['error', 'warn', 'info', 'debug'],
      }),
    );
  }
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
    // winston opens the file by name: make sure that name is a private regular file of ours
    // (UnsafePathError for a link), and have winston open it, and every rotated successor,
    // without following a link and 0600 (its default would be 0644).
    ensureAppendable(options.file);
    transports.push(
      new winston.transports.File({
        filename: options.file,
        options: { flags: APPEND_NOFOLLOW, mode: PRIVATE_FILE_MODE },
        maxsize: options.maxSizeBytes ?? 10 * 1024 * 1024,
        maxFiles: options.maxFiles ?? 5,
        tailable: true,
        zippedArchive: options.gzip ?? false,
      }),
    );
  }
  // Its own trouble is logged through the logger (and so to syslog too, once it works again).
  if (options.syslog) transports.push(new SyslogTransport(options.syslog, options.format, report));
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  return { level: options.level, format, transports };
}
