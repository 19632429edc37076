/**
 * The monitor's view on disk (`<state_dir>/state.json`), for `status` and for whoever comes next:
 * written atomically (temp file, fsync, rename), at most once a second, only when it changed.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { WorkerView } from './worker.js';

export interface AppStateRecord {
  readonly phase: string;
  readonly consecutive_failures: number;
  readonly failed_remedies: number;
  readonly last_reason?: string;
  readonly last_check_at?: string;
  readonly last_health?: { readonly ok: boolean; readonly status?: number; readonly latency_ms: number; readonly detail?: string };
  readonly last_remedy?: {
    readonly at: string;
    readonly ok: boolean;
    readonly reason: string;
    readonly failure?: string;
    readonly killed: readonly number[];
    readonly refused: readonly number[];
    readonly time_to_healthy_ms?: number;
  };
}

export interface StateDocument {
  readonly version: 1;
  readonly written_at: string;
  readonly pid: number;
  readonly apps: Readonly<Record<string, AppStateRecord>>;
}

export const stateFilePath = (dir: string): string => join(dir, 'state.json');

/** Turn worker views into the on-disk record (wall-clock times, snake_case keys). */
export function toStateDocument(views: readonly WorkerView[], monoNow: number, wallNow = Date.now()): StateDocument {
  const wall = (mono: number): string => new Date(wallNow - (monoNow - mono)).toISOString();
  const apps: Record<string, AppStateRecord> = {};
  for (const v of views) {
    const h = v.lastObservation?.http;
    const r = v.lastRemedy;
    apps[v.app] = {
      phase: v.state.phase,
      consecutive_failures: v.state.consecutiveFailures,
      failed_remedies: v.state.failedRemedies,
      ...(v.state.lastReason ? { last_reason: v.state.lastReason } : {}),
      ...(v.lastObservation ? { last_check_at: wall(v.lastObservation.at) } : {}),
      ...(h ? { last_health: { ok: h.ok, latency_ms: Math.round(h.latencyMs), ...(h.ok ? { status: h.status } : { detail: h.detail, ...(h.status ? { status: h.status } : {}) }) } } : {}),
      ...(r && v.lastRemedyAt !== undefined
        ? {
            last_remedy: {
              at: wall(v.lastRemedyAt), ok: r.ok, reason: r.reason,
              ...(r.failure ? { failure: r.failure } : {}),
              killed: r.ports?.killed.map((k) => k.pid) ?? [],
              refused: r.ports?.refused.map((k) => k.pid) ?? [],
              ...(r.timeToHealthyMs !== undefined ? { time_to_healthy_ms: Math.round(r.timeToHealthyMs) } : {}),
            },
          }
        : {}),
    };
  }
  return { version: 1, written_at: new Date(wallNow).toISOString(), pid: process.pid, apps };
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

/** Read the state document; undefined when missing or unreadable. */
export function readStateDocument(path: string): StateDocument | undefined {
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as StateDocument;
    return doc.version === 1 && typeof doc.apps === 'object' ? doc : undefined;
  } catch {
    return undefined;
  }
}
