/**
 * The config of the log-line and CPU rules and of app dependencies (`log_match:`, `cpu:`,
 * `depends_on:`): their schemas, the typed shapes the engine sees, and the checks across apps
 * (unknown dependencies, cycles). Patterns are compiled here once by RE2 (no backtracking): one
 * RE2 cannot compile is a config error, not a surprise at the first log line.
 */
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';
import { z } from 'zod';
import { parseDuration, parseSize } from './duration.js';

/** Restart (or notify) when a log line matches `min_count` times within `window`. */
export interface LogMatchConfig {
  /** The regular expression (RE2 syntax; `(?i)` for case-insensitive). */
  readonly pattern: string;
  readonly minCount: number;
  readonly windowMs: number;
  /** PM2's log files of the app (`out`, `err` or `both`); ignored when `file` is set. */
  readonly stream: 'out' | 'err' | 'both';
  readonly file?: string;
  readonly action: 'restart' | 'notify';
  /** New bytes read per check and file at most; a larger backlog is skipped to its newest part. */
  readonly maxReadBytes: number;
}

/** Restart when the app's CPU stays above a percent of one core for several checks in a row. */
export interface CpuRuleConfig {
  /** Percent of one core, summed over the instances (and children): 150 is one and a half cores. */
  readonly abovePercent: number;
  readonly forChecks: number;
  readonly includeChildren: boolean;
}

/** Lines longer than this are cut (the rest of the line is not matched): bounds work and memory per line. */
export const MAX_LINE_BYTES = 8 * 1024;

// Loaded on first use: a config without log_match never pays for the regex engine.
const require = createRequire(import.meta.url);
let engine: typeof import('re2js') | undefined;

/** Compile a rule's pattern; the error says what RE2 refused. */
export function compilePattern(pattern: string): RE2JS {
  engine ??= require('re2js') as typeof import('re2js');
  return engine.RE2JS.compile(pattern);
}

const pattern = z.string({ error: 'expected a regular expression (RE2 syntax)' }).min(1, 'expected a non-empty regular expression').superRefine((p, ctx) => {
  try {
    compilePattern(p);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    ctx.addIssue({ code: 'custom', message: `expected a regular expression RE2 accepts (no lookaround or backreferences): ${why}` });
  }
});

const WINDOW_HINT = 'expected a window from 1s to 24h (seconds as a number, or 30s, 5m, 1h)';
const window = z.union([z.number(), z.string()], { error: WINDOW_HINT }).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms < 1000 || ms > 86_400_000) {
    ctx.addIssue({ code: 'custom', message: WINDOW_HINT });
    return z.NEVER;
  }
  return ms;
});

const READ_HINT = 'expected a size from 4k to 64MB (bytes as a number, or 512k, 4MB)';
const maxRead = z.union([z.number(), z.string()], { error: READ_HINT }).transform((v, ctx) => {
  const n = parseSize(v);
  if (n === undefined || n < 4096 || n > 64 * 1024 * 1024) {
    ctx.addIssue({ code: 'custom', message: READ_HINT });
    return z.NEVER;
  }
  return n;
});

export const logMatchSchema = z.strictObject({
  pattern,
  min_count: z.number().int().min(1).max(10_000).default(1),
  window: window.default(60_000),
  stream: z.enum(['out', 'err', 'both']).default('both'),
  file: z.string().min(1).optional(),
  action: z.enum(['restart', 'notify']).default('restart'),
  max_read: maxRead.default(1024 * 1024),
});

type LogMatchRaw = z.output<typeof logMatchSchema>;

/**
 * One rule or a list of them; always a list once parsed. Each entry is checked on its own, so an
 * error names the entry's key (`log_match.window`, or `log_match[1].window` in a list).
 */
