/**
 * Who or what asked for a remedy, for its log line: the probes (n/threshold failed checks in a
 * row), PM2 (an unexpected exit its bus reported, or PM2 giving up), an alarm (a log or memory
 * rule, a port held by a stranger), a retry after a remedy that left the app stopped, or the
 * operator (a `reset` that let a held-back remedy go). Read from the observation the decision was
 * made on, in decide()'s own order of evidence (urgent first), so the trigger names what decided.
 * Pure.
 */
import type { AppState, Observation } from './decide.js';

export type TriggerKind = 'probe' | 'crash' | 'alarm' | 'retry' | 'operator';

export interface RemedyTrigger {
  readonly kind: TriggerKind;
  /** For people: `probe failures 2/2 (health)`. */
  readonly text: string;
}

export interface TriggerInput {
  readonly obs: Observation;
  /** The state the decision started from (whether a failed remedy left the app stopped). */
  readonly prev: AppState;
  /** Consecutive failures counted by this decision, and the app's failure_threshold. */
  readonly failures: number;
  readonly threshold: number;
  /** The operator's `reset` since the last check, as a requester text (`alice (uid 1000, pid 42)`). */
  readonly resetBy?: string;
}

/** What asked for the remedy decided on `obs`. */
export function remedyTrigger(input: TriggerInput): RemedyTrigger {
  const cause = evidence(input);
  if (input.resetBy === undefined) return cause;
  return { kind: 'operator', text: `reset by ${input.resetBy}, then ${cause.text}` };
}

function evidence({ obs, prev, failures, threshold }: TriggerInput): RemedyTrigger {
  const counted = `${Math.min(failures, threshold)}/${threshold}`;
  const squatter = obs.squatters[0];
  if (squatter) return { kind: 'alarm', text: `alarm: port ${squatter.port} held by pid ${squatter.pid} while the app is down` };
  if (obs.pm2.state === 'errored') return { kind: 'crash', text: 'PM2 gave up restarting the app (errored)' };
  if (obs.pm2.state === 'stopped' && prev.leftStopped) return { kind: 'retry', text: 'retry: a failed remedy left the app stopped' };
  const rule = obs.others?.find((o) => o.urgent && !o.ok);
  if (rule) return { kind: 'alarm', text: rule.kind === 'alarm' ? 'the alarm table' : `alarm: the ${rule.kind} rule` };
  if (obs.crashes > 0) {
    return { kind: 'crash', text: `crash reported by the PM2 bus (${obs.crashes === 1 ? '1 unexpected exit' : `${obs.crashes} unexpected exits`}), failures ${counted}` };
  }
  const probe = obs.http && !obs.http.ok ? 'health' : (obs.others?.find((o) => !o.ok)?.kind ?? 'probe');
  return { kind: 'probe', text: `probe failures ${counted} (${probe})` };
}
