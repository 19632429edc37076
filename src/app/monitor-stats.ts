/**
 * A few numbers about the monitor's own work since it started, for `pm2 show helpdesk-monitor`:
 * remedies finished, and the p95 latency of recent HTTP health probes. Fed by the engine's hooks
 * like the status server's metrics, but with no dependency: it holds a bounded window (the last
 * WINDOW probes, none older than MAX_AGE_MS), so it stays small however long the monitor runs.
 */
import type { Observation } from '../engine/decide.js';
import type { Incident } from '../engine/incident.js';
import type { WorkerView } from '../engine/view.js';

/** How many recent probe latencies the p95 is taken over. */
export const WINDOW = 256;
/** Probes older than this say nothing about now. */
export const MAX_AGE_MS = 5 * 60_000;

export class MonitorStats {
  /** Ring buffers of latency and monotonic time; `count` of them are filled. */
  private readonly latency = new Float64Array(WINDOW);
  private readonly at = new Float64Array(WINDOW);
  private next = 0;
  private count = 0;
  private remedyCount = 0;

  /** For the engine's build (joined with the other doors' hooks). */
  readonly hooks = {
    onObservation: (_app: string, obs: Observation): void => {
      if (obs.http) this.probe(obs.http.latencyMs, obs.at);
    },
    onIncident: (_incident: Incident): void => {
      this.remedyCount++;
    },
  };

  /** Remedies finished since the monitor started (each told once, as one incident). */
  get remedies(): number {
    return this.remedyCount;
  }

  /** One HTTP probe's latency, at monotonic time `at`. */
  probe(latencyMs: number, at: number): void {
    if (!Number.isFinite(latencyMs)) return;
    this.latency[this.next] = latencyMs;
    this.at[this.next] = at;
    this.next = (this.next + 1) % WINDOW;
    this.count = Math.min(this.count + 1, WINDOW);
  }

  /**
   * The 95th percentile (nearest rank) of the probes in the window no older than MAX_AGE_MS at
   * monotonic `now`, in whole ms; undefined when there is none.
   */
  probeP95Ms(now: number): number | undefined {
    const recent: number[] = [];
    for (let i = 0; i < this.count; i++) if (now - this.at[i]! <= MAX_AGE_MS) recent.push(this.latency[i]!);
    if (recent.length === 0) return undefined;
    recent.sort((a, b) => a - b);
    return Math.round(recent[Math.ceil(0.95 * recent.length) - 1]!);
  }
}

/** The numbers `pm2 show helpdesk-monitor` lists. */
export interface MonitorFigures {
  readonly apps: number;
  /** Apps whose last check did not pass (failing, unhealthy, remedying, stopped, missing, not checked yet). */
  readonly unhealthy: number;
  readonly openCircuits: number;
  readonly remedies: number;
  readonly probeP95Ms: number | undefined;
}

/** The figures from what the workers know now (as the status server's metrics count them). */
export function monitorFigures(views: readonly WorkerView[], stats: MonitorStats, monoNow: number): MonitorFigures {
  return {
    apps: views.length,
    unhealthy: views.filter((v) => v.state.phase !== 'healthy').length,
    openCircuits: views.filter((v) => v.state.circuit === 'open').length,
    remedies: stats.remedies,
    probeP95Ms: stats.probeP95Ms(monoNow),
  };
}
