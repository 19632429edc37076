/**
 * Operator input to a running (or the next) monitor: `pause`, `resume`, `reset` write
 * `<state_dir>/control.json`; the monitor watches it. Separate from state.json, which only the
 * monitor writes, so the two never race.
 */
import { join } from 'node:path';
import type { Control } from './worker.js';
import { readFileSync } from 'node:fs';
import { writeJsonAtomic } from './state-file.js';

export interface ControlDocument {
  readonly version: 1;
  readonly apps: Readonly<Record<string, { readonly paused_until?: string; readonly reset_at?: string }>>;
}

export const controlFilePath = (dir: string): string => join(dir, 'control.json');

/** Read the control file (missing or unreadable: no control). */
export function readControl(path: string): Map<string, Control> {
  const out = new Map<string, Control>();
  for (const [app, c] of Object.entries(readDocument(path).apps)) {
    const paused = c.paused_until === 'indefinite' ? 'indefinite' : c.paused_until ? Date.parse(c.paused_until) : undefined;
    const reset = c.reset_at ? Date.parse(c.reset_at) : undefined;
    out.set(app, {
      ...(paused !== undefined && (paused === 'indefinite' || Number.isFinite(paused)) ? { pausedUntil: paused } : {}),
      ...(reset !== undefined && Number.isFinite(reset) ? { resetAt: reset } : {}),
    });
  }
  return out;
}

/** Change one app's control entry (read, modify, write atomically). */
export function updateControl(path: string, app: string, change: { pausedUntil?: number | 'indefinite' | null; resetAt?: number }): void {
  const doc = readDocument(path); // a missing or broken control file is replaced
  const cur: { paused_until?: string; reset_at?: string } = { ...(doc.apps[app] ?? {}) };
  if (change.pausedUntil === null) delete cur.paused_until;
  else if (change.pausedUntil !== undefined) cur.paused_until = change.pausedUntil === 'indefinite' ? 'indefinite' : new Date(change.pausedUntil).toISOString();
  if (change.resetAt !== undefined) cur.reset_at = new Date(change.resetAt).toISOString();
  writeJsonAtomic(path, { version: 1, apps: { ...doc.apps, [app]: cur } });
}

type Entry = ControlDocument['apps'][string];

/** The control document, with anything malformed (null, wrong types) dropped. */
function readDocument(path: string): { apps: Record<string, Entry> } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return { apps: {} };
  }
  const apps: Record<string, Entry> = {};
  const given = isRecord(raw) && isRecord(raw['apps']) ? raw['apps'] : {};
  for (const [name, e] of Object.entries(given)) {
    if (!isRecord(e)) continue;
    apps[name] = {
      ...(typeof e['paused_until'] === 'string' ? { paused_until: e['paused_until'] } : {}),
      ...(typeof e['reset_at'] === 'string' ? { reset_at: e['reset_at'] } : {}),
    };
  }
  return { apps };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
