/**
 * The policy: a pure function of the app's state, one observation, the time and the config.
 * No I/O. It smooths raw probe outcomes into health (thresholds, startup grace), spots the cases
 * that need a remedy at once (a squatted port, PM2 giving up), and backs off after failed remedies.
 */
import type { AppConfig } from '../config/schema.js';
import type { HttpOutcome, Pm2StatusOutcome } from '../probes/types.js';

export type Phase = 'unknown' | 'healthy' | 'failing' | 'remedying' | 'unhealthy' | 'stopped' | 'missing';

export interface AppState {
  readonly phase: Phase;
  readonly consecutiveFailures: number;
  /** Failed remedies in a row (reset by a verified recovery). */
  readonly failedRemedies: number;
  /** Monotonic ms before which no new remedy starts. */
  readonly backoffUntil: number;
  /** A failed remedy may have left the app stopped: a stop we caused is not an operator's. */
  readonly leftStopped: boolean;
  readonly lastReason?: string;
  readonly lastChangeAt: number;
}

export interface Observation {
  readonly at: number;
  readonly pm2: Pm2StatusOutcome;
  /** Absent when the app has no URL or is not online. */
  readonly http?: HttpOutcome;
  /** Unexpected exits PM2 reported since the previous observation. */
  readonly crashes: number;
  /** Holders of the app's ports that are not the app (seen only while it is down or crashing). */
  readonly squatters: readonly { readonly port: number; readonly pid: number; readonly command: string }[];
}

export type Decision =
  | { readonly action: 'none'; readonly state: AppState; readonly note?: string }
  | { readonly action: 'remedy'; readonly state: AppState; readonly reason: string; readonly hung: boolean };

export const initialState = (now: number): AppState => ({
  phase: 'unknown', consecutiveFailures: 0, failedRemedies: 0, backoffUntil: 0, leftStopped: false, lastChangeAt: now,
});

/** Backoff after the n-th failed remedy in a row: interval x 2^(n-1), capped at 5 minutes. */
export function remedyBackoffMs(app: AppConfig, failedRemedies: number): number {
  if (failedRemedies <= 0) return 0;
  return Math.min(300_000, app.health.intervalMs * 2 ** Math.min(failedRemedies - 1, 16));
}

/** Move to a new phase; the only place a phase changes. */
export function transition(state: AppState, phase: Phase, now: number, patch: Partial<AppState> = {}): AppState {
  return { ...state, ...patch, phase, lastChangeAt: phase === state.phase ? state.lastChangeAt : now };
}

/** Decide what one observation means for the app. */
export function decide(state: AppState, obs: Observation, app: AppConfig): Decision {
  const now = obs.at;
  if (state.phase === 'remedying') return { action: 'none', state, note: 'a remedy is in progress' };

  const { pm2 } = obs;
  if (pm2.state === 'missing') return { action: 'none', state: transition(state, 'missing', now, { lastReason: pm2.detail }) };
  if (pm2.state === 'stopped' && obs.crashes === 0 && obs.squatters.length === 0 && !state.leftStopped) {
    return { action: 'none', state: transition(state, 'stopped', now, { consecutiveFailures: 0, lastReason: 'stopped in PM2' }) };
  }

  const urgent = urgentReason(obs, state);
  const failure = urgent ?? failureReason(obs, app);
  if (failure === undefined) {
    const settling = pm2.state === 'launching' || pm2.state === 'stopping';
    if (settling) return { action: 'none', state };
    return { action: 'none', state: transition(state, 'healthy', now, { consecutiveFailures: 0, leftStopped: false, lastReason: undefined }) };
  }
  if (failure === GRACE) return { action: 'none', state, note: 'failure inside startup_grace' };

  const failures = state.consecutiveFailures + 1;
  const threshold = app.health.failureThreshold;
  const due = urgent !== undefined || failures >= threshold;
  const counted = `${failure}${urgent ? '' : ` (${Math.min(failures, threshold)}/${threshold})`}`;
  if (!due) return { action: 'none', state: transition(state, 'failing', now, { consecutiveFailures: failures, lastReason: counted }) };
  if (now < state.backoffUntil) {
    return {
      action: 'none',
      state: transition(state, 'unhealthy', now, { consecutiveFailures: failures, lastReason: counted }),
      note: `backing off ${Math.ceil(state.backoffUntil - now)} ms after ${state.failedRemedies} failed remedies`,
    };
  }
  const hung = obs.http?.ok === false && obs.http.failure === 'timeout';
  return {
    action: 'remedy',
    reason: counted,
    hung,
    state: transition(state, 'remedying', now, { consecutiveFailures: failures, lastReason: counted }),
  };
}

/** What the remedy's outcome does to the state. */
export function afterRemedy(state: AppState, ok: boolean, now: number, app: AppConfig, reason: string): AppState {
  if (ok) return transition(state, 'healthy', now, { consecutiveFailures: 0, failedRemedies: 0, backoffUntil: 0, leftStopped: false, lastReason: undefined });
  const failedRemedies = state.failedRemedies + 1;
  return transition(state, 'unhealthy', now, {
    failedRemedies,
    leftStopped: true,
    backoffUntil: now + remedyBackoffMs(app, failedRemedies),
    lastReason: reason,
  });
}

const GRACE = '\u0000grace';

/** Evidence that needs no threshold: PM2 gave up, or a stranger holds the port of a crashing app. */
function urgentReason(obs: Observation, state: AppState): string | undefined {
  const s = obs.squatters[0];
  if (s) return `port ${s.port} held by pid ${s.pid} (${s.command || '?'}) while the app is down`;
  if (obs.pm2.state === 'stopped' && state.leftStopped) return 'still stopped after a failed remedy';
  if (obs.pm2.state === 'errored') return 'PM2 marked the app errored (it gave up restarting)';
  return undefined;
}

function failureReason(obs: Observation, app: AppConfig): string | undefined {
  if (obs.crashes > 0) return `exited unexpectedly ${obs.crashes === 1 ? 'once' : `${obs.crashes} times`} since the last check`;
  const h = obs.http;
  if (!h || h.ok) return undefined;
  if (obs.pm2.uptimeMs < app.startupGraceMs && obs.crashes === 0) return GRACE;
  return `health ${h.failure}: ${h.detail}`;
}
