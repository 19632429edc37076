/**
 * monitor_mutex's two ways of saying what to watch, parsed into typed specs: the single form
 * (`"<command>" <log_file> [timeout] [interval]`) and its YAML file (`processes:` with name,
 * command, log_file, timeout, interval). Defaults 60 s and 5 s; timeout 1-3600 s, interval
 * 1-300 s, whole seconds, as the original. Each spec then becomes an ordinary AppConfig (built
 * through the schema, so the engine's defaults stay in one place) and a PM2 app definition.
 */
import { createHash } from 'node:crypto';
import { basename, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { appSchema, rootSchema, toAppConfig, toMonitorConfig, type AppConfig, type MonitorConfig } from '../config/schema.js';
import { readConfigText, syntaxMessage } from '../config/file.js';
import { closest } from '../config/suggest.js';
import { ConfigError, UsageError, type ConfigIssue } from '../errors.js';

export const DEFAULT_TIMEOUT_S = 60;
export const DEFAULT_INTERVAL_S = 5;
export const TIMEOUT_RANGE = { min: 1, max: 3600 } as const;
export const INTERVAL_RANGE = { min: 1, max: 300 } as const;
/** PM2 app names of watched commands start with this. */
export const PM2_PREFIX = 'watch-';
/** The original's stop sequence: SIGTERM, this long, then SIGKILL. */
export const STOP_GRACE_MS = 5000;

/** One watched command, as the original knew it. */
export interface WatchSpec {
  /** The process name (YAML `name`, or derived from the command in the single form). */
  readonly name: string;
  /** The PM2 app name: `watch-<name>` (characters PM2 and file names dislike become `-`). */
  readonly pm2Name: string;
  readonly command: string;
  /** Absolute path (a relative one is taken from the current directory, like the commands). */
  readonly logFile: string;
  readonly timeoutS: number;
  readonly intervalS: number;
}

const KEYS = ['name', 'command', 'log_file', 'timeout', 'interval'] as const;

type Checked = { ok: true; value: number } | { ok: false; message: string };

/**
 * A whole number of seconds within `range`: a YAML integer or a string of digits. Absent (or
 * YAML null) means the default.
 */
export function checkSeconds(key: 'timeout' | 'interval', raw: unknown): Checked {
  const range = key === 'timeout' ? TIMEOUT_RANGE : INTERVAL_RANGE;
  const fallback = key === 'timeout' ? DEFAULT_TIMEOUT_S : DEFAULT_INTERVAL_S;
  if (raw === undefined || raw === null) return { ok: true, value: fallback };
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && /^\s*[+-]?\d+\s*$/.test(raw)) n = Number(raw.trim());
  else n = Number.NaN;
  if (!Number.isInteger(n)) {
    return { ok: false, message: `${key} ${render(raw)} is not a whole number of seconds (expected ${range.min}-${range.max})` };
  }
  if (n < range.min || n > range.max) return { ok: false, message: `${key} ${n} is out of range ${range.min}-${range.max}` };
  return { ok: true, value: n };
}

