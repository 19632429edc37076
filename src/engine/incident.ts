/**
 * One remedy told once, as one record: what asked for it and what was seen, what was done (ports
 * freed, processes killed or refused, the restart), whether health came back and how fast, the
 * circuit after, and what was told to people. The worker makes it when the remedy ends and hands
 * it to whoever records (the JSON log line, the metrics, the status page). Pure data.
 */
import type { Circuit, Observation } from './decide.js';
import type { RemedyReport } from './remedy.js';
import type { RemedyTrigger } from './trigger.js';
import type { WorkerEvent } from './view.js';

export interface Incident {
  /** Unique in this host's logs; every log line of the remedy carries it (incident_id). */
  readonly id: string;
  readonly app: string;
  /** Wall-clock ISO time the remedy started. */
  readonly startedAt: string;
  readonly trigger: RemedyTrigger;
  /** The policy's reason (`health: status 503`). */
  readonly reason: string;
  /** The half-open circuit's one trial remedy. */
  readonly trial: boolean;
  /** Judged hung: the first restart killed the instance at once (no kill_timeout waited out). */
  readonly hung: boolean;
  /** The observation the decision was made on. */
  readonly observation: Observation;
  readonly report: RemedyReport;
  readonly circuitAfter: Circuit;
  /** The events handed to the notifier during the incident, in order. */
  readonly told: readonly WorkerEvent['type'][];
}

/** The remedy's result as one word from a closed set (metrics labels, the page). */
export type IncidentResult = 'healed' | 'failed' | 'skipped';

export function incidentResult(i: Incident): IncidentResult {
  return i.report.ok ? 'healed' : i.report.skipped ? 'skipped' : 'failed';
}
