/**
 * The policy: pure functions of the app's state, one observation, the time and the config. No
 * I/O. Raw probe outcomes are smoothed into health (failure and success thresholds, a startup
 * grace that ends at each instance's first healthy check); a squatted port or PM2 giving up
 * needs no threshold; failed remedies back off (restart_delay x factor^n, capped, with jitter)
 * and, past max_restart_failures within the window, open the circuit: no more restarts until
 * circuit_reset_time, then one half-open trial.
 */
import type { AppConfig } from '../config/schema.js';
import type { HttpOutcome, OtherProbeOutcome, Pm2StatusOutcome } from '../probes/types.js';
import { squatterReason } from './squat-policy.js';

export type Phase = 'unknown' | 'healthy' | 'failing' | 'remedying' | 'unhealthy' | 'stopped' | 'missing';
export type Circuit = 'closed' | 'open' | 'half-open';

export interface AppState {
  readonly phase: Phase;
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  /** Failed remedies in a row (reset by a verified recovery). */
  readonly failedRemedies: number;
  /** Monotonic ms before which no new remedy starts. */
  readonly backoffUntil: number;
  /** A failed remedy may have left the app stopped: a stop we caused is not an operator's. */
  readonly leftStopped: boolean;
  readonly circuit: Circuit;
  readonly circuitSince: number;
  /** Monotonic times of failed remedies inside the failure window (newest last, bounded). */
  readonly recentFailures: readonly number[];
  readonly lastReason?: string;
  readonly lastChangeAt: number;
  /**
   * The instance last seen online and whether it has answered healthy yet: startup_grace covers
   * only failures before that first healthy check (as a Kubernetes startup probe ends at its
   * first success). Absent until an instance is seen (and after a monitor restart: the new
   * monitor has not seen it healthy, so the grace is judged by uptime alone).
   */
  readonly instance?: InstanceSeen;
}

export interface InstanceSeen {
  /** The instance pids, sorted and joined: a restart by anyone (PM2, us, an operator) changes them. */
  readonly pids: string;
  /** PM2's uptime at the last observation: an uptime that went down is a restart (a reused pid). */
  readonly uptimeMs: number;
  readonly healthy: boolean;
}

export interface Observation {
  readonly at: number;
  readonly pm2: Pm2StatusOutcome;
  /** Absent when the app has no URL or is not online. */
  readonly http?: HttpOutcome;
  /** TCP and exec probes (all must pass). */
  readonly others?: readonly OtherProbeOutcome[];
  /** Unexpected exits PM2 reported since the previous observation. */
  readonly crashes: number;
  /** Holders of the app's ports that are not the app (searched only around a crash or a start: squat-policy.ts). */
  readonly squatters: readonly { readonly port: number; readonly pid: number; readonly command: string }[];
  /** An operator paused remedies (`helpdesk-monitor pause`). */
  readonly paused?: boolean;
  /** A git update of the app is in progress (what it is doing): remedies wait, failures do not count. */
  readonly updating?: string;
  /** A dependency that holds remedies back (`db, which is being remedied`): failures count, remedies wait. */
  readonly waitingFor?: string;
}

export interface PolicyEvent {
  readonly type: 'circuit_opened' | 'circuit_half_open' | 'circuit_closed';
  readonly detail: string;
}

export type Decision =
  | {
      readonly action: 'none'; readonly state: AppState; readonly events: readonly PolicyEvent[]; readonly note?: string;
      /** A failure was forgiven by startup_grace: the app is not judged yet. */
      readonly graced?: boolean;
    }
  | { readonly action: 'remedy'; readonly state: AppState; readonly events: readonly PolicyEvent[]; readonly reason: string; readonly hung: boolean; readonly trial: boolean };

export const initialState = (now: number): AppState => ({
  phase: 'unknown', consecutiveFailures: 0, consecutiveSuccesses: 0, failedRemedies: 0, backoffUntil: 0, leftStopped: false,
  circuit: 'closed', circuitSince: now, recentFailures: [], lastChangeAt: now,
});

/** Delay after the n-th failed remedy in a row: restart_delay x factor^(n-1), capped, with jitter (rand in [0,1)). */
export function remedyBackoffMs(app: AppConfig, failedRemedies: number, rand = 0.5): number {
  if (failedRemedies <= 0) return 0;
  const p = app.policy;
  const base = Math.min(p.backoffMaxMs, p.restartDelayMs * p.backoffFactor ** Math.min(failedRemedies - 1, 30));
  return Math.max(0, Math.round(base * (1 + p.backoffJitter * (2 * rand - 1))));
}

/** Move to a new phase; the only place a phase changes. */
export function transition(state: AppState, phase: Phase, now: number, patch: Partial<AppState> = {}): AppState {
  return { ...state, ...patch, phase, lastChangeAt: phase === state.phase ? state.lastChangeAt : now };
}

