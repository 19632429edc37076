/**
 * What a monitor that starts with another run's memory should say about it. An open circuit,
 * a backoff or a pause restored at start means the monitor will leave a failing app alone; an
 * operator who sees only "watching 1 app(s)" cannot tell why nobody restarts it. Pure: the
 * times are the state's (monotonic) and the control's (wall clock), bridged at one instant.
 */
import type { AppConfig } from '../config/schema.js';
import type { AppState } from './decide.js';
import type { Control } from './view.js';

export interface RestoredInput {
  readonly app: AppConfig;
  readonly state: AppState;
  readonly control: Control;
  /** Where the config came from (a file path): the commands carry it as --config. */
  readonly configSource?: string;
  readonly monoNow: number;
  readonly wallNow: number;
}

/** One sentence per non-default part of the restored state (empty when there is nothing to tell). */
export function restoredNotices(input: RestoredInput): string[] {
  const { app, state, control, monoNow, wallNow } = input;
  const iso = (mono: number): string => new Date(wallNow + (mono - monoNow)).toISOString();
  const cmd = (verb: 'reset' | 'resume'): string => `\`helpdesk-monitor ${verb} ${shellWord(app.name)}${input.configSource ? ` --config ${shellWord(input.configSource)}` : ''}\``;
  const out: string[] = [];

  if (state.circuit === 'open') {
    const until = state.circuitSince + app.policy.circuitResetMs;
    const p = app.policy;
    const why = state.recentFailures.length >= p.maxRestartFailures
      ? `${state.recentFailures.length} failed remedies within ${Math.round(p.failureWindowMs / 1000)} s`
      : 'a failed half-open trial';
    const last = state.lastReason ? `; last: ${state.lastReason}` : '';
    out.push(
      until > monoNow
        ? `circuit open since ${iso(state.circuitSince)} until ${iso(until)} (after ${why}${last}): no restarts until then; ${cmd('reset')} closes it now`
        : `circuit open since ${iso(state.circuitSince)} (after ${why}${last}); its circuit_reset_time has passed: the next failing check gets one trial remedy; ${cmd('reset')} closes it now`,
    );
  } else if (state.circuit === 'half-open') {
    out.push(`circuit half-open since ${iso(state.circuitSince)}: the next failing check gets one trial remedy, a failed one reopens it; ${cmd('reset')} closes it now`);
  }

  if (state.backoffUntil > monoNow) {
    const n = state.failedRemedies;
    out.push(`backing off after ${n} failed ${n === 1 ? 'remedy' : 'remedies'}: no remedy before ${iso(state.backoffUntil)}; ${cmd('reset')} clears it`);
  }

  const paused = control.pausedUntil;
  if (paused === 'indefinite') out.push(`remedies paused (no end set) until ${cmd('resume')}`);
  else if (paused !== undefined && paused > wallNow) out.push(`remedies paused until ${new Date(paused).toISOString()}; ${cmd('resume')} ends the pause now`);
  return out;
}

/** A word a POSIX shell reads back as itself (quoted only when needed). */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
