/**
 * The monitor's memory on disk (`<state_dir>/state.json`): per app the phase and counters, the
 * circuit and since when, the backoff, and the last 100 remedies. Written atomically (temp file,
 * fsync, rename). A restart of the monitor restores it, so an open circuit stays open; a corrupt
 * file is kept aside and the monitor starts fresh.
 */
import { closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  const apps: Record<string, AppStateRecord> = {};
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

/** Write a JSON document atomically: temp file, fsync, rename. */
export function writeJsonAtomic(path: string, doc: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify(doc, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export type StateRead = { readonly kind: 'ok'; readonly doc: StateDocument } | { readonly kind: 'missing' } | { readonly kind: 'corrupt'; readonly why: string };

/** Read the state document, telling a missing file from a corrupt one. */
export function loadStateDocument(path: string): StateRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { kind: 'missing' };
  }
  try {
    const doc = JSON.parse(text) as StateDocument;
    if (doc?.version !== 1 || typeof doc.apps !== 'object' || doc.apps === null) return { kind: 'corrupt', why: 'not a helpdesk-monitor state document' };
    return { kind: 'ok', doc };
  } catch (err) {
    return { kind: 'corrupt', why: (err as Error).message };
  }
}

/** Keep a corrupt state file aside (state.json.corrupt-<time>) and return where it went. */
export function quarantine(path: string): string {
  const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  copyFileSync(path, aside);
  return aside;
}

/** Read the state document; undefined when missing or unreadable (for `status`). */
export function readStateDocument(path: string): StateDocument | undefined {
  const r = loadStateDocument(path);
  return r.kind === 'ok' ? r.doc : undefined;
}