/** The PM2 app name for a process name. */
export function pm2NameFor(name: string): string {
  return PM2_PREFIX + name.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/**
 * A stable name for a command given on the command line: its program's name and a short hash
 * of the whole command (`sh -c 'echo hi'` -> `sh-5b1a0c`), so the same command always maps to
 * the same PM2 app (and lock), and two different commands never collide.
 */
export function nameForCommand(command: string): string {
  const words = command.trim().split(/\s+/).filter((w) => !/^\w+=/.test(w)); // skip VAR=value
  const program = basename((words[0] ?? 'cmd').replace(/^['"]|['"]$/g, '')).replace(/[^A-Za-z0-9._-]+/g, '') || 'cmd';
  return `${program.slice(0, 24)}-${createHash('sha1').update(command).digest('hex').slice(0, 6)}`;
}

/**
 * The single form: `"<command>" <log_file> [timeout] [interval]`. Throws UsageError (exit 2)
 * naming what is wrong.
 */
export function parseWatchArgs(positionals: readonly string[], cwd: string, name?: string): WatchSpec {
  const [command, logFile, timeout, interval, ...extra] = positionals;
  if (command === undefined || logFile === undefined) {
    throw new UsageError('watch needs "<command>" <log_file> [timeout] [interval], or --config FILE');
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument(s) after the interval: ${extra.join(' ')} (quote the command as one argument)`);
  if (command.trim() === '') throw new UsageError('the command is empty');
  if (logFile.trim() === '') throw new UsageError('the log file path is empty');
  if (name !== undefined && name.trim() === '') throw new UsageError('--name is empty');
  const t = checkSeconds('timeout', timeout);
  if (!t.ok) throw new UsageError(t.message);
  const i = checkSeconds('interval', interval);
  if (!i.ok) throw new UsageError(i.message);
  const n = name ?? nameForCommand(command);
  return { name: n, pm2Name: pm2NameFor(n), command, logFile: absolute(logFile, cwd), timeoutS: t.value, intervalS: i.value };
}

/** Read and parse the original YAML file. Throws ConfigError (exit 2) listing every problem. */
export function loadWatchConfig(file: string, cwd: string): WatchSpec[] {
  const path = resolve(cwd, file);
  return parseWatchYaml(readConfigText(path, 'create it or pass the command, log and timeout as arguments'), path, cwd);
}

/** Parse the text of a monitor_mutex YAML file (`processes:`). Throws ConfigError. */
export function parseWatchYaml(text: string, file: string, cwd: string): WatchSpec[] {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: syntaxMessage('YAML', err) }]);
  }
  if (!isRecord(doc)) {
    throw new ConfigError(file, [{ path: '', message: 'expected a mapping with a `processes:` list (monitor_mutex format)' }]);
  }
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(doc)) {
    if (key === 'processes') continue;
    const hint = closest(key, ['processes']);
    issues.push({ path: key, message: `unknown key${hint ? `; did you mean "${hint}"?` : ' (the file has one key, `processes:`)'}` });
  }
  const list = doc['processes'];
  if (!Array.isArray(list) || list.length === 0) {
    issues.push({ path: 'processes', message: 'expected a list of at least one process (name, command, log_file, timeout, interval)', ...(list === undefined ? {} : { value: render(list) }) });
    throw new ConfigError(file, issues);
  }
  const specs: WatchSpec[] = [];
  const byPm2Name = new Map<string, number>();
  list.forEach((entry: unknown, i) => {
    const where = (name?: string): string => `processes[${i}]${name ? ` (${name})` : ''}`;
    if (!isRecord(entry)) {
      issues.push({ path: where(), message: 'expected a mapping with name, command, log_file, timeout, interval', value: render(entry) });
      return;
    }
    const name = nonEmptyString(typeof entry['name'] === 'number' ? String(entry['name']) : entry['name']);
    const at = where(name);
    const before = issues.length;
    for (const key of Object.keys(entry)) {
      if ((KEYS as readonly string[]).includes(key)) continue;
      const hint = closest(key, KEYS);
      issues.push({ path: at, message: `unknown key "${key}"${hint ? `; did you mean "${hint}"?` : ` (expected ${KEYS.join(', ')})`}` });
    }
    if (name === undefined) issues.push({ path: at, message: 'name is required (a non-empty string)', ...(entry['name'] === undefined ? {} : { value: render(entry['name']) }) });
    const command = nonEmptyString(entry['command']);
    if (command === undefined) issues.push({ path: at, message: 'command is required (a shell command, run by sh -c)', ...(entry['command'] === undefined ? {} : { value: render(entry['command']) }) });
    const logFile = nonEmptyString(entry['log_file']);
    if (logFile === undefined) issues.push({ path: at, message: 'log_file is required (a file path)', ...(entry['log_file'] === undefined ? {} : { value: render(entry['log_file']) }) });
    const timeout = checkSeconds('timeout', entry['timeout']);
    if (!timeout.ok) issues.push({ path: at, message: timeout.message });
    const interval = checkSeconds('interval', entry['interval']);
    if (!interval.ok) issues.push({ path: at, message: interval.message });
    if (issues.length > before || !name || !command || !logFile || !timeout.ok || !interval.ok) return;
    const pm2Name = pm2NameFor(name);
    const first = byPm2Name.get(pm2Name);
    if (first !== undefined) {
      issues.push({ path: at, message: `the name "${name}" is already used by processes[${first}] (PM2 app ${pm2Name})` });
      return;
    }
    byPm2Name.set(pm2Name, i);
    specs.push({ name, pm2Name, command, logFile: absolute(logFile, cwd), timeoutS: timeout.value, intervalS: interval.value });
  });
  if (issues.length > 0) throw new ConfigError(file, issues);
  return specs;
}

/** The engine's view of a watched command: the log rule, checked every interval, restarted through PM2. */
export function toWatchAppConfig(spec: WatchSpec): AppConfig {
  return toAppConfig(appSchema.parse(rawApp(spec)));
}

/** The whole config the engine runs with (state under the watch dir, never the main monitor's). */
export function toWatchMonitorConfig(specs: readonly WatchSpec[], source: string, stateDir: string): MonitorConfig {
  return toMonitorConfig(rootSchema.parse({ state_dir: stateDir, apps: specs.map(rawApp) }), source);
}

function rawApp(spec: WatchSpec): Record<string, unknown> {
  return {
    name: spec.pm2Name,
    health: { interval: spec.intervalS, failure_threshold: 1 },
    startup_grace: 0,
    log_inactivity: { file: spec.logFile, timeout: spec.timeoutS },
    restart_strategy: 'pm2',
  };
}

/**
 * The shell that PM2 runs for a watched command. PM2 stops apps with its daemon-wide kill signal
 * (SIGINT unless the daemon was started with PM2_KILL_SIGNAL), sent to the whole process tree,
 * and has no per-app signal option. The original sent SIGTERM. So the command runs as a
 * background job of this shell, which makes it (and everything it starts) ignore SIGINT; when
 * PM2's signal reaches this shell it sends SIGTERM to its process group (PM2 starts every app in
 * its own group), then waits. PM2 sends SIGKILL to whatever is left after kill_timeout (5 s).
 * Programs that reset their signal dispositions at start (node) still end on SIGINT.
 */
export const STOP_SHIM = [
  `trap 'trap "" INT TERM; kill -TERM 0 2>/dev/null' INT TERM`,
  '/bin/sh -c "$1" &',
  'pid=$!',
  'wait "$pid"; code=$?',
  'while kill -0 "$pid" 2>/dev/null; do wait "$pid"; code=$?; done',
  'exit "$code"',
].join('\n');

/** How PM2 runs a watched command: through sh -c in the current directory, restarted when it exits. */
export function pm2AppFor(spec: WatchSpec, cwd: string): Record<string, unknown> {
  return {
    name: spec.pm2Name,
    script: '/bin/sh',
    args: ['-c', STOP_SHIM, 'helpdesk-monitor-watch', spec.command],
    interpreter: 'none',
    cwd,
    kill_timeout: STOP_GRACE_MS,
    treekill: true,
    autorestart: true,
    vizion: false,
  };
}

/** A short id for a run's log file: the single command's app, or the config file's name and path. */
export function runIdFor(specs: readonly WatchSpec[], configFile?: string): string {
  if (!configFile) return specs[0]?.pm2Name ?? 'watch';
  const stem = basename(configFile, extname(configFile)).replace(/[^A-Za-z0-9._-]+/g, '-');
  return `config-${stem}-${createHash('sha1').update(resolve(configFile)).digest('hex').slice(0, 6)}`;
}

function absolute(p: string, cwd: string): string {
  return isAbsolute(p) ? resolve(p) : resolve(cwd, p);
}

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function render(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
