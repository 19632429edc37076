/**
 * The CLI's JSON, in one convention for every `--json`: snake_case keys, durations as integer
 * milliseconds named `*_ms`, times as ISO strings. The engine's own records are camelCase with
 * float milliseconds; these are the only conversions, so each shape is written once. The JSON
 * Schema of each command's document is in schemas/ (tests validate the real output against it).
 */
import type { RemedyReport } from '../engine/remedy.js';
import { remedyEntry, type RemedyEntry } from '../engine/view.js';
import type { FreePortsResult } from '../ports/free-port.js';
import { redactDeep } from '../redact.js';
import { printableJson } from '../text/printable.js';

export { healthJson, type HealthJson } from '../status/rows.js';

/** A pid's place in PM2, when it is a live PM2 app or a child of one (kill-port, cleanup-ports). */
export interface Pm2AppOf {
  readonly name: string;
  readonly pm_id: number;
  readonly relation: 'app' | 'child';
  readonly module: boolean;
}

/**
 * Freeing ports: who was killed, who was refused and why, what is still held. Each record of a
 * PM2 app's pid says so (`pm2_app`).
 */
export function freedJson(r: FreePortsResult & { readonly live?: number }, apps: ReadonlyMap<number, Pm2AppOf> = new Map()): Record<string, unknown> {
  const tag = <T extends { readonly pid: number }>(rec: T): T | (T & { pm2_app: Pm2AppOf }) => {
    const a = apps.get(rec.pid);
    return a ? { ...rec, pm2_app: a } : rec;
  };
  return {
    ports: r.ports,
    killed: r.killed.map(tag),
    refused: r.refused.map(tag),
    still_held: r.stillHeld,
    free: r.free,
    would_kill: r.wouldKill.map(tag),
    elapsed_ms: Math.round(r.elapsedMs),
    ...(r.live === undefined ? {} : { live: r.live }),
  };
}

/** A remedy run in this process: the history's summary, plus the time to healthy. */
export function remedyJson(r: RemedyReport, at = new Date().toISOString()): RemedyEntry {
  return remedyEntry(r, at);
}

/**
 * Print one document on stdout, two-space indented: redacted, and with the control characters a
 * process name could carry escaped (the terminal showing it must not obey them).
 */
export function printJson(doc: unknown): void {
  process.stdout.write(`${printableJson(redactDeep(doc), 2)}\n`);
}