/** Close the circuit and forget failed remedies (verified health, or `helpdesk-monitor reset`). */
export function closeCircuit(state: AppState, now: number, why: string): { state: AppState; events: PolicyEvent[] } {
  // Already closed with nothing to forget: the same state (a healthy check changes nothing to persist).
  if (state.circuit === 'closed' && state.failedRemedies === 0 && state.backoffUntil === 0 && state.recentFailures.length === 0) return { state, events: [] };
  const events: PolicyEvent[] = state.circuit === 'closed' ? [] : [{ type: 'circuit_closed', detail: why }];
  return { state: { ...state, circuit: 'closed', circuitSince: now, recentFailures: [], failedRemedies: 0, backoffUntil: 0 }, events };
}

/** Open the circuit now (an update's rollback failed): no remedies until circuit_reset_time or a reset. */
export function openCircuit(state: AppState, now: number, why: string): { state: AppState; events: PolicyEvent[] } {
  if (state.circuit === 'open') return { state, events: [] };
  return { state: { ...state, circuit: 'open', circuitSince: now }, events: [{ type: 'circuit_opened', detail: why }] };
}

/** Decide what one observation means for the app. */
export function decide(prev: AppState, obs: Observation, app: AppConfig): Decision {
  const now = obs.at;
  const events: PolicyEvent[] = [];
  if (prev.phase === 'remedying') return { action: 'none', state: prev, events, note: 'a remedy is in progress' };
  // The update reloads the app and proves its health itself; its restarts are not failures.
  if (obs.updating !== undefined) return { action: 'none', state: prev, events, note: `an update is in progress (${obs.updating}): remedies wait` };
  let state = seeInstance(prev, obs);
  if (state.circuit === 'open' && now - state.circuitSince >= app.policy.circuitResetMs) {
    state = { ...state, circuit: 'half-open', circuitSince: now };
    events.push({ type: 'circuit_half_open', detail: 'circuit_reset_time passed: one trial remedy allowed' });
  }

  const { pm2 } = obs;
  if (pm2.state === 'missing') return { action: 'none', events, state: transition(state, 'missing', now, { lastReason: pm2.detail }) };
  if (pm2.state === 'stopped' && obs.crashes === 0 && obs.squatters.length === 0 && !state.leftStopped) {
    return { action: 'none', events, state: transition(state, 'stopped', now, { consecutiveFailures: 0, lastReason: 'stopped in PM2' }) };
  }

  const urgent = urgentReason(obs, state);
  const failure = urgent ?? failureReason(obs, state, app);
  if (failure === undefined) return onSuccess(state, obs, app, events);
  if (failure === GRACE) return { action: 'none', state, events, graced: true, note: 'failure inside startup_grace (no healthy check of this instance yet)' };

  const failures = state.consecutiveFailures + 1;
  const threshold = app.health.failureThreshold;
  const counted = `${failure}${urgent ? '' : ` (${Math.min(failures, threshold)}/${threshold})`}`;
  const failed = { consecutiveFailures: failures, consecutiveSuccesses: 0, lastReason: counted };
  if (urgent === undefined && failures < threshold) return { action: 'none', events, state: transition(state, 'failing', now, failed) };

  const hold = (note: string): Decision => ({ action: 'none', events, note, state: transition(state, 'unhealthy', now, failed) });
  if (obs.paused) return hold('remedies paused by an operator');
  if (state.circuit === 'open') {
    return hold(`circuit open: no restarts for ${Math.ceil((state.circuitSince + app.policy.circuitResetMs - now) / 1000)} s more (helpdesk-monitor reset ${app.name} closes it)`);
  }
  if (now < state.backoffUntil) return hold(`backing off ${Math.ceil(state.backoffUntil - now)} ms after ${state.failedRemedies} failed remedies`);
  if (obs.waitingFor !== undefined) return hold(`waiting for ${obs.waitingFor}`);
  // Hung: the app's own instance timed out. A probe a squatter answered, or one of the instance
  // PM2 started after a crash, says nothing of the kind.
  const hung = obs.squatters.length === 0 && obs.crashes === 0 && obs.http?.ok === false && obs.http.failure === 'timeout';
  return { action: 'remedy', reason: counted, hung, trial: state.circuit === 'half-open', events, state: transition(state, 'remedying', now, failed) };
}

function onSuccess(seen: AppState, obs: Observation, app: AppConfig, events: PolicyEvent[]): Decision {
  const now = obs.at;
  if (obs.pm2.state === 'launching' || obs.pm2.state === 'stopping') return { action: 'none', state: seen, events };
  // The first healthy check of this instance ends its startup grace.
  const state = seen.instance && !seen.instance.healthy ? { ...seen, instance: { ...seen.instance, healthy: true } } : seen;
  const successes = state.consecutiveSuccesses + 1;
  const recovering = state.phase === 'failing' || state.phase === 'unhealthy';
  if (recovering && successes < app.policy.successThreshold) {
    return { action: 'none', events, state: { ...state, consecutiveSuccesses: successes }, note: `recovering (${successes}/${app.policy.successThreshold})` };
  }
  // Verified health forgets failed remedies and backoff, and closes an open circuit.
  const healthy = transition(state, 'healthy', now, { consecutiveFailures: 0, consecutiveSuccesses: successes, leftStopped: false, lastReason: undefined });
  const closed = closeCircuit(healthy, now, 'the app is healthy again');
  events.push(...closed.events);
  return { action: 'none', state: closed.state, events };
}

