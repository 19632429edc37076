/**
 * The state document (`<state_dir>/state.json`): its shape, defined beside the worker's view it
 * is made from, and the pure conversions both ways. Monotonic times are written as wall-clock
 * ISO strings and read back onto the next process's monotonic clock. Reading, validating and
 * writing the file is src/state/state-file.ts's job; app names are keys of `apps`, always
 * null-prototype objects, so `__proto__` is just a name.
 */
import type { AlarmResult } from './alarm-inbox.js';
import { pauseInForce } from './control-log.js';
import type { AppState, Circuit, Phase } from './decide.js';
import type { RemedyEntry, WorkerView } from './view.js';

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
  /** The update halt whose circuit opening was done: a restart does not open it again. */
  readonly update_halt_seen?: string;
  readonly last_reason?: string;
  /** The dependency the app's remedies wait for (depends_on). */
  readonly waiting_for?: string;
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
  /** The alarm table trigger's memory (absent without `alarms:`). */
  readonly alarms?: { readonly handled: readonly HandledAlarmRecord[] };
}

/**
 * An alarm table row already handled (wall-clock ISO times): a row still in alarm is not
 * remedied again until it is cleared and raised anew, or realarm_after passes.
 */
export interface HandledAlarmRecord {
  readonly process_id: number;
  readonly process_name: string;
  readonly app: string;
  readonly value: number;
  readonly first_seen: string;
  readonly handled_at: string;
  readonly result: AlarmResult;
  readonly detail: string;
  readonly incident: string;
  /** With on_success: clear, after a remedy: false while the clear is still to be done (a failed write). */
  readonly cleared?: boolean;
}

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

/** Turn worker views into the on-disk record (wall-clock times, snake_case keys). */
export function toStateDocument(views: readonly WorkerView[], monoNow: number, wallNow = Date.now()): StateDocument {
  const { toWall } = timeBridge(monoNow, wallNow);
  const apps: Record<string, AppStateRecord> = Object.create(null) as Record<string, AppStateRecord>;
  for (const v of views) {
    const s = v.state;
    const h = v.lastObservation?.http;
    const remedies = v.history;
    // A pause that has ended is no pause.
    const paused = pauseInForce(v.control.pausedUntil, wallNow);
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
      ...(v.haltSeen ? { update_halt_seen: v.haltSeen } : {}),
      ...(s.lastReason ? { last_reason: s.lastReason } : {}),
      ...(v.waitingFor ? { waiting_for: v.waitingFor } : {}),
      ...(v.lastObservation ? { last_check_at: toWall(v.lastObservation.at) } : {}),
      ...(h ? { last_health: { ok: h.ok, latency_ms: Math.round(h.latencyMs), ...(h.ok ? { status: h.status } : { detail: h.detail, ...(h.status ? { status: h.status } : {}) }) } } : {}),
      ...(remedies.length > 0 ? { last_remedy: remedies.at(-1)!, remedies } : {}),
    };
  }
  return { version: 1, written_at: new Date(wallNow).toISOString(), pid: process.pid, apps };
}

/** The restorable part of an app's record: state (monotonic times) and the reset already applied. */
export function restoreApp(rec: AppStateRecord, monoNow: number, wallNow = Date.now()): { state: AppState; resetSeen: number; history: RemedyEntry[]; haltSeen?: string } {
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
  return { state, resetSeen, history: [...(rec.remedies ?? [])], ...(rec.update_halt_seen ? { haltSeen: rec.update_halt_seen } : {}) };
}
