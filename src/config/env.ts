/**
 * `HELPDESK_MONITOR_*` environment overrides of the top-level settings and of the secrets' sources.
 * Precedence: the environment over the config file over the default (a door's own flag, such as
 * `--verbose`, still wins over all three). Applied by the one loader (load.ts), so the module,
 * `run`, `check`, `status` and every other door see the same effective config. An empty variable
 * counts as unset. A bad value is a config error naming the variable, never the file's key.
 *
 * Secrets: a set HELPDESK_MONITOR_DB_PASSWORD, _WEB_TOKEN or _SMTP_PASSWORD becomes the source of
 * that secret, whatever the file names (password_file, token_file, another variable). The value
 * is never read or shown here beyond a length check; the features read it when they need it and
 * take it out of the environment (fsx/secret.ts), so "was it set" is remembered across reloads.
 */
import { isAbsolute } from 'node:path';
import type { ConfigIssue } from '../errors.js';
import { DEFAULT_PASSWORD_ENV } from './alarms.js';
import { DEFAULT_SMTP_PASSWORD_ENV } from './email.js';

export const ENV_PREFIX = 'HELPDESK_MONITOR_';
export const LOG_LEVEL_ENV = 'HELPDESK_MONITOR_LOG_LEVEL';
export const LOG_FORMAT_ENV = 'HELPDESK_MONITOR_LOG_FORMAT';
export const STATE_DIR_ENV = 'HELPDESK_MONITOR_STATE_DIR';
export const CONCURRENCY_ENV = 'HELPDESK_MONITOR_CONCURRENCY';
/** The alarm table's default password variable, and the override of any other source. */
export const DB_PASSWORD_ENV = DEFAULT_PASSWORD_ENV;
export const WEB_TOKEN_ENV = 'HELPDESK_MONITOR_WEB_TOKEN';
export const SMTP_PASSWORD_ENV = DEFAULT_SMTP_PASSWORD_ENV;

/** What the status server's token reader accepts (fsx/secret.ts): checked here, where the variable can be named. */
const MIN_TOKEN_BYTES = 16;

type Parsed = { readonly value: unknown } | { readonly error: string };

interface Setting {
  readonly variable: string;
  /** The name in `sources`. */
  readonly key: string;
  /** Where it sits in the config document. */
  readonly path: readonly string[];
  readonly parse: (raw: string) => Parsed;
}

const quote = (raw: string): string => JSON.stringify(raw.length > 60 ? `${raw.slice(0, 57)}...` : raw);

const oneOf = (values: readonly string[]) => (raw: string): Parsed => {
  const v = raw.trim().toLowerCase();
  return values.includes(v) ? { value: v } : { error: `expected one of ${values.join(', ')}, got ${quote(raw)}` };
};

const wholeNumber = (min: number, max: number) => (raw: string): Parsed => {
  const v = raw.trim();
  const n = Number(v);
  return /^\d+$/.test(v) && n >= min && n <= max ? { value: n } : { error: `expected a whole number ${min}..${max}, got ${quote(raw)}` };
};

const absolutePath = (raw: string): Parsed =>
  isAbsolute(raw) ? { value: raw } : { error: `expected an absolute path (a relative one would depend on where the monitor was started; ~ is not expanded), got ${quote(raw)}` };

/** The top-level settings, in the order of the README's table. */
export const SETTINGS: readonly Setting[] = [
  { variable: LOG_LEVEL_ENV, key: 'log_level', path: ['log', 'level'], parse: oneOf(['error', 'warn', 'info', 'debug']) },
  { variable: LOG_FORMAT_ENV, key: 'log_format', path: ['log', 'format'], parse: oneOf(['text', 'json']) },
  { variable: STATE_DIR_ENV, key: 'state_dir', path: ['state_dir'], parse: absolutePath },
  { variable: CONCURRENCY_ENV, key: 'concurrency', path: ['concurrency'], parse: wholeNumber(1, 64) },
];

/** A variable's value, or undefined when unset or empty. */
export function envValue(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  const v = env[variable];
  return v === undefined || v === '' ? undefined : v;
}

export interface Overridden {
  /** The document with the overrides written in (a copy; the input is not changed). */
  readonly root: unknown;
  readonly sources: Record<string, string>;
  /** Bad values, each under its variable's name. */
  readonly issues: readonly ConfigIssue[];
}

/**
 * Write the set variables into a config document (the root as the schema reads it, after the
 * ecosystem's `monitor:` block is unwrapped) and say where each setting comes from.
 */
