/**
 * One app's row of the status document: what `status --json` prints, what the running monitor
 * serves at /api/status and renders on its page. Built from one look at the app (a live
 * inspection for the command, the worker's last check for the server), the app's config, the
 * monitor's record and the holders of its ports. Pure: everything read is passed in.
 */
import type { AppConfig } from '../config/schema.js';
import type { Observation, Verdict } from '../engine/decide.js';
import type { AppStateRecord } from '../engine/state-document.js';
import type { HttpOutcome } from '../probes/types.js';
import type { UpdateStatus } from '../update/view.js';
import type { ScheduleStatus } from '../schedules/view.js';

/** An HTTP probe's outcome, in the JSON convention (snake_case, integer ms). */
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

export interface PortHolder {
  readonly port: number;
  readonly pid: number;
  readonly command: string;
  readonly uid: number;
}

export interface StatusRow {
  readonly name: string;
  readonly healthy: boolean;
  /** Why not healthy: the failing probe or rule, PM2's state, or the startup grace. */
  readonly reason?: string;
  /** How the app runs and restarts (restart_strategy, auto resolved). */
  readonly strategy: string;
  readonly pm2: { readonly status: string; readonly pids: readonly number[]; readonly uptime_ms: number; readonly restarts: number };
  readonly health?: HealthJson;
  /** TCP, exec, log and memory rules, as the monitor runs them. */
  readonly probes?: readonly { readonly kind: string; readonly ok: boolean; readonly latency_ms: number; readonly detail?: string }[];
  readonly ports: readonly { readonly port: number; readonly holders: readonly { readonly pid: number; readonly command: string; readonly uid: number }[] }[];
  /** The monitor's view from state.json, with the pause from control.json (the operator's word). */
  readonly monitor?: AppStateRecord;
  /** Git auto-update (apps with `update:`). */
  readonly update?: UpdateStatus;
  /** PM2's cron_restart and who fires it (apps with one). */
  readonly schedule?: ScheduleStatus;
}

export interface RowInput {
  readonly app: AppConfig;
  readonly strategy: string;
  readonly observation: Observation;
  readonly verdict: Verdict;
  /** Holders of any of the app's ports (others are ignored). */
  readonly holders: readonly PortHolder[];
  readonly monitor?: AppStateRecord;
  readonly update?: UpdateStatus;
  readonly schedule?: ScheduleStatus;
}

export function statusRow(input: RowInput): StatusRow {
  const { app, observation, verdict, holders, monitor, update, schedule } = input;
  const s = observation.pm2;
  const health = observation.http;
  const others = observation.others ?? [];
  return {
    name: app.name,
    healthy: verdict.healthy,
    ...(verdict.reason ? { reason: verdict.reason } : {}),
    strategy: input.strategy,
    pm2: { status: s.state, pids: s.pids, uptime_ms: s.state === 'online' && s.uptimeMs < Number.MAX_SAFE_INTEGER ? Math.round(s.uptimeMs) : 0, restarts: s.restarts },
    ...(health ? { health: healthJson(health) } : {}),
    ...(others.length > 0 ? { probes: others.map((o) => ({ kind: o.kind, ok: o.ok, latency_ms: Math.round(o.latencyMs), ...(o.detail ? { detail: o.detail } : {}) })) } : {}),
    ports: app.ports.map((port) => ({ port, holders: holders.filter((h) => h.port === port).map((h) => ({ pid: h.pid, command: h.command, uid: h.uid })) })),
    ...(monitor ? { monitor } : {}),
    ...(update ? { update } : {}),
    ...(schedule ? { schedule } : {}),
  };
}
