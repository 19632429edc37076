/**
 * The config schema (zod): snake_case keys as users write them, transformed once into the typed,
 * camelCase objects the rest of the code sees. Unknown keys are errors.
 */
import { z } from 'zod';
import { parsePort } from '../text/port.js';
import { ALARM_KEYS, alarmsSchema, toAlarmsConfig, type AlarmsConfig } from './alarms.js';
import { UPDATE_KEYS, toUpdateConfig, toWebhookConfig, updateSchema, webhookSchema, type UpdateConfig, type WebhookConfig } from './update.js';
import { HTTP_KEYS, httpSchema, toHttpConfig, type HttpConfig } from './http.js';
import { SYSLOG_KEYS, syslogSchema, toSyslogConfig, type SyslogConfig } from './syslog.js';
import { RULE_KEYS, cpuSchema, dependencyIssues, dependsOnSchema, logMatchList, toCpuRule, toLogMatch, type CpuRuleConfig, type LogMatchConfig } from './rules.js';
import { SCHEDULE_KEYS, scheduleSchema, toScheduleConfig, type ScheduleConfig } from './schedule.js';
import { SUPERVISOR_KEYS, DEFAULT_SUPERVISOR, supervisorSchema, toSupervisorConfig, type SupervisorConfig } from './supervisor.js';
import { EMAIL_KEYS, emailEntrySchema, toEmailTargetConfig, type EmailTargetConfig } from './email.js';
import { MAX_BODY_BYTES, MAX_PROBE_MS, MAX_TIMER_MS, formatDuration, parseDuration, parseSize } from './duration.js';

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

export type RestartStrategyName = 'pm2' | 'service' | 'process' | 'auto';
export type NotifyEventType =
  | 'remedy_started' | 'remedy_succeeded' | 'remedy_failed' | 'remedy_skipped'
  | 'circuit_opened' | 'circuit_half_open' | 'circuit_closed'
  | 'update_applied' | 'update_rolled_back' | 'update_refused' | 'update_failed'
  | 'log_matched'
  | 'daemon_resurrected' | 'daemon_hung' | 'daemon_down';

/** When to restart and when to stop trying (the circuit breaker). */
export interface PolicyConfig {
  /** Consecutive good checks before a failing app counts as healthy again. */
  readonly successThreshold: number;
  /** Base delay between restart attempts and between failed remedies. */
  readonly restartDelayMs: number;
  readonly backoffFactor: number;
  readonly backoffMaxMs: number;
  /** 0..1: the delay is varied by up to this fraction, so many apps do not retry in step. */
  readonly backoffJitter: number;
  /** Restart attempts within one remedy. */
  readonly maxAttempts: number;
  /** Failed remedies within failureWindowMs that open the circuit. */
  readonly maxRestartFailures: number;
  readonly failureWindowMs: number;
  /** Open -> half-open after this long. */
  readonly circuitResetMs: number;
}

export interface CommandConfig {
  readonly command: string;
  readonly timeoutMs: number;
}

export interface ProcessStrategyConfig {
  readonly command: string;
  readonly cwd?: string;
  readonly pidfile?: string;
  readonly pattern?: string;
  readonly logFile?: string;
  readonly stopGraceMs: number;
}

/** Restart when the log file stops growing (the original monitor_mutex rule). */
export interface LogInactivityConfig {
  /** Absent: the app's PM2 out log. */
  readonly file?: string;
  readonly timeoutMs: number;
}

/** Restart when memory stays above a limit for several checks in a row (not a single spike). */
export interface MemoryRuleConfig {
  readonly maxBytes: number;
  readonly forChecks: number;
  readonly includeChildren: boolean;
}