export const logMatchList = z.unknown().transform((v, ctx): LogMatchRaw[] => {
  const list = Array.isArray(v) ? (v as unknown[]) : [v];
  if (list.length === 0) ctx.addIssue({ code: 'custom', input: v, message: 'expected a log_match rule or a non-empty list of them' });
  const out: LogMatchRaw[] = [];
  list.forEach((item, i) => {
    const r = logMatchSchema.safeParse(item, { reportInput: true });
    if (r.success) return void out.push(r.data);
    for (const issue of r.error.issues) {
      ctx.addIssue({ ...issue, code: 'custom', message: issue.message, path: [...(Array.isArray(v) ? [i] : []), ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
    }
  });
  return out;
});

const PERCENT_HINT = 'expected a percent of one core above 0, up to 6400: a number (90) or a string like "90%"';
const percent = z.union([z.number(), z.string()], { error: PERCENT_HINT }).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : /^\s*\d+(\.\d+)?\s*%?\s*$/.test(v) ? Number.parseFloat(v) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || n > 6400) {
    ctx.addIssue({ code: 'custom', message: PERCENT_HINT });
    return z.NEVER;
  }
  return n;
});

export const cpuSchema = z.strictObject({
  above: percent,
  for: z.number().int().min(1).max(1000).default(3),
  include_children: z.boolean().default(false),
});

/** `depends_on: db` or `[db, cache]`; always a list once parsed. */
export const dependsOnSchema = z
  .union([z.string().min(1), z.array(z.string().min(1))], { error: 'expected an app name or a list of app names' })
  .transform((v) => (Array.isArray(v) ? v : [v]));

export const RULE_KEYS: readonly string[] = [...Object.keys(logMatchSchema.shape), ...Object.keys(cpuSchema.shape), 'log_match', 'cpu', 'depends_on'];

export function toLogMatch(r: LogMatchRaw): LogMatchConfig {
  return {
    pattern: r.pattern, minCount: r.min_count, windowMs: r.window, stream: r.stream, action: r.action, maxReadBytes: r.max_read,
    ...(r.file ? { file: r.file } : {}),
  };
}

export function toCpuRule(r: z.output<typeof cpuSchema>): CpuRuleConfig {
  return { abovePercent: r.above, forChecks: r.for, includeChildren: r.include_children };
}

/** A problem in the dependency graph, at `apps[index].depends_on[entry]`. */
export interface DependencyIssue {
  readonly index: number;
  readonly entry: number;
  readonly value: string;
  readonly message: string;
}

/** Unknown names, self-dependencies and cycles among the apps' depends_on. */
export function dependencyIssues(apps: readonly { readonly name: string; readonly depends_on?: readonly string[] | undefined }[]): DependencyIssue[] {
  const names = apps.map((a) => a.name);
  const issues: DependencyIssue[] = [];
  apps.forEach((app, index) => {
    (app.depends_on ?? []).forEach((dep, entry) => {
      if (dep === app.name) issues.push({ index, entry, value: dep, message: 'an app cannot depend on itself' });
      else if (!names.includes(dep)) issues.push({ index, entry, value: dep, message: `expected the name of an app under apps: (${names.join(', ')})` });
    });
  });
  if (issues.length > 0) return issues;
  const cycle = findCycle(new Map(apps.map((a) => [a.name, a.depends_on ?? []])));
  if (cycle) {
    const index = names.indexOf(cycle[0] ?? '');
    const entry = (apps[index]?.depends_on ?? []).indexOf(cycle[1] ?? '');
    issues.push({ index, entry, value: cycle[1] ?? '', message: `depends_on makes a cycle: ${cycle.join(' -> ')}` });
  }
  return issues;
}

/** A cycle as a path that ends where it starts, or undefined (depth-first, three colours). */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const d of graph.get(n) ?? []) {
      const found = visit(d);
      if (found) return found;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of graph.keys()) {
    const found = visit(n);
    if (found) return found;
  }
  return undefined;
}

/**
 * The apps in layers: each layer depends only on earlier ones (the one-pass `check` looks at a
 * dependency before its dependents). Assumes no cycle (the config refuses them).
 */
export function dependencyLayers(apps: readonly { readonly name: string; readonly dependsOn: readonly string[] }[]): string[][] {
  const depth = new Map<string, number>();
  const byName = new Map(apps.map((a) => [a.name, a]));
  const depthOf = (name: string, seen: Set<string>): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0;
    seen.add(name);
    const deps = (byName.get(name)?.dependsOn ?? []).filter((d) => byName.has(d));
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((x) => depthOf(x, seen)));
    depth.set(name, d);
    return d;
  };
  const layers: string[][] = [];
  for (const a of apps) {
    const d = depthOf(a.name, new Set());
    (layers[d] ??= []).push(a.name);
  }
  return layers.filter((l) => l.length > 0);
}
