/**
 * The chaos run's report: one line per fault (every trial of it folded in: recovered in how many,
 * the median time to healthy, foreign kills summed, restarts ours/PM2's as min-max), the bench
 * figures (daemon kill to all healthy, the monitor's RSS), and the JSON document.
 */
import { jsonNumber, summarize, table } from '../../bench/lib/stats.js';
import type { RowResult } from './runner.js';

export interface FaultSummary {
  readonly fault: string;
  readonly expected: string;
  readonly status: 'passed' | 'missed' | 'skipped' | 'not run';
  readonly trials: number;
  readonly recovered: number;
  readonly medianHealthyMs: number | null;
  readonly healthyMs: readonly (number | null)[];
  readonly foreignKills: number;
  readonly ours: readonly number[];
  readonly pm2: readonly number[];
  readonly notes: readonly string[];
}

export function summarizeFault(fault: string, expected: string, rows: readonly RowResult[]): FaultSummary {
  const ran = rows.filter((r) => r.status !== 'skipped');
  const status = rows.length === 0 ? 'not run' : ran.length === 0 ? 'skipped' : ran.every((r) => r.status === 'passed') ? 'passed' : 'missed';
  const times = ran.map((r) => r.healthyMs);
  const measured = times.filter((t): t is number => t !== null);
  const med = measured.length === 0 ? null : jsonNumber(summarize(times).median);
  // The notes of a missed trial first: they say why.
  const notes = [...rows.filter((r) => r.status === 'missed'), ...rows.filter((r) => r.status !== 'missed')].flatMap((r) => r.notes.map((n) => (rows.length > 1 ? `#${r.trial}: ${n}` : n)));
  return {
    fault, expected, status, trials: ran.length, recovered: ran.filter((r) => r.recovered).length,
    medianHealthyMs: med, healthyMs: times.map((t) => (t === null ? null : jsonNumber(t))),
    foreignKills: ran.reduce((a, r) => a + r.foreignKills, 0),
    ours: ran.map((r) => r.ours), pm2: ran.map((r) => r.pm2), notes: [...new Set(notes)],
  };
}

const range = (xs: readonly number[]): string => {
  if (xs.length === 0) return '-';
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? String(lo) : `${lo}-${hi}`;
};

/** The stdout table. */
export function renderTable(sums: readonly FaultSummary[]): string {
  const rows = sums.map((s) => [
    s.fault,
    s.expected,
    s.status === 'skipped' || s.status === 'not run' ? '-' : `${s.recovered}/${s.trials}`,
    s.medianHealthyMs === null ? '-' : `${(s.medianHealthyMs / 1000).toFixed(2)} s`,
    s.status === 'skipped' || s.status === 'not run' ? '-' : String(s.foreignKills),
    s.status === 'skipped' || s.status === 'not run' ? '-' : `${range(s.ours)}/${range(s.pm2)}`,
    s.status,
    s.notes.slice(0, 3).join('; '),
  ]);
  return table(['fault', 'expected', 'recovered?', 'time to healthy', 'foreign kills', 'restarts ours/PM2', 'result', 'note'], rows);
}

/** Median of the numbers present, or null. */
export function medianOf(xs: readonly (number | undefined | null)[]): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length === 0 ? null : jsonNumber(summarize(v).median);
}