export interface AppConfig {
  readonly name: string;
  readonly health: HealthConfig;
  readonly logInactivity?: LogInactivityConfig;
  readonly memory?: MemoryRuleConfig;
  /** Log-line rules (rules.ts). */
  readonly logMatch?: readonly LogMatchConfig[];
  readonly cpu?: CpuRuleConfig;
  /** Apps this one needs: its remedies wait while one of them is unhealthy or being remedied. */
  readonly dependsOn?: readonly string[];
  /** Extra probes: all must pass. */
  readonly tcp?: { readonly host: string; readonly port: number };
  readonly healthCheckCommand?: CommandConfig;
  readonly preRestartCommand?: CommandConfig;
  readonly policy: PolicyConfig;
  readonly strategy: RestartStrategyName;
  readonly serviceUnit: string;
  readonly process?: ProcessStrategyConfig;
  /** Failures this soon after a start do not count. */
  readonly startupGraceMs: number;
  readonly ports: readonly number[];
  readonly killScope: KillScope;
  /** Time between SIGTERM and SIGKILL when freeing a port. */
  readonly killGraceMs: number;
  /** How long a remedy waits for online + healthy before calling it failed. */
  readonly verifyTimeoutMs: number;
  /** Git auto-update with a health gate (absent: none). */
  readonly update?: UpdateConfig;
  /** How the monitor backs up PM2's cron_restart (absent: DEFAULT_SCHEDULE). */
  readonly schedule?: ScheduleConfig;
}

export interface LogConfig {
  readonly level: LogLevel;
  readonly format: 'text' | 'json';
  /** Log file; absent means `<state_dir>/monitor.log`. */
  readonly file?: string;
  readonly maxSizeBytes: number;
  readonly maxFiles: number;
  /** gzip rotated files. */
  readonly gzip: boolean;
  /** Also send every line to syslog (RFC 5424); absent: no syslog. */
  readonly syslog?: SyslogConfig;
}

/** A webhook (`url:`) or an email entry (`format: email`). */
export type NotifyTargetConfig = WebhookTargetConfig | EmailNotifyConfig;

export interface EmailNotifyConfig extends EmailTargetConfig {
  /** Empty: every event. */
  readonly events: readonly NotifyEventType[];
}

export interface WebhookTargetConfig {
  readonly url: string;
  readonly format: 'json' | 'slack' | 'discord';
  /** Empty: every event. */
  readonly events: readonly NotifyEventType[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export interface MonitorConfig {
  /** The file this config came from (absolute). */
  readonly source: string;
  /** Absent means `$PM2_HOME/helpdesk-monitor`. */
  readonly stateDir?: string;
  readonly log: LogConfig;
  /** Probes in flight at once across all apps. */
  readonly concurrency: number;
  /** How often PM2's full process list corrects the table the bus keeps (reconcile_interval). */
  readonly reconcileMs: number;
  readonly notify: readonly NotifyTargetConfig[];
  /** The alarm table trigger (absent: none). */
  readonly alarms?: AlarmsConfig;
  /** The push webhook that triggers update checks (absent: none). */
  readonly updateWebhook?: WebhookConfig;
  /** The monitor's HTTP server: metrics, status page, /api/status (absent: none). */
  readonly http?: HttpConfig;
  /** What check and run do when the PM2 daemon is dead or hung. */
  readonly supervisor: SupervisorConfig;
  readonly apps: readonly AppConfig[];
  /** Where each top-level setting came from: `env VAR`, `file` or `default` (env.ts); absent when not loaded from a file. */
  readonly sources?: Readonly<Record<string, string>>;
}

const DURATION_HINT = 'expected a duration: seconds as a number, or a string like 500ms, 5s, 2m, 1h';

/**
 * A number or a string read by `parse` (durations, sizes), at most `max`: `hint` is the message
 * for what does not parse, `limit` the one for a larger value (it names the limit).
 */
function boundedValue(parse: (v: number | string) => number | undefined, hint: string, max: number, limit: string) {
  return z.union([z.number(), z.string()], { error: hint }).transform((v, ctx) => {
    const n = parse(v);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: hint });
      return z.NEVER;
    }
    if (n > max) {
      ctx.addIssue({ code: 'custom', message: limit });
      return z.NEVER;
    }
    return n;
  });
}
const durationUpTo = (maxMs: number, limit: string) => boundedValue(parseDuration, DURATION_HINT, maxMs, limit);
const POSITIVE = 'expected a duration greater than zero';
const duration = durationUpTo(
  MAX_TIMER_MS,
  `expected a duration of at most ${formatDuration(MAX_TIMER_MS)} (${MAX_TIMER_MS} ms, the longest a timer can wait)`,
);
const positiveDuration = duration.refine((ms) => ms > 0, POSITIVE);
const probeTimeout = durationUpTo(MAX_PROBE_MS, `expected a probe timeout of at most ${formatDuration(MAX_PROBE_MS)}`).refine((ms) => ms > 0, POSITIVE);
const probeInterval = durationUpTo(MAX_PROBE_MS, `expected an interval of at most ${formatDuration(MAX_PROBE_MS)}`).refine((ms) => ms > 0, POSITIVE);

