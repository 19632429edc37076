/**
 * The monitor's memory on disk (`<state_dir>/state.json`): per app the phase and counters, the
 * circuit and since when, the backoff, and the last 100 remedies. Written atomically (random temp
 * file, fsync, rename; never through a link). A restart of the monitor restores it, so an open
 * circuit stays open. Read back through a schema: nothing in the file can stop the monitor. A
 * file that is not a state document is kept aside and every app starts fresh; an app whose
 * record is invalid starts fresh and the others keep theirs (the file is kept aside once).
 * App names are keys of `apps`: always null-prototype objects, so `__proto__` is just a name.
 */
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { formatPath } from '../config/load.js';
import { ensurePrivateDir } from '../fsx/private-dir.js';
import { readOwnFile, setAside, writeJsonAtomic as writeJsonFile } from '../fsx/safe-write.js';
import type { AppState, Circuit, Phase } from './decide.js';
import type { RemedyReport } from './remedy.js';
import type { WorkerView } from './worker.js';

export interface RemedyEntry {
  readonly at: string;
  readonly ok: boolean;
  readonly skipped?: boolean;
  readonly reason: string;
  readonly failure?: string;
  readonly strategy: string;
  readonly attempts: number;
  readonly duration_ms: number;
  readonly steps: readonly { readonly step: string; readonly ok: boolean; readonly ms: number; readonly detail: string }[];
  readonly killed: readonly number[];
  readonly refused: readonly number[];
}

export interface AppStateRecord {
  readonly phase: Phase;
  readonly consecutive_failures: number;
  readonly consecutive_successes?: number;
  readonly failed_remedies: number;
  readonly left_stopped?: boolean;
  readonly circuit?: Circuit;
  readonly circuit_since?: string;
  readonly recent_failures?: readonly string[];
  readonly backoff_until?: string;
  readonly paused_until?: string;
  readonly reset_seen?: string;
  readonly last_reason?: string;
  readonly last_check_at?: string;
  readonly last_health?: { readonly ok: boolean; readonly status?: number; readonly latency_ms: number; readonly detail?: string };
  readonly last_remedy?: RemedyEntry;
  readonly remedies?: readonly RemedyEntry[];
}

export interface StateDocument {
  readonly version: 1;
  readonly written_at: string;
  readonly pid: number;
  readonly apps: Readonly<Record<string, AppStateRecord>>;
}

export const stateFilePath = (dir: string): string => join(dir, 'state.json');

/** Convert between the monotonic clock and wall-clock ISO strings, at one instant. */
export function timeBridge(monoNow: number, wallNow = Date.now()) {
  return {
    toWall: (mono: number): string => new Date(wallNow - (monoNow - mono)).toISOString(),
    toMono: (iso: string | undefined): number | undefined => {
      const t = iso === undefined ? NaN : Date.parse(iso);
      return Number.isFinite(t) ? monoNow - (wallNow - t) : undefined;
    },
  };
}

/** The summary of a remedy kept in the history (and on disk). */
export function remedyEntry(r: RemedyReport, at: string): RemedyEntry {
  return {
    at, ok: r.ok, reason: r.reason, strategy: r.strategy, attempts: r.attempts, duration_ms: Math.round(r.totalMs),
    ...(r.skipped ? { skipped: true } : {}),
    ...(r.failure ? { failure: r.failure } : {}),
    steps: r.steps.map((s) => ({ ...s, ms: Math.round(s.ms) })),
    killed: r.ports?.killed.map((k) => k.pid) ?? [],
    refused: r.ports?.refused.map((k) => k.pid) ?? [],
  };
}

/** Turn worker views into the on-disk record (wall-clock times, snake_case keys). */
export function toStateDocument(views: readonly WorkerView[], monoNow: number, wallNow = Date.now()): StateDocument {
  const { toWall } = timeBridge(monoNow, wallNow);
  const apps: Record<string, AppStateRecord> = Object.create(null) as Record<string, AppStateRecord>;
  for (const v of views) {
    const s = v.state;
    const h = v.lastObservation?.http;
    const remedies = v.history;
    // A pause that has ended is no pause.
    const paused = v.control.pausedUntil === 'indefinite' || (v.control.pausedUntil ?? 0) > wallNow ? v.control.pausedUntil : undefined;
    apps[v.app] = {
      phase: s.phase,
      consecutive_failures: s.consecutiveFailures,
      consecutive_successes: s.consecutiveSuccesses,
      failed_remedies: s.failedRemedies,
      left_stopped: s.leftStopped,
      circuit: s.circuit,
      circuit_since: toWall(s.circuitSince),
      recent_failures: s.recentFailures.map(toWall),
      ...(s.backoffUntil > monoNow ? { backoff_until: toWall(s.backoffUntil) } : {}),
      ...(paused === undefined ? {} : { paused_until: paused === 'indefinite' ? 'indefinite' : new Date(paused).toISOString() }),
      ...(v.resetSeen ? { reset_seen: new Date(v.resetSeen).toISOString() } : {}),
      ...(s.lastReason ? { last_reason: s.lastReason } : {}),
      ...(v.lastObservation ? { last_check_at: toWall(v.lastObservation.at) } : {}),
      ...(h ? { last_health: { ok: h.ok, latency_ms: Math.round(h.latencyMs), ...(h.ok ? { status: h.status } : { detail: h.detail, ...(h.status ? { status: h.status } : {}) }) } } : {}),
      ...(remedies.length > 0 ? { last_remedy: remedies.at(-1)!, remedies } : {}),
    };
  }
  return { version: 1, written_at: new Date(wallNow).toISOString(), pid: process.pid, apps };
}