/** What a remedy's outcome does to the state (rand in [0,1) for the backoff jitter). */
export function afterRemedy(state: AppState, ok: boolean, now: number, app: AppConfig, reason: string, rand = 0.5): { state: AppState; events: PolicyEvent[] } {
  if (ok) {
    const healthy = transition(state, 'healthy', now, { consecutiveFailures: 0, consecutiveSuccesses: 0, leftStopped: false, lastReason: undefined });
    return closeCircuit(healthy, now, 'a remedy restored the app');
  }
  const p = app.policy;
  const failedRemedies = state.failedRemedies + 1;
  const recentFailures = [...state.recentFailures.filter((t) => now - t < p.failureWindowMs), now].slice(-p.maxRestartFailures);
  const opens = state.circuit === 'half-open' || recentFailures.length >= p.maxRestartFailures;
  const events: PolicyEvent[] = [];
  if (opens && state.circuit !== 'open') {
    events.push({
      type: 'circuit_opened',
      detail: state.circuit === 'half-open'
        ? 'the half-open trial failed'
        : `${recentFailures.length} failed remedies within ${Math.round(p.failureWindowMs / 1000)} s`,
    });
  }
  const next = transition(state, 'unhealthy', now, {
    failedRemedies,
    recentFailures,
    leftStopped: true,
    backoffUntil: now + remedyBackoffMs(app, failedRemedies, rand),
    lastReason: reason,
    ...(opens ? { circuit: 'open' as const, circuitSince: now } : {}),
  });
  return { state: next, events };
}

/** What one observation says about the app, for `status` and `check --dry-run`: never acts. */
export interface Verdict {
  /** Up, and every probe and rule passes. */
  readonly healthy: boolean;
  /** Why not (absent when healthy). */
  readonly reason?: string;
  /** The failure falls inside startup_grace: it would not count yet. */
  readonly graced: boolean;
  /** What the monitor would do with this observation (its phase after it, remedy or not, why not). */
  readonly decision: Decision;
}

/** Judge one observation against the app's state, as decide() would, without acting. Pure. */
export function verdictOf(prev: AppState, obs: Observation, app: AppConfig): Verdict {
  const decision = decide(prev, obs, app);
  const state = seeInstance(prev, obs);
  const { pm2 } = obs;
  const down = pm2.state === 'missing' || pm2.state === 'stopped' ? `${pm2.state === 'missing' ? 'missing' : 'stopped'} (${pm2.detail})` : undefined;
  const failure = down ?? urgentReason(obs, state) ?? failureReason(obs, state, app);
  const graced = failure === GRACE;
  const reason = graced ? `${problemOf(obs) ?? 'failing'} (inside startup_grace)` : failure ?? (pm2.state === 'online' ? undefined : `${pm2.state} (${pm2.detail})`);
  return { healthy: reason === undefined, graced, decision, ...(reason === undefined ? {} : { reason }) };
}

const GRACE = '\u0000grace';

/** Note which instance the observation saw; a new one (a restart by anyone) starts a new grace. */
function seeInstance(state: AppState, obs: Observation): AppState {
  const { pm2 } = obs;
  if (pm2.state !== 'online' || pm2.pids.length === 0) return state;
  const pids = pm2.pids.length === 1 ? String(pm2.pids[0]) : [...pm2.pids].sort((a, b) => a - b).join(',');
  const seen = state.instance;
  // Uptime is wall clock minus PM2's pm_uptime: it only grows for one instance (an observation's
  // own time would not do: it includes the probes' duration, up to their timeout).
  const same = seen !== undefined && seen.pids === pids && pm2.uptimeMs >= seen.uptimeMs;
  return { ...state, instance: { pids, uptimeMs: pm2.uptimeMs, healthy: same && seen.healthy } };
}

/** Evidence that needs no threshold: PM2 gave up, or a stranger holds the port of a crashing or starting app. */
function urgentReason(obs: Observation, state: AppState): string | undefined {
  const s = obs.squatters[0];
  if (s) return squatterReason(s);
  if (obs.pm2.state === 'errored') return 'PM2 marked the app errored (it gave up restarting)';
  if (obs.pm2.state === 'stopped' && state.leftStopped) return 'still stopped after a failed remedy';
  return obs.others?.find((o) => o.urgent && !o.ok)?.detail;
}

/** The failing probe or rule of an observation, if any. */
function problemOf(obs: Observation): string | undefined {
  const h = obs.http;
  return h && !h.ok ? `health ${h.failure}: ${h.detail}` : obs.others?.find((o) => !o.ok)?.detail;
}

function failureReason(obs: Observation, state: AppState, app: AppConfig): string | undefined {
  if (obs.crashes > 0) return `exited unexpectedly ${obs.crashes === 1 ? 'once' : `${obs.crashes} times`} since the last check`;
  const bad = problemOf(obs);
  if (bad === undefined) return undefined;
  if (obs.pm2.uptimeMs < app.startupGraceMs && state.instance?.healthy !== true) return GRACE;
  return bad;
}