const SIZE_HINT = 'expected a size: bytes as a number, or a string like 512k, 10MB';
const sizeUpTo = (maxBytes: number, limit: string) => boundedValue(parseSize, SIZE_HINT, maxBytes, limit);
const size = sizeUpTo(Number.MAX_SAFE_INTEGER, SIZE_HINT);
const bodySize = sizeUpTo(MAX_BODY_BYTES, `expected at most 16MiB (${MAX_BODY_BYTES} bytes): the body is held in memory`);

const port = z.number().int().min(1).max(65535);
const validPort = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;
const PORT_HINT = 'expected a port: an integer 1-65535, or a string of digits like "8080"';
/** One port as people write it in YAML or JSON: 8080 or "8080" (not "0x50", "080" or " 80"). */
const portOf = (v: unknown): number | undefined =>
  typeof v === 'number' ? (validPort(v) ? v : undefined) : typeof v === 'string' ? parsePort(v) : undefined;
/**
 * `ports:` as one port (8080, "8080") or a list of them; always a list once parsed. A bad entry
 * of a list is reported at its own index.
 */
const portList = z.unknown().transform((v, ctx): number[] => {
  const list = Array.isArray(v) ? (v as unknown[]) : [v];
  const out: number[] = [];
  list.forEach((item, i) => {
    const n = portOf(item);
    if (n === undefined) ctx.addIssue({ code: 'custom', message: Array.isArray(v) ? PORT_HINT : `${PORT_HINT}, or a list of them`, input: item, ...(Array.isArray(v) ? { path: [i] } : {}) });
    else out.push(n);
  });
  return out;
});
const httpStatus = z.number().int().min(100).max(599);

const healthSchema = z.strictObject({
  url: z
    .string()
    .refine((s) => /^https?:\/\/[^/\s]+/.test(s) && URL.canParse(s), 'expected an http:// or https:// URL')
    .optional(),
  timeout: probeTimeout.default(2000),
  /** Default: the app's check_interval (the original name), else 5s; applied in toAppConfig. */
  interval: probeInterval.optional(),
  failure_threshold: z.number().int().min(1).max(100).default(3),
  expect_status: z.union([httpStatus, z.array(httpStatus).min(1)]).default(200),
  max_body: bodySize.default(64 * 1024),
  follow_redirects: z.boolean().default(false),
  /** A TCP connect probe: a port, or "host:port". */
  tcp: z
    .union(
      [port, z.string().refine((v) => parsePort(v) !== undefined || (/^[\w.-]+:\d{1,5}$/.test(v) && validPort(Number(v.slice(v.lastIndexOf(':') + 1)))), 'expected a port or "host:port" (port 1-65535)')],
      { error: 'expected a port or "host:port"' },
    )
    .optional(),
});

const command = z.string().min(1, 'expected a shell command');
const NOTIFY_EVENTS = [
  'remedy_started', 'remedy_succeeded', 'remedy_failed', 'remedy_skipped', 'circuit_opened', 'circuit_half_open', 'circuit_closed',
  'update_applied', 'update_rolled_back', 'update_refused', 'update_failed', 'log_matched',
  'daemon_resurrected', 'daemon_hung', 'daemon_down',
] as const;

