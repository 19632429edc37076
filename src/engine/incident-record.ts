/**
 * An Incident as its one log line: the `incident` record of schemas/log-line.schema.json
 * (snake_case, integer `*_ms`, time to healthy in seconds), written once when the remedy ends.
 * `incidentRecord` is pure; `logIncident` writes it through the remedy's logger (whose lines all
 * carry the incident_id), and the logger's one redaction applies to it like to every line.
 */
import type { Logger } from '../log/logger.js';
import type { KillRecord, Refusal } from '../ports/free-port.js';
import { userName } from '../proc/users.js';
import type { RecordedStep } from '../steps/steps.js';
import type { Circuit, Observation } from './decide.js';
import { incidentResult, type Incident, type IncidentResult } from './incident.js';
import type { RemedyReport } from './remedy.js';
import type { TriggerKind } from './trigger.js';

/** The value of the `event` field that marks an incident line. */
export const INCIDENT_EVENT = 'incident';

export interface IncidentRecord {
  readonly started_at: string;
  readonly result: IncidentResult;
  /** The policy's reason (`health: timeout after 500ms`). */
  readonly reason: string;
  readonly trial: boolean;
  readonly hung: boolean;
  readonly trigger: { readonly kind: TriggerKind; readonly text: string };
  readonly observation: ObservationSummary;
  readonly actions: Actions;
  readonly verify: { readonly ok: boolean; readonly detail: string; readonly ms?: number };
  /** From the start of the remedy to verified health; null when health did not come back. */
  readonly time_to_healthy_s: number | null;
  readonly total_ms: number;
  readonly failure?: string;
  readonly circuit_after: Circuit;
  /** The events handed to the notifier, in order (what was sent depends on each target's filter). */
  readonly notifications: readonly string[];
}

export interface ObservationSummary {
  readonly pm2: { readonly state: string; readonly pids: readonly number[]; readonly restarts: number; readonly detail: string };
  readonly http?: { readonly ok: boolean; readonly status?: number; readonly failure?: string; readonly detail?: string; readonly latency_ms: number };
  /** Every probe and rule that failed (http, tcp, exec, log, memory, alarm). */
  readonly failing_probes: readonly { readonly kind: string; readonly detail: string }[];
  readonly squatters: readonly { readonly port: number; readonly pid: number; readonly command: string }[];
  readonly crashes: number;
}

export interface Owner {
  readonly uid: number;
  readonly user?: string;
}

export interface Actions {
  readonly strategy: string;
  /** How the app was restarted: the strategy and its steps in order (`pm2: stop through PM2 -> start through PM2`). */
  readonly restart_method: string;
  readonly attempts: number;
  readonly steps: readonly { readonly step: string; readonly ok: boolean; readonly ms: number; readonly detail: string }[];
  /** Present when the remedy freed ports: the ports looked at, those freed by a kill, those still held. */
  readonly ports?: { readonly checked: readonly number[]; readonly freed: readonly number[]; readonly still_held: readonly number[] };
  readonly killed: readonly (Owner & { readonly pid: number; readonly command: string; readonly port: number; readonly signal: string; readonly why: string })[];
  readonly refused: readonly (Owner & { readonly pid: number; readonly command: string; readonly port: number; readonly why: string })[];
}

/** Who owns a uid (a user name when the system knows one). */
export type UserLookup = (uid: number) => string | undefined;

/** The incident as its log record. */
export function incidentRecord(i: Incident, users: UserLookup = () => undefined): IncidentRecord {
  const r = i.report;
  return {
    started_at: i.startedAt,
    result: incidentResult(i),
    reason: i.reason,
    trial: i.trial,
    hung: i.hung,
    trigger: { kind: i.trigger.kind, text: i.trigger.text },
    observation: observationSummary(i.observation),
    actions: actions(r, users),
    verify: verifyOf(r),
    time_to_healthy_s: r.ok && r.timeToHealthyMs !== undefined ? Math.round(r.timeToHealthyMs) / 1000 : null,
    total_ms: Math.round(r.totalMs),
    ...(r.failure ? { failure: r.failure } : {}),
    circuit_after: i.circuitAfter,
    notifications: [...i.told],
  };
}

