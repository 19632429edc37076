/**
 * The config schema (zod): snake_case keys as users write them, transformed once into the typed,
 * camelCase objects the rest of the code sees. Unknown keys are errors.
 */
import { z } from 'zod';
import { parseDuration, parseSize } from './duration.js';

export type KillScope = 'app' | 'user' | 'any';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface HealthConfig {
  /** HTTP(S) URL probed each interval; absent means PM2 status only. */
  readonly url?: string;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  /** Consecutive failed checks before a remedy. */
  readonly failureThreshold: number;
  readonly expectStatus: readonly number[];
  readonly maxBodyBytes: number;
  readonly followRedirects: boolean;
}

export interface AppConfig {
  readonly name: string;
  readonly health: HealthConfig;
  /** Failures this soon after a start do not count. */
  readonly startupGraceMs: number;
  readonly ports: readonly number[];
  readonly killScope: KillScope;
  /** Time between SIGTERM and SIGKILL when freeing a port. */
  readonly killGraceMs: number;
  /** How long a remedy waits for online + healthy before calling it failed. */
  readonly verifyTimeoutMs: number;
}

export interface LogConfig {
  readonly level: LogLevel;
  readonly format: 'text' | 'json';
  /** Log file; absent means `<state_dir>/monitor.log`. */
  readonly file?: string;
  readonly maxSizeBytes: number;
  readonly maxFiles: number;
}

export interface MonitorConfig {
  /** The file this config came from (absolute). */
  readonly source: string;
  /** Absent means `$PM2_HOME/helpdesk-monitor`. */
  readonly stateDir?: string;
  readonly log: LogConfig;
  /** Probes in flight at once across all apps. */
  readonly concurrency: number;
  readonly apps: readonly AppConfig[];
}

const DURATION_HINT = 'expected a duration: seconds as a number, or a string like 500ms, 5s, 2m, 1h';

const duration = z.union([z.number(), z.string()], { error: DURATION_HINT }).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: DURATION_HINT });
    return z.NEVER;
  }
  return ms;
});
const positiveDuration = duration.refine((ms) => ms > 0, 'expected a duration greater than zero');

const SIZE_HINT = 'expected a size: bytes as a number, or a string like 512k, 10MB';
const size = z.union([z.number(), z.string()], { error: SIZE_HINT }).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: SIZE_HINT });
    return z.NEVER;
  }
  return bytes;
});

const port = z.number().int().min(1).max(65535);
const httpStatus = z.number().int().min(100).max(599);

const healthSchema = z.strictObject({
  url: z
    .string()
    .refine((s) => /^https?:\/\/[^/\s]+/.test(s) && URL.canParse(s), 'expected an http:// or https:// URL')
    .optional(),
  timeout: positiveDuration.default(2000),
  interval: positiveDuration.default(5000),
  failure_threshold: z.number().int().min(1).max(100).default(3),
  expect_status: z.union([httpStatus, z.array(httpStatus).min(1)]).default(200),
  max_body: size.default(64 * 1024),
  follow_redirects: z.boolean().default(false),
});

export const appSchema = z.strictObject({
  name: z.string({ error: 'expected string (the PM2 app name)' }).min(1, 'expected the PM2 app name'),
  health: healthSchema.prefault({}),
  startup_grace: duration.default(10_000),
  ports: z.array(port).default([]),
  kill_scope: z.enum(['app', 'user', 'any']).default('app'),
  kill_grace: duration.default(2000),
  verify_timeout: positiveDuration.default(30_000),
});

const logSchema = z.strictObject({
  level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  format: z.enum(['text', 'json']).default('text'),
  file: z.string().min(1).optional(),
  max_size: size.default(10 * 1024 * 1024),
  max_files: z.number().int().min(1).max(100).default(5),
});

export const rootSchema = z
  .strictObject({
    state_dir: z.string().min(1).optional(),
    log: logSchema.prefault({}),
    concurrency: z.number().int().min(1).max(64).default(8),
    apps: z.array(appSchema).min(1, 'expected at least one app'),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.apps.forEach((app, i) => {
      if (seen.has(app.name)) ctx.addIssue({ code: 'custom', path: ['apps', i, 'name'], input: app.name, message: `duplicate app name "${app.name}"` });
      seen.add(app.name);
    });
  });

export type RawRoot = z.output<typeof rootSchema>;

/** Map the validated snake_case tree onto the typed config. */
export function toMonitorConfig(raw: RawRoot, source: string): MonitorConfig {
  return {
    source,
    ...(raw.state_dir === undefined ? {} : { stateDir: raw.state_dir }),
    concurrency: raw.concurrency,
    log: {
      level: raw.log.level,
      format: raw.log.format,
      ...(raw.log.file === undefined ? {} : { file: raw.log.file }),
      maxSizeBytes: raw.log.max_size,
      maxFiles: raw.log.max_files,
    },
    apps: raw.apps.map(toAppConfig),
  };
}

/** Map one validated app entry onto the typed app config. */
export function toAppConfig(a: z.output<typeof appSchema>): AppConfig {
  return {
    name: a.name,
    health: {
      ...(a.health.url === undefined ? {} : { url: a.health.url }),
      timeoutMs: a.health.timeout,
      intervalMs: a.health.interval,
      failureThreshold: a.health.failure_threshold,
      expectStatus: Array.isArray(a.health.expect_status) ? a.health.expect_status : [a.health.expect_status],
      maxBodyBytes: a.health.max_body,
      followRedirects: a.health.follow_redirects,
    },
    startupGraceMs: a.startup_grace,
    ports: a.ports,
    killScope: a.kill_scope,
    killGraceMs: a.kill_grace,
    verifyTimeoutMs: a.verify_timeout,
  };
}

/** The config of an app nobody configured: PM2 status only, no ports, default policy. */
export function defaultAppConfig(name: string): AppConfig {
  return toAppConfig(appSchema.parse({ name }));
}

/** Every key name the schema knows, for "did you mean" suggestions. */
export const KNOWN_KEYS: readonly string[] = [
  ...Object.keys(healthSchema.shape),
  ...Object.keys(appSchema.shape),
  ...Object.keys(logSchema.shape),
  'state_dir', 'log', 'concurrency', 'apps', 'monitor',
];
