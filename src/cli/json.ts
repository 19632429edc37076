/**
 * The CLI's JSON, in one convention for every `--json`: snake_case keys, durations as integer
 * milliseconds named `*_ms`, times as ISO strings. The engine's own records are camelCase with
 * float milliseconds; these are the only conversions, so each shape is written once. The JSON
 * Schema of each command's document is in schemas/ (tests validate the real output against it).
 */
import type { RemedyReport } from '../engine/remedy.js';
import { remedyEntry, type RemedyEntry } from '../engine/view.js';
import type { FreePortsResult } from '../ports/free-port.js';
import type { HttpOutcome } from '../probes/types.js';
import { redactDeep } from '../redact.js';

/** An HTTP probe's outcome. */
export interface HealthJson {
  readonly ok: boolean;
  readonly status?: number;
  readonly latency_ms: number;
  readonly failure?: string;
  readonly detail?: string;
}

export function healthJson(h: HttpOutcome): HealthJson {
  const latency_ms = Math.round(h.latencyMs);
  return h.ok ? { ok: true, status: h.status, latency_ms } : { ok: false, latency_ms, failure: h.failure, detail: h.detail, ...(h.status ? { status: h.status } : {}) };
}

/** Freeing ports: who was killed, who was refused and why, what is still held. */
export interface FreedJson {
  readonly ports: readonly number[];
  readonly free: boolean;
  readonly killed: FreePortsResult['killed'];
  readonly refused: FreePortsResult['refused'];
  readonly still_held: readonly number[];
  readonly would_kill: FreePortsResult['wouldKill'];
  readonly elapsed_ms: number;
}

export function freedJson(r: FreePortsResult): FreedJson {
  return { ports: r.ports, free: r.free, killed: r.killed, refused: r.refused, still_held: r.stillHeld, would_kill: r.wouldKill, elapsed_ms: Math.round(r.elapsedMs) };
}

/** A remedy run in this process: the history's summary, plus the time to healthy. */
export function remedyJson(r: RemedyReport, at = new Date().toISOString()): RemedyEntry & { readonly time_to_healthy_ms?: number } {
  return { ...remedyEntry(r, at), ...(r.timeToHealthyMs === undefined ? {} : { time_to_healthy_ms: Math.round(r.timeToHealthyMs) }) };
}

/** Print one document on stdout, redacted, two-space indented. */
export function printJson(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(redactDeep(doc), null, 2)}\n`);
}
