/**
 * Finding and loading the config file: YAML, JSON, or a PM2 ecosystem file whose app entries
 * carry a `monitor:` block. Parsed once into a MonitorConfig; every failure is a ConfigError
 * naming the file, the key path, the bad value and what was expected.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { redactConfigValue, redactText, rememberConfigSecrets } from '../redact.js';
import { readConfigText, syntaxMessage } from './file.js';
import { STATE_DIR_ENV, applyEnvOverrides, applySecretOverrides, envValue } from './env.js';
import { closest } from './suggest.js';
import { cronError } from './cron.js';
import { KNOWN_KEYS, defaultsSchema, rootSchema, toMonitorConfig, type MonitorConfig } from './schema.js';

export const MODULE_NAME = 'helpdesk-monitor';
export const CONFIG_ENV = 'HELPDESK_MONITOR_CONFIG';

export interface ConfigLocation {
  readonly path: string;
  /** Where the path came from, for messages: `--config`, the env var or the module setting. */
  readonly origin: string;
}

/**
 * Find the config file: `--config`, else HELPDESK_MONITOR_CONFIG, else the module setting
 * (`pm2 set helpdesk-monitor:config FILE`, seen in env inside PM2 or in module_conf.json outside).
 */
export function locateConfig(flag: string | undefined, env: NodeJS.ProcessEnv, pm2Home: string): ConfigLocation {
  if (flag) return { path: resolve(flag), origin: '--config' };
  if (env[CONFIG_ENV]) return { path: resolve(env[CONFIG_ENV]), origin: CONFIG_ENV };
  const fromModule = moduleSetting(env, pm2Home, 'config');
  if (fromModule) return { path: resolve(fromModule), origin: `pm2 set ${MODULE_NAME}:config` };
  const message = `no config file given: pass --config FILE, set ${CONFIG_ENV}=FILE, or run \`pm2 set ${MODULE_NAME}:config FILE\``;
  throw new ConfigError('(none)', [{ path: '', message }], message);
}