/** The restorable part of an app's record: state (monotonic times) and the reset already applied. */
export function restoreApp(rec: AppStateRecord, monoNow: number, wallNow = Date.now()): { state: AppState; resetSeen: number; history: RemedyEntry[] } {
  const { toMono } = timeBridge(monoNow, wallNow);
  const state: AppState = {
    // A remedy cut short by the restart is over: judge the app afresh.
    phase: rec.phase === 'remedying' ? 'unhealthy' : rec.phase,
    consecutiveFailures: rec.consecutive_failures ?? 0,
    consecutiveSuccesses: rec.consecutive_successes ?? 0,
    failedRemedies: rec.failed_remedies ?? 0,
    backoffUntil: toMono(rec.backoff_until) ?? 0,
    leftStopped: rec.left_stopped ?? false,
    circuit: rec.circuit ?? 'closed',
    circuitSince: toMono(rec.circuit_since) ?? monoNow,
    recentFailures: (rec.recent_failures ?? []).map((t) => toMono(t)).filter((t): t is number => t !== undefined),
    ...(rec.last_reason ? { lastReason: rec.last_reason } : {}),
    lastChangeAt: monoNow,
  };
  const resetSeen = rec.reset_seen ? Date.parse(rec.reset_seen) || 0 : 0;
  return { state, resetSeen, history: [...(rec.remedies ?? [])] };
}

/**
 * Write a JSON document atomically (see fsx/safe-write). A state dir removed under a running
 * monitor is made again, private.
 */
export function writeJsonAtomic(path: string, doc: unknown): void {
  try {
    writeJsonFile(path, doc);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    ensurePrivateDir(dirname(path));
    writeJsonFile(path, doc);
  }
}

const count = z.number().int().nonnegative();
const phaseSchema = z.enum(['unknown', 'healthy', 'failing', 'remedying', 'unhealthy', 'stopped', 'missing']);
const circuitSchema = z.enum(['closed', 'open', 'half-open']);
// Times stay strings: an unparsable one is dropped by timeBridge (the app keeps the rest).
const remedyEntrySchema = z.object({
  at: z.string(),
  ok: z.boolean(),
  skipped: z.boolean().optional(),
  reason: z.string(),
  failure: z.string().optional(),
  strategy: z.string(),
  attempts: count,
  duration_ms: z.number().nonnegative(),
  steps: z.array(z.object({ step: z.string(), ok: z.boolean(), ms: z.number(), detail: z.string() })),
  killed: z.array(z.number().int()),
  refused: z.array(z.number().int()),
});
const appRecordSchema = z.object({
  phase: phaseSchema,
  consecutive_failures: count,
  consecutive_successes: count.optional(),
  failed_remedies: count,
  left_stopped: z.boolean().optional(),
  circuit: circuitSchema.optional(),
  circuit_since: z.string().optional(),
  recent_failures: z.array(z.string()).optional(),
  backoff_until: z.string().optional(),
  paused_until: z.string().optional(),
  reset_seen: z.string().optional(),
  last_reason: z.string().optional(),
  last_check_at: z.string().optional(),
  last_health: z.object({ ok: z.boolean(), status: z.number().int().optional(), latency_ms: z.number().nonnegative(), detail: z.string().optional() }).optional(),
  last_remedy: remedyEntrySchema.optional(),
  remedies: z.array(remedyEntrySchema).optional(),
}) satisfies z.ZodType<AppStateRecord>;
// `apps` is checked here only for being an object: its entries are judged one by one (and zod
// would copy the keys into a plain object, where `__proto__` is not a key).
const documentSchema = z.object({
  version: z.literal(1),
  written_at: z.string().optional(),
  pid: z.number().optional(),
  apps: z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'expected an object of apps by name'),
});