/** The incident line's level and message; its fields are `{ event: 'incident', incident: record }`. */
export function incidentLine(i: Incident, record: IncidentRecord): { level: 'info' | 'warn' | 'error'; message: string } {
  const level = record.result === 'healed' ? 'info' : record.result === 'skipped' ? 'warn' : 'error';
  const outcome = record.result === 'healed' ? `healed in ${record.time_to_healthy_s} s` : `${record.result}: ${record.failure ?? 'failed'}`;
  return { level, message: `incident ${outcome} (${i.reason}; trigger: ${i.trigger.text})` };
}

/** Write the incident's one line (with the owners' user names looked up). */
export function logIncident(log: Logger, i: Incident): void {
  const record = incidentRecord(i, userName);
  const { level, message } = incidentLine(i, record);
  log.log(level, message, { event: INCIDENT_EVENT, incident: record });
}

function observationSummary(o: Observation): ObservationSummary {
  const failing = [
    ...(o.http && !o.http.ok ? [{ kind: 'http', detail: `${o.http.failure}: ${o.http.detail}` }] : []),
    ...(o.others ?? []).filter((p) => !p.ok).map((p) => ({ kind: p.kind, detail: p.detail ?? `${p.kind} failed` })),
  ];
  return {
    pm2: { state: o.pm2.state, pids: [...o.pm2.pids], restarts: o.pm2.restarts, detail: o.pm2.detail },
    ...(o.http ? { http: httpSummary(o.http) } : {}),
    failing_probes: failing,
    squatters: o.squatters.map((s) => ({ port: s.port, pid: s.pid, command: s.command })),
    crashes: o.crashes,
  };
}

function httpSummary(h: NonNullable<Observation['http']>): NonNullable<ObservationSummary['http']> {
  const latency_ms = Math.round(h.latencyMs);
  if (h.ok) return { ok: true, status: h.status, latency_ms };
  return { ok: false, ...(h.status === undefined ? {} : { status: h.status }), failure: h.failure, detail: h.detail, latency_ms };
}

/** The steps that prove health (operate.ts verify, remedy.ts restartOnce); the rest restart. */
const VERIFY_STEP = /^wait (for online|until the probes pass)/;
/** Steps that are neither restart nor proof: the gate, look-ups and surveys, the wait between attempts. */
const OTHER_STEP = /^(pre_restart_command|look up the app|survey ports|find the running instance|wait \d+ms before attempt)/;

function actions(r: RemedyReport, users: UserLookup): Actions {
  const owner = (uid: number): Owner => {
    const user = users(uid);
    return user === undefined ? { uid } : { uid, user };
  };
  const restartSteps = [...new Set(r.steps.map((s) => s.step).filter((s) => !VERIFY_STEP.test(s) && !OTHER_STEP.test(s)))];
  const p = r.ports;
  return {
    strategy: r.strategy,
    restart_method: `${r.strategy}: ${restartSteps.length > 0 ? restartSteps.join(' -> ') : 'nothing restarted'}`,
    attempts: r.attempts,
    steps: r.steps.map(stepOf),
    ...(p ? { ports: { checked: [...p.ports], freed: [...new Set(p.killed.map((k) => k.port))].filter((port) => !p.stillHeld.includes(port)), still_held: [...p.stillHeld] } } : {}),
    killed: (p?.killed ?? []).map((k: KillRecord) => ({ pid: k.pid, command: k.command, ...owner(k.uid), port: k.port, signal: k.signal, why: k.why })),
    refused: (p?.refused ?? []).map((x: Refusal) => ({ pid: x.pid, command: x.command, ...owner(x.uid), port: x.port, why: x.why })),
  };
}

function stepOf(s: RecordedStep): IncidentRecord['actions']['steps'][number] {
  return { step: s.step, ok: s.ok, ms: Math.round(s.ms), detail: s.detail };
}

function verifyOf(r: RemedyReport): IncidentRecord['verify'] {
  const step = r.steps.findLast((s) => VERIFY_STEP.test(s.step));
  if (!step) return { ok: false, detail: r.skipped ? 'not run: the restart was skipped' : `not run: ${r.failure ?? 'the restart failed'}` };
  return { ok: step.ok, detail: step.detail, ms: Math.round(step.ms) };
}