/** A module setting: PM2 passes them as a JSON env var to the module; outside PM2 read module_conf.json. */
export function moduleSetting(env: NodeJS.ProcessEnv, pm2Home: string, key: string): string | undefined {
  const fromEnv = parseJsonObject(env[MODULE_NAME]);
  const value = fromEnv?.[key] ?? readModuleConf(pm2Home)?.[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function readModuleConf(pm2Home: string): Record<string, unknown> | undefined {
  try {
    const all = parseJsonObject(readFileSync(resolve(pm2Home, 'module_conf.json'), 'utf8'));
    const mine = all?.[MODULE_NAME];
    return typeof mine === 'object' && mine !== null ? (mine as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function parseJsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Read, parse and validate a config file. Throws ConfigError, whose text never holds a secret
 * (values are quoted redacted; see redact.ts). A loaded config's secrets are remembered for
 * every later redaction.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): MonitorConfig {
  try {
    const config = parseConfigFile(file, env);
    rememberConfigSecrets(config);
    return config;
  } catch (err) {
    // Parsers quote the text they choke on: the last word on anything a config error prints.
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(
      err.file,
      err.issues.map((i) => ({ ...i, message: redactText(i.message), ...(i.value === undefined ? {} : { value: redactText(i.value) }) })),
      err.headline === undefined ? undefined : redactText(err.headline),
    );
  }
}

function parseConfigFile(file: string, env: NodeJS.ProcessEnv): MonitorConfig {
  const path = resolve(file);
  const document = readDocument(path);
  const { root, mapPath } = normalise(document, path);
  rejectPrototypeKeys(root, path, mapPath);
  const merged = applyDefaults(root, path, mapPath);
  // HELPDESK_MONITOR_* variables win over the file (env.ts); a bad one is named, not the file's key.
  const overridden = applyEnvOverrides(merged, env);
  if (overridden.issues.length > 0) throw envError(path, overridden.issues);
  const parsed = rootSchema.safeParse(overridden.root, { reportInput: true });
  if (!parsed.success) throw new ConfigError(path, parsed.error.issues.flatMap((i) => toIssues(i, mapPath)));
  const secrets = applySecretOverrides(toMonitorConfig(parsed.data, path), env);
  if (secrets.issues.length > 0) throw envError(path, secrets.issues);
  return { ...secrets.config, sources: { ...overridden.sources, ...secrets.sources } };
}

function envError(path: string, issues: readonly ConfigIssue[]): ConfigError {
  // A secret's issue reads "VAR is ..." (env.ts): a colon after a secret's name would be redacted as an assignment.
  const lines = issues.map((i) => `  - ${i.path}${i.message.startsWith('is ') ? ' ' : ': '}${i.message}`).join('\n');
  return new ConfigError(path, issues, `invalid environment override for config ${path}:\n${lines}`);
}

function readDocument(path: string): unknown {
  const ext = extname(path).toLowerCase();
  if (ext === '.js' || ext === '.cjs' || ext === '.mjs') {
    try {
      const req = createRequire(path);
      delete req.cache[path]; // a reload must see the edited file
      const mod: unknown = req(path);
      const obj = mod as { default?: unknown; apps?: unknown };
      return obj.apps === undefined && obj.default !== undefined ? obj.default : obj;
    } catch (err) {
      throw new ConfigError(path, [{ path: '', message: `cannot load the ecosystem file: ${(err as Error).message}` }]);
    }
  }
  const text = readConfigText(path);
  try {
    return ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    // V8 quotes a cut of the text (`Unexpected token '}', ..."oken=abc}" is not valid JSON`): a
    // cut token no longer looks like a URL to the redaction, so the quote is left out. YAML's
    // message quotes whole lines, which the redaction sees as they are.
    if (ext === '.json') throw new ConfigError(path, [{ path: '', message: `not valid JSON: ${(err as Error).message.split('\n')[0]?.replace(/, .*is not valid JSON$/, '')}` }]);
    throw new ConfigError(path, [{ path: '', message: syntaxMessage('YAML', err) }]);
  }
}

/**
 * The state_dir a config file names (or HELPDESK_MONITOR_STATE_DIR, which wins), read without
 * validating anything else: `status` shows the last saved state from the right place even while
 * the file is invalid. Undefined when the file cannot be read or names none.
 */
export function stateDirHint(file: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = envValue(env, STATE_DIR_ENV);
  if (fromEnv !== undefined) return fromEnv;
  try {
    const doc = readDocument(resolve(file));
    if (!isRecord(doc)) return undefined;
    const named = doc['state_dir'] ?? (isRecord(doc['monitor']) ? doc['monitor']['state_dir'] : undefined);
    return typeof named === 'string' && named !== '' ? named : undefined;
  } catch {
    return undefined;
  }
}

/** yaml is loaded on first use: JSON and ecosystem configs never pay for it. */
function parseYaml(text: string): unknown {
  const YAML = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return YAML.parse(text, { prettyErrors: true });
}

type PathMapper = (path: readonly PropertyKey[]) => readonly PropertyKey[];

/**
 * Turn an ecosystem document into our root shape: apps with a `monitor:` block become monitored
 * apps (ports default to the entry's `port`/env.PORT); a top-level `monitor:` holds global keys.
 * Errors are reported against the ecosystem's own key paths.
 */
function normalise(doc: unknown, path: string): { root: unknown; mapPath: PathMapper } {
  const identity: PathMapper = (p) => p;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigError(path, [{ path: '', message: 'expected a mapping with an `apps` list', value: render(redactConfigValue([], doc)) }]);
  }
  const d = doc as Record<string, unknown>;
  const apps = Array.isArray(d['apps']) ? (d['apps'] as unknown[]) : undefined;
  const isEcosystem = /\.(c|m)?js$/i.test(path) || (apps?.some((a) => isRecord(a) && 'script' in a) ?? false);
  if (!isEcosystem || !apps) return { root: doc, mapPath: identity };

  const origIndex: number[] = [];
  const monitored = apps.flatMap((entry, i) => {
    if (!isRecord(entry) || !isRecord(entry['monitor'])) return [];
    origIndex.push(i);
    const block = { ...entry['monitor'] };
    const env = isRecord(entry['env']) ? entry['env'] : {};
    const port = Number(entry['port'] ?? env['PORT']);
    if (block['ports'] === undefined && Number.isInteger(port) && port > 0) block['ports'] = [port];
    cronIssue(entry['cron_restart'], i, path);
    return [{ name: entry['name'], ...block }];
  });
  const global = isRecord(d['monitor']) ? d['monitor'] : {};
  const mapPath: PathMapper = (p) => {
    if (p[0] !== 'apps' || typeof p[1] !== 'number') return p[0] === 'apps' ? p : ['monitor', ...p];
    const i = origIndex[p[1]] ?? p[1];
    return p[2] === 'name' ? ['apps', i, 'name'] : ['apps', i, 'monitor', ...p.slice(2)];
  };
  return { root: { ...global, apps: monitored }, mapPath };
}

/**
 * A monitored ecosystem entry's `cron_restart` is a schedule the monitor backs up: one it cannot
 * read is refused here (PM2 would refuse it at `pm2 start` too), not found at the first tick.
 * `0` is PM2's "no cron".
 */
function cronIssue(expr: unknown, index: number, path: string): void {
  if (expr === undefined || expr === 0 || expr === '0' || expr === false) return;
  const why = typeof expr === 'string' ? cronError(expr) : 'expected a cron expression as a string';
  if (why === undefined) return;
  throw new ConfigError(path, [{ path: formatPath(['apps', index, 'cron_restart']), message: `expected a cron expression (5 fields, or 6 with seconds first): ${why}`, value: render(expr) }]);
}

/** Keys that reach an object's prototype machinery instead of naming a setting. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Refuse keys like `__proto__` anywhere in what we read. Merging defaults into an app copies keys
 * with plain assignment, where `__proto__` replaces the object's prototype, and zod reads
 * inherited values: `"__proto__": {"kill_scope": "any"}` would silently widen what may be killed.
 * An ecosystem file can do the same without the key (`{ __proto__: {...} }` in JS sets the
 * prototype itself): an object whose prototype is a plain object is refused too. Class
 * instances (a Date, a RegExp) are left for the schema to reject.
 */
function rejectPrototypeKeys(root: unknown, file: string, mapPath: PathMapper): void {
  const issues: ConfigIssue[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown, at: readonly PropertyKey[]): void => {
    if (typeof v !== 'object' || v === null || seen.has(v) || issues.length >= 10) return;
    seen.add(v);
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, [...at, i]));
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      if (typeof proto === 'object' && !Object.hasOwn(proto, 'constructor')) {
        issues.push({ path: formatPath(mapPath([...at, '__proto__'])), message: 'an object with its own prototype (`__proto__: {...}`) is not allowed: write the keys themselves' });
      }
      return;
    }
    for (const key of Object.keys(v)) {
      if (PROTOTYPE_KEYS.has(key)) issues.push({ path: formatPath(mapPath([...at, key])), message: `"${key}" is not allowed as a key: it names an object's prototype, not a setting` });
      else walk((v as Record<string, unknown>)[key], [...at, key]);
    }
  };
  walk(root, []);
  if (issues.length > 0) throw new ConfigError(file, issues);
}