/** An app whose record was dropped, and why. */
export interface InvalidRecord {
  readonly app: string;
  readonly why: string;
}

export type StateRead =
  | { readonly kind: 'ok'; readonly doc: StateDocument; readonly invalid: readonly InvalidRecord[]; readonly bytes?: Buffer }
  | { readonly kind: 'missing' }
  /** bytes: what was read (absent when the file could not be read at all, e.g. a link). */
  | { readonly kind: 'corrupt'; readonly why: string; readonly bytes?: Buffer };

/** Read the state document, telling a missing file from a corrupt one and keeping the valid apps of a partly invalid one. */
export function loadStateDocument(path: string): StateRead {
  const read = readOwnFile(path);
  if (read.kind === 'missing') return { kind: 'missing' };
  if (read.kind === 'unsafe') return { kind: 'corrupt', why: read.why };
  const bytes = read.bytes;
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { kind: 'corrupt', why: (err as Error).message, bytes };
  }
  const parsed = documentSchema.safeParse(raw);
  if (!parsed.success) return { kind: 'corrupt', why: `not a helpdesk-monitor state document (${issueText(parsed.error)})`, bytes };
  const apps = Object.create(null) as Record<string, AppStateRecord>;
  const invalid: InvalidRecord[] = [];
  for (const [app, rec] of Object.entries(parsed.data.apps)) {
    const r = appRecordSchema.safeParse(rec);
    if (r.success) apps[app] = r.data;
    else invalid.push({ app, why: issueText(r.error) });
  }
  const doc: StateDocument = {
    version: 1,
    written_at: parsed.data.written_at ?? '',
    pid: parsed.data.pid ?? 0,
    apps,
  };
  return { kind: 'ok', doc, invalid, bytes };
}

/** The first problems of a zod error, short and on one line. */
export function issueText(err: z.ZodError): string {
  const parts = err.issues.slice(0, 2).map((i) => `${formatPath(i.path) || '(root)'}: ${i.message}`);
  return oneLine(`${parts.join('; ')}${err.issues.length > 2 ? `; and ${err.issues.length - 2} more` : ''}`);
}

/**
 * Keep a state file we will not use aside (state.json.corrupt-<time>) and return where it went:
 * a copy of the bytes we read, or the file itself moved when it could not be read (a link).
 */
export function quarantine(path: string, bytes?: Uint8Array): string {
  if (bytes) return setAside(path, bytes, 'corrupt');
  const r = readOwnFile(path);
  if (r.kind === 'missing') throw Object.assign(new Error(`ENOENT: ${path} is missing`), { code: 'ENOENT' });
  return setAside(path, r.kind === 'ok' ? r.bytes : undefined, 'corrupt');
}

/**
 * What a starting monitor restores: the valid records by app (a null-prototype object), and the
 * one warning to log when something was kept aside. Never throws: a state file cannot stop the
 * monitor. The next write replaces the file, so a bad one is kept aside (and told) once.
 */
export function openStateFile(path: string): { readonly apps: Readonly<Record<string, AppStateRecord>>; readonly warning?: string } {
  const read = loadStateDocument(path);
  if (read.kind === 'missing') return { apps: Object.create(null) as Record<string, AppStateRecord> };
  const apps = read.kind === 'ok' ? read.doc.apps : (Object.create(null) as Record<string, AppStateRecord>);
  if (read.kind === 'ok' && read.invalid.length === 0) return { apps };
  let aside = '';
  try {
    aside = ` (kept as ${quarantine(path, read.bytes)})`;
  } catch {
    // could not keep it: it will be overwritten
  }
  if (read.kind === 'corrupt') return { apps, warning: `the state file ${path} is unreadable (${oneLine(read.why)})${aside}; starting with fresh state` };
  const listed = read.invalid.slice(0, 5).map((i) => `${oneLine(JSON.stringify(i.app))}: ${oneLine(i.why)}`).join('; ');
  const more = read.invalid.length > 5 ? `; and ${read.invalid.length - 5} more` : '';
  const who = read.invalid.length === 1 ? 'that app starts' : 'those apps start';
  return { apps, warning: `the state file ${path} has invalid records (${listed}${more})${aside}; ${who} with fresh state` };
}

/** JSON.parse quotes the raw bytes it choked on, and app names come from the file: one short line. */
export function oneLine(text: string): string {
  return [...text].map((c) => (c < ' ' || (c >= '\u007f' && c <= '\u009f') ? '?' : c)).join('').slice(0, 160);
}

/** Read the state document; undefined when missing or unreadable (for `status`). */
export function readStateDocument(path: string): StateDocument | undefined {
  const r = loadStateDocument(path);
  return r.kind === 'ok' ? r.doc : undefined;
}