export function applyEnvOverrides(root: unknown, env: NodeJS.ProcessEnv): Overridden {
  const sources: Record<string, string> = {};
  const issues: ConfigIssue[] = [];
  let doc: Record<string, unknown> = isRecord(root) ? { ...root } : {};
  for (const s of SETTINGS) {
    const raw = envValue(env, s.variable);
    if (raw === undefined) {
      sources[s.key] = getIn(doc, s.path) === undefined ? 'default' : 'file';
      continue;
    }
    sources[s.key] = `env ${s.variable}`;
    const parsed = s.parse(raw);
    if ('error' in parsed) issues.push({ path: s.variable, message: parsed.error });
    else doc = setIn(doc, s.path, parsed.value);
  }
  return { root: isRecord(root) ? doc : root, sources, issues };
}

type Source = { readonly kind: 'env'; readonly name: string } | { readonly kind: 'file'; readonly path: string };

/** The parts of a config whose secrets the variables may source (structural: no schema import). */
export interface SecretBearing {
  readonly alarms?: { readonly password: Source };
  readonly http?: { readonly token?: Source };
  readonly notify: readonly ({ readonly format: string; readonly smtp?: { readonly user?: string; readonly password?: Source } } | { readonly format: string })[];
}

/** Secret variables seen set, per environment: the features take them out once read. */
const seen = new WeakMap<object, Set<string>>();

function secretSet(env: NodeJS.ProcessEnv, variable: string): boolean {
  let names = seen.get(env);
  if (!names) seen.set(env, (names = new Set()));
  if (envValue(env, variable) !== undefined) names.add(variable);
  return names.has(variable);
}

/**
 * Point each secret at its HELPDESK_MONITOR_* variable when that is set, and say where each
 * secret comes from (only for the features the config uses). Never reads a value beyond the
 * status token's length, which would otherwise fail only when the server starts.
 */
export function applySecretOverrides<C extends SecretBearing>(config: C, env: NodeJS.ProcessEnv): { config: C; sources: Record<string, string>; issues: ConfigIssue[] } {
  const sources: Record<string, string> = {};
  const issues: ConfigIssue[] = [];
  const fromEnv = (name: string): Source => ({ kind: 'env', name });
  let out: C = config;
  if (config.alarms) {
    const set = secretSet(env, DB_PASSWORD_ENV);
    const configured = config.alarms.password;
    // The alarm table's default variable is this same one: set or not, the file then named nothing.
    const named = !(configured.kind === 'env' && configured.name === DB_PASSWORD_ENV);
    sources['db_password'] = set ? `env ${DB_PASSWORD_ENV}` : named ? 'file' : 'default';
    if (set) out = { ...out, alarms: { ...config.alarms, password: fromEnv(DB_PASSWORD_ENV) } };
  }
  if (config.http) {
    const set = secretSet(env, WEB_TOKEN_ENV);
    sources['web_token'] = set ? `env ${WEB_TOKEN_ENV}` : config.http.token ? 'file' : 'default';
    const raw = envValue(env, WEB_TOKEN_ENV);
    if (raw !== undefined && Buffer.byteLength(raw.replace(/\r?\n$/, ''), 'utf8') < MIN_TOKEN_BYTES) {
      // Worded "VAR is ...": "VAR: value" reads as an assignment of a secret, and redaction would hide the words.
      issues.push({ path: WEB_TOKEN_ENV, message: `is ${Buffer.byteLength(raw, 'utf8')} bytes (not shown), fewer than the ${MIN_TOKEN_BYTES} a token needs: make one with \`openssl rand -hex 32\`` });
    }
    if (set) out = { ...out, http: { ...config.http, token: fromEnv(WEB_TOKEN_ENV) } };
  }
  const authed = config.notify.some((n) => 'smtp' in n && n.smtp?.user !== undefined);
  if (authed) {
    const set = secretSet(env, SMTP_PASSWORD_ENV);
    const named = config.notify.some((n) => 'smtp' in n && n.smtp?.password !== undefined && !(n.smtp.password.kind === 'env' && n.smtp.password.name === SMTP_PASSWORD_ENV));
    sources['smtp_password'] = set ? `env ${SMTP_PASSWORD_ENV}` : named ? 'file' : 'default';
    if (set) {
      out = {
        ...out,
        notify: config.notify.map((n) => ('smtp' in n && n.smtp?.user !== undefined ? { ...n, smtp: { ...n.smtp, password: fromEnv(SMTP_PASSWORD_ENV) } } : n)),
      };
    }
  }
  return { config: out, sources, issues };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function getIn(doc: Record<string, unknown>, path: readonly string[]): unknown {
  let at: unknown = doc;
  for (const k of path) at = isRecord(at) ? at[k] : undefined;
  return at;
}

/**
 * A copy of `doc` with `value` at `path`. A non-mapping on the way (`log: 3`) is left as it is:
 * the schema then reports the file's own mistake rather than the override hiding it.
 */
function setIn(doc: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) return doc;
  if (rest.length === 0) return { ...doc, [head]: value };
  const inner = doc[head];
  if (inner !== undefined && !isRecord(inner)) return doc;
  return { ...doc, [head]: setIn(inner ?? {}, rest, value) };
}