/**
 * `defaults:` holds per-app keys for every app (an app's own keys win, nested blocks merge).
 * Defaults are validated on
 * their own first, so an error there is reported under `defaults.`, not once per app.
 */
function applyDefaults(root: unknown, path: string, mapPath: PathMapper): unknown {
  if (!isRecord(root)) return root;
  const defaults = isRecord(root['defaults']) ? root['defaults'] : undefined;
  if (defaults) {
    const checked = defaultsSchema.safeParse(defaults, { reportInput: true });
    if (!checked.success) {
      throw new ConfigError(path, checked.error.issues.flatMap((i) => toIssues({ ...i, path: ['defaults', ...i.path] }, mapPath)));
    }
  }
  if (!Array.isArray(root['apps'])) return root;
  const apps = root['apps'].map((app: unknown) => (isRecord(app) ? deepMerge(defaults ?? {}, app) : app));
  return { ...root, apps };
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isRecord(b) && isRecord(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toIssues(issue: z.core.$ZodIssue, mapPath: PathMapper): ConfigIssue[] {
  const base = mapPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const hint = closest(key, KNOWN_KEYS);
      const message = hint === key ? `unknown key here ("${key}" belongs in another block)` : `unknown key${hint ? `; did you mean "${hint}"?` : ''}`;
      return { path: formatPath([...base, key]), message };
    });
  }
  const value = 'input' in issue && issue.input !== undefined ? render(redactConfigValue(base, issue.input)) : undefined;
  return [{ path: formatPath(base), message: issue.message, ...(value === undefined ? {} : { value }) }];
}

/** `['apps', 0, 'health', 'timeout']` -> `apps[0].health.timeout`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

function render(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