const backoffSchema = z.strictObject({
  factor: z.number().min(1).max(10).default(2),
  max: positiveDuration.default(300_000),
  jitter: z.number().min(0).max(1).default(0.1),
});

const processSchema = z.strictObject({
  command,
  cwd: z.string().min(1).optional(),
  pidfile: z.string().min(1).optional(),
  pattern: z.string().min(3, 'expected a pattern of at least 3 characters (it selects processes to stop)').optional(),
  log_file: z.string().min(1).optional(),
  stop_grace: duration.default(5000),
});

const logInactivitySchema = z.strictObject({
  file: z.string().min(1).optional(),
  timeout: z.union([z.number(), z.string()], { error: DURATION_HINT }).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined || ms < 1000 || ms > 3_600_000) {
      ctx.addIssue({ code: 'custom', message: 'expected a timeout from 1s to 1h (seconds as a number, or 30s, 5m)' });
      return z.NEVER;
    }
    return ms;
  }),
});

const memorySchema = z.strictObject({
  max_memory: size.refine((b) => b >= 1024 * 1024, 'expected at least 1MB'),
  for: z.number().int().min(1).max(1000).default(3),
  include_children: z.boolean().default(false),
});

export const appSchema = z.strictObject({
  name: z.string({ error: 'expected string (the PM2 app name)' }).min(1, 'expected the PM2 app name'),
  health: healthSchema.prefault({}),
  startup_grace: duration.default(10_000),
  ports: portList.default([]),
  kill_scope: z.enum(['app', 'user', 'any']).default('app'),
  kill_grace: duration.default(2000),
  verify_timeout: positiveDuration.default(30_000),
  log_inactivity: logInactivitySchema.optional(),
  memory: memorySchema.optional(),
  log_match: logMatchList.optional(),
  cpu: cpuSchema.optional(),
  depends_on: dependsOnSchema.optional(),
  /** The original monitor's name for health.interval. */
  check_interval: probeInterval.optional(),
  // The policy; the names are the original monitor's.
  success_threshold: z.number().int().min(1).max(100).default(1),
  restart_delay: duration.default(5000),
  backoff: backoffSchema.prefault({}),
  max_attempts: z.number().int().min(1).max(10).default(1),
  max_restart_failures: z.number().int().min(1).max(100).default(3),
  failure_window: positiveDuration.default(600_000),
  circuit_reset_time: positiveDuration.default(1_800_000),
  health_check_command: command.optional(),
  health_check_timeout: probeTimeout.default(10_000),
  pre_restart_command: command.optional(),
  pre_restart_timeout: positiveDuration.default(30_000),
  restart_strategy: z.enum(['pm2', 'service', 'process', 'auto']).default('pm2'),
  service: z.string().min(1).optional(),
  process: processSchema.optional(),
  update: updateSchema.optional(),
  schedule: scheduleSchema.optional(),
});

