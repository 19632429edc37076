/**
 * What a worker shows of itself: its view (state, last observation, remedies, operator control),
 * the events it tells, and the remedy summaries it keeps. Types and pure conversions only: the
 * worker builds these, the state document (./state-document.ts) is made from them, and nothing
 * here reads or writes a file.
 */
import type { NotifyEventType } from '../config/schema.js';
import type { AppState, Observation } from './decide.js';
import type { RemedyReport } from './remedy.js';
import type { StrategyName } from '../strategies/types.js';

/** Something worth telling people (webhooks) about an app. */
export interface WorkerEvent {
  readonly type: NotifyEventType;
  readonly app: string;
  readonly reason?: string;
  readonly detail?: string;
  readonly durationMs?: number;
  readonly killed?: readonly number[];
}

/** What a git update means for the app's checks right now (update/hold.ts reads it from its files). */
export interface UpdateHold {
  /** updating: remedies wait; halted: a rollback failed, the circuit opens once per halt. */
  readonly kind: 'updating' | 'halted';
  readonly detail: string;
}

/** Who asked for an operator change: the account, and the process that wrote it. */
export interface Requester {
  /** The account that ran the command (`root` under sudo). */
  readonly user: string;
  readonly uid?: number;
  readonly pid?: number;
  /** How it was asked (`cli`). */
  readonly via?: string;
  /** The account that ran sudo, when the command ran under it. */
  readonly sudoUser?: string;
}

/** Operator input from `pause`, `resume` and `reset` (wall-clock times), with who asked. */
export interface Control {
  readonly pausedUntil?: number | 'indefinite';
  readonly resetAt?: number;
  readonly pausedBy?: Requester;
  /** Who ended the last pause with `resume` (the pause itself is gone from the file). */
  readonly resumedBy?: Requester;
  readonly resetBy?: Requester;
}

export interface WorkerView {
  readonly app: string;
  readonly state: AppState;
  readonly lastObservation?: Observation;
  /** The last remedy run by this process (full report). */
  readonly lastRemedy?: RemedyReport;
  /** The last 100 remedies, this process's and restored ones (summaries, wall-clock times). */
  readonly history: readonly RemedyEntry[];
  readonly control: Control;
  /** Wall-clock ms of the last `reset` applied. */
  readonly resetSeen: number;
  /** The update halt whose circuit opening was done (state.json keeps it across restarts). */
  readonly haltSeen?: string;
  readonly lastError?: string;
  /** The dependency its remedies wait for (`db, which is being remedied`). */
  readonly waitingFor?: string;
  /** How the app runs and restarts, once chosen (restart_strategy, auto resolved). */
  readonly strategy?: StrategyName;
}

/** A remedy as the history keeps it (and state.json writes it): snake_case, wall-clock time. */
export interface RemedyEntry {
  readonly at: string;
  readonly ok: boolean;
  readonly skipped?: boolean;
  readonly reason: string;
  readonly failure?: string;
  readonly strategy: string;
  readonly attempts: number;
  readonly duration_ms: number;
  /** From the start of the remedy to verified health (a remedy that healed the app). */
  readonly time_to_healthy_ms?: number;
  readonly steps: readonly { readonly step: string; readonly ok: boolean; readonly ms: number; readonly detail: string }[];
  readonly killed: readonly number[];
  readonly refused: readonly number[];
}

/** The summary of a remedy kept in the history (and on disk). */
export function remedyEntry(r: RemedyReport, at: string): RemedyEntry {
  return {
    at, ok: r.ok, reason: r.reason, strategy: r.strategy, attempts: r.attempts, duration_ms: Math.round(r.totalMs),
    ...(r.skipped ? { skipped: true } : {}),
    ...(r.failure ? { failure: r.failure } : {}),
    ...(r.timeToHealthyMs === undefined ? {} : { time_to_healthy_ms: Math.round(r.timeToHealthyMs) }),
    steps: r.steps.map((s) => ({ ...s, ms: Math.round(s.ms) })),
    killed: r.ports?.killed.map((k) => k.pid) ?? [],
    refused: r.ports?.refused.map((k) => k.pid) ?? [],
  };
}
