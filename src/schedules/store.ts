/**
 * The schedule's memory under `<state_dir>/schedules/<app>.json` (a private folder; files 0600,
 * written by atomic rename, read without following links): the expression followed, the last
 * tick decided and the last firing (when, by whom, why). It is what `catch_up` compares with at
 * start, and what `status` shows.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ensurePrivateDir } from '../fsx/private-dir.js';
import { readOwnFile, writeJsonAtomic } from '../fsx/safe-write.js';
import type { Firer } from './decide.js';

export interface ScheduleFiring {
  /** ISO time of the start (PM2's pm_uptime, or when the monitor's restart returned). */
  readonly at: string;
  readonly by: Firer;
  /** ISO time of the tick it answered. */
  readonly tick: string;
  readonly reason: string;
}

export interface ScheduleRecord {
  readonly expression: string;
  /** ISO time of the last tick decided (fired by someone, or skipped). */
  readonly last_tick?: string;
  readonly last_fired?: ScheduleFiring;
}

export const schedulesDir = (stateDir: string): string => join(stateDir, 'schedules');

function fileKey(app: string): string {
  const safe = app.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80);
  return safe === app ? app : `${safe}-${createHash('sha256').update(app).digest('hex').slice(0, 8)}`;
}

export const recordPath = (stateDir: string, app: string): string => join(schedulesDir(stateDir), `${fileKey(app)}.json`);

const isIso = (v: unknown): v is string => typeof v === 'string' && Number.isFinite(Date.parse(v));

/** The app's record, or undefined when there is none (or it is not one we wrote). */
export function readRecord(stateDir: string, app: string): ScheduleRecord | undefined {
  const r = readOwnFile(recordPath(stateDir, app), 64 * 1024);
  if (r.kind !== 'ok') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(r.bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  if (typeof d['expression'] !== 'string') return undefined;
  const f = d['last_fired'] as Record<string, unknown> | undefined;
  const fired = f && isIso(f['at']) && (f['by'] === 'pm2' || f['by'] === 'monitor') && isIso(f['tick']) && typeof f['reason'] === 'string'
    ? { at: f['at'], by: f['by'] as Firer, tick: f['tick'], reason: f['reason'] } : undefined;
  return { expression: d['expression'], ...(isIso(d['last_tick']) ? { last_tick: d['last_tick'] } : {}), ...(fired ? { last_fired: fired } : {}) };
}

export function writeRecord(stateDir: string, app: string, record: ScheduleRecord): void {
  ensurePrivateDir(schedulesDir(stateDir), 'state_dir/schedules');
  writeJsonAtomic(recordPath(stateDir, app), record);
}