const notifyEvents = z.array(z.enum(NOTIFY_EVENTS)).default([]);
const notifySchema = z.strictObject({
  url: z.string().refine((u) => /^https?:\/\//.test(u) && URL.canParse(u), 'expected an http:// or https:// URL'),
  format: z.enum(['json', 'slack', 'discord']).default('json'),
  events: notifyEvents,
  headers: z.record(z.string(), z.string()).optional(),
  timeout: positiveDuration.default(5000),
});
const emailSchema = emailEntrySchema(notifyEvents);
/**
 * `format: email` picks the email keys, anything else is a webhook: each entry's errors then name
 * the keys of its own kind (a union would report both kinds' complaints at once).
 */
const notifyEntry = z.unknown().transform((v, ctx) => {
  const isEmail = typeof v === 'object' && v !== null && (v as Record<string, unknown>)['format'] === 'email';
  const parsed = isEmail ? emailSchema.safeParse(v, { reportInput: true }) : notifySchema.safeParse(v, { reportInput: true });
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue(issue as unknown as z.core.$ZodRawIssue);
  return z.NEVER;
});

const logSchema = z.strictObject({
  level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  format: z.enum(['text', 'json']).default('text'),
  file: z.string().min(1).optional(),
  max_size: size.default(10 * 1024 * 1024),
  max_files: z.number().int().min(1).max(100).default(5),
  gzip: z.boolean().default(false),
  syslog: syslogSchema.optional(),
});

export const rootSchema = z
  .strictObject({
    state_dir: z.string().min(1).optional(),
    log: logSchema.prefault({}),
    concurrency: z.number().int().min(1).max(64).default(8),
    reconcile_interval: durationUpTo(3_600_000, 'expected a reconcile interval of at most 1h').refine((ms) => ms >= 1000, 'expected a reconcile interval of at least 1s').default(30_000),
    /** Validated on their own (errors under `defaults.`), then merged into every app by load.ts. */
    defaults: z.record(z.string(), z.unknown()).optional(),
    notify: z.array(notifyEntry).default([]),
    alarms: alarmsSchema.optional(),
    update_webhook: webhookSchema.optional(),
    http: httpSchema.optional(),
    supervisor: supervisorSchema.optional(),
    apps: z.array(appSchema).min(1, 'expected at least one app'),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.apps.forEach((app, i) => {
      if (seen.has(app.name)) ctx.addIssue({ code: 'custom', path: ['apps', i, 'name'], input: app.name, message: `duplicate app name "${app.name}"` });
      seen.add(app.name);
      if (app.restart_strategy === 'process' && !app.process) {
        ctx.addIssue({ code: 'custom', path: ['apps', i, 'process'], input: undefined, message: 'restart_strategy process needs a process: block with at least `command`' });
      }
    });
    for (const i of dependencyIssues(cfg.apps)) ctx.addIssue({ code: 'custom', path: ['apps', i.index, 'depends_on', i.entry], input: i.value, message: i.message });
    // An alarm is remedied through an app's worker: a map to no app would only ever warn.
    for (const [name, app] of Object.entries(cfg.alarms?.map ?? {})) {
      if (!seen.has(app)) ctx.addIssue({ code: 'custom', path: ['alarms', 'map', name], input: app, message: `expected the name of an app under apps: (${[...seen].join(', ')})` });
    }
  });

/** The per-app keys that may appear under `defaults:` (everything but the name). */
export const defaultsSchema = appSchema.omit({ name: true }).partial();

export type RawRoot = z.output<typeof rootSchema>;

/** Map the validated snake_case tree onto the typed config. */
export function toMonitorConfig(raw: RawRoot, source: string): MonitorConfig {
  return {
    source,
    ...(raw.state_dir === undefined ? {} : { stateDir: raw.state_dir }),
    concurrency: raw.concurrency,
    reconcileMs: raw.reconcile_interval,
    notify: raw.notify.map((n): NotifyTargetConfig => n.format === 'email' ? { ...toEmailTargetConfig(n), events: n.events } : {
      url: n.url, format: n.format, events: n.events, timeoutMs: n.timeout, ...(n.headers ? { headers: n.headers } : {}),
    }),
    log: {
      level: raw.log.level,
      format: raw.log.format,
      ...(raw.log.file === undefined ? {} : { file: raw.log.file }),
      maxSizeBytes: raw.log.max_size,
      maxFiles: raw.log.max_files,
      gzip: raw.log.gzip,
      ...(raw.log.syslog ? { syslog: toSyslogConfig(raw.log.syslog) } : {}),
    },
    ...(raw.alarms ? { alarms: toAlarmsConfig(raw.alarms) } : {}),
    ...(raw.update_webhook ? { updateWebhook: toWebhookConfig(raw.update_webhook) } : {}),
    ...(raw.http ? { http: toHttpConfig(raw.http) } : {}),
    supervisor: raw.supervisor ? toSupervisorConfig(raw.supervisor) : DEFAULT_SUPERVISOR,
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
      intervalMs: a.health.interval ?? a.check_interval ?? 5000,
      failureThreshold: a.health.failure_threshold,
      expectStatus: Array.isArray(a.health.expect_status) ? a.health.expect_status : [a.health.expect_status],
      maxBodyBytes: a.health.max_body,
      followRedirects: a.health.follow_redirects,
    },
    ...(a.health.tcp === undefined ? {} : { tcp: parseTcp(a.health.tcp) }),
    ...(a.log_inactivity ? { logInactivity: { timeoutMs: a.log_inactivity.timeout, ...(a.log_inactivity.file ? { file: a.log_inactivity.file } : {}) } } : {}),
    ...(a.memory ? { memory: { maxBytes: a.memory.max_memory, forChecks: a.memory.for, includeChildren: a.memory.include_children } } : {}),
    ...(a.log_match ? { logMatch: a.log_match.map(toLogMatch) } : {}),
    ...(a.cpu ? { cpu: toCpuRule(a.cpu) } : {}),
    ...(a.depends_on && a.depends_on.length > 0 ? { dependsOn: a.depends_on } : {}),
    ...(a.health_check_command ? { healthCheckCommand: { command: a.health_check_command, timeoutMs: a.health_check_timeout } } : {}),
    ...(a.pre_restart_command ? { preRestartCommand: { command: a.pre_restart_command, timeoutMs: a.pre_restart_timeout } } : {}),
    policy: {
      successThreshold: a.success_threshold,
      restartDelayMs: a.restart_delay,
      backoffFactor: a.backoff.factor,
      backoffMaxMs: a.backoff.max,
      backoffJitter: a.backoff.jitter,
      maxAttempts: a.max_attempts,
      maxRestartFailures: a.max_restart_failures,
      failureWindowMs: a.failure_window,
      circuitResetMs: a.circuit_reset_time,
    },
    strategy: a.restart_strategy,
    serviceUnit: a.service ?? a.name,
    ...(a.process
      ? {
          process: {
            command: a.process.command,
            stopGraceMs: a.process.stop_grace,
            ...(a.process.cwd ? { cwd: a.process.cwd } : {}),
            ...(a.process.pidfile ? { pidfile: a.process.pidfile } : {}),
            ...(a.process.pattern ? { pattern: a.process.pattern } : {}),
            ...(a.process.log_file ? { logFile: a.process.log_file } : {}),
          },
        }
      : {}),
    startupGraceMs: a.startup_grace,
    ports: a.ports,
    killScope: a.kill_scope,
    killGraceMs: a.kill_grace,
    verifyTimeoutMs: a.verify_timeout,
    ...(a.update ? { update: toUpdateConfig(a.update, a.startup_grace + a.health.failure_threshold * (a.health.interval ?? a.check_interval ?? 5000)) } : {}),
    ...(a.schedule ? { schedule: toScheduleConfig(a.schedule) } : {}),
  };
}

function parseTcp(v: number | string): { host: string; port: number } {
  if (typeof v === 'number') return { host: '127.0.0.1', port: v };
  const bare = parsePort(v);
  if (bare !== undefined) return { host: '127.0.0.1', port: bare };
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i), port: Number(v.slice(i + 1)) };
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
  ...Object.keys(backoffSchema.shape),
  ...Object.keys(processSchema.shape),
  ...Object.keys(notifySchema.shape),
  ...Object.keys(logInactivitySchema.shape),
  ...Object.keys(memorySchema.shape),
  ...ALARM_KEYS,
  ...UPDATE_KEYS,
  ...HTTP_KEYS,
  ...SYSLOG_KEYS,
  ...RULE_KEYS,
  ...SCHEDULE_KEYS,
  ...EMAIL_KEYS,
  ...SUPERVISOR_KEYS,
  'state_dir', 'log', 'concurrency', 'alarms', 'reconcile_interval', 'apps', 'monitor', 'defaults', 'notify', 'check_interval', 'supervisor',
];
