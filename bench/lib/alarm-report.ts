/**
 * The alarm bench's three tables (alarm to healthy against the cold start; the cost of one poll
 * against a SELECT 1 at 10, 100 and 1,000 rows; CPU while the server is down against the idle
 * engine), the notes under them, and the JSON parts. Baselines are always from the same run.
 */
import type { HealResult } from './alarm-heal.js';
import type { OutageWindow } from './alarm-outage.js';
import type { CallCost, PollCostResult } from './alarm-poll-cost.js';
import { COUNTERS, type Counters } from './alarm-rig.js';
import { jsonNumber, secs, summarize, summaryJson, table, type Summary } from './stats.js';

const row5 = (s: Summary, digits = 2): string[] => [secs(s.median, digits), secs(s.p90, digits), secs(s.min, digits), secs(s.max, digits), `${s.recovered}/${s.n}`];
const defined = (xs: readonly (number | undefined)[]): number[] => xs.filter((x): x is number => x !== undefined);
const fixed = (v: number, d: number): string => (Number.isFinite(v) ? v.toFixed(d) : '?');
const med = (xs: readonly number[]): number => summarize(xs).median;
const signedSecs = (ms: number): string => `${ms >= 0 ? '+' : '-'}${secs(Math.abs(ms))}`;
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export interface HealSummary {
  readonly heal: Summary;
  readonly cold: Summary;
  readonly detect: Summary;
  /** Per trial: healthy minus detection (the check, the remedy and the app's start). */
  readonly rest: Summary;
  readonly cleared: Summary;
}

export function summarizeHeal(h: HealResult): HealSummary {
  return {
    heal: summarize(h.trials.map((t) => t.ms)),
    cold: summarize(h.coldMs),
    detect: summarize(defined(h.trials.map((t) => t.detectMs))),
    rest: summarize(defined(h.trials.map((t) => (t.ms !== null && t.detectMs !== undefined ? t.ms - t.detectMs : undefined)))),
    cleared: summarize(defined(h.trials.map((t) => t.clearedMs))),
  };
}

export function healTable(s: HealSummary): string {
  const r = s.heal.median / s.cold.median;
  const diff = s.heal.median - s.cold.median;
  return table(['alarm to healthy (interval 1 s)', 'median', 'p90', 'min', 'max', 'n', 'median/floor', 'median - floor'], [
    ['alarm -> healthy: UPDATE to 200 from a new pid', ...row5(s.heal), Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a', Number.isFinite(diff) ? signedSecs(diff) : 'n/a'],
    ['cold start (floor): pm2 restart to 200, new pid', ...row5(s.cold), '-', '-'],
    ['  detection: UPDATE to the poll that saw it', ...row5(s.detect), '-', '-'],
    ['  the rest: that poll to 200 from a new pid', ...row5(s.rest), '-', '-'],
    ['  UPDATE to the row cleared (after verify)', ...row5(s.cleared), '-', '-'],
  ]);
}

export function healNotes(h: HealResult, s: HealSummary): string[] {
  const steps = h.trials.find((t) => t.remedy)?.remedy?.steps.map((st) => `${st.step} ${Math.round(st.ms)} ms`).join(', ');
  const polls = h.trials.reduce((n, t) => n + t.polls, 0);
  const failed = h.trials.reduce((n, t) => n + t.failedPolls, 0);
  return [
    `alarm -> healthy minus cold start: ${secs(s.heal.median - s.cold.median)} (medians). The poller reads the table every 1 s; an UPDATE at any moment waits 0 to 1 s for the next poll, 0.5 s on average (the trials' UPDATEs are spread evenly over the loop): the difference is bounded by the interval plus the poll, the app's check and the remedy's own steps. Measured here: detection median ${secs(s.detect.median)} (the UPDATEs landed ${h.trials.map((t) => t.phaseDelayMs).join(', ')} ms after a poll started), then ${secs(s.rest.median)} from that poll to healthy against the ${secs(s.cold.median)} cold start (${signedSecs(s.rest.median - s.cold.median)}: the app's check, the remedy's survey and PM2's restart, within the cold start's own spread)`,
    `remedies per trial ${h.trials.map((t) => t.remedies).join(', ')} (1 expected), strategy ${[...new Set(h.trials.map((t) => t.remedy?.strategy ?? '-'))].join('/')}, ok ${h.trials.filter((t) => t.remedy?.ok).length}/${h.trials.length}; the monitor's own start->verified median ${secs(summarize(defined(h.trials.map((t) => t.remedy?.timeToHealthyMs))).median)}; steps of the first: ${steps ?? '-'}`,
    `polls during the trials: ${polls}, failed ${failed}; the poll that saw the alarm took ${secs(med(defined(h.trials.map((t) => t.detectPollMs))), 3)} (median); the root's UPDATE took ${secs(med(h.trials.map((t) => t.updateMs)), 3)} (the clock starts when it returns)`,
  ];
}

export function healJson(h: HealResult, s: HealSummary): Record<string, unknown> {
  const round = (t: HealResult['trials'][number]): Record<string, unknown> => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, typeof v === 'number' ? jsonNumber(v) : v]));
  return {
    alarmToHealthy: summaryJson(s.heal), coldStart: summaryJson(s.cold), detection: summaryJson(s.detect), rest: summaryJson(s.rest), cleared: summaryJson(s.cleared),
    medianOverFloor: Number.isFinite(s.heal.median / s.cold.median) ? Math.round((s.heal.median / s.cold.median) * 1000) / 1000 : null,
    medianMinusFloorMs: jsonNumber(s.heal.median - s.cold.median),
    coldMs: h.coldMs.map(jsonNumber), trials: h.trials.map(round),
  };
}

const cpu = (xs: readonly CallCost[]): number => med(xs.map((x) => x.cpuUs));
const wall = (xs: readonly CallCost[]): number => med(xs.map((x) => x.wallMs));
const per = (c: Counters, k: (typeof COUNTERS)[number]): string => fixed(c[k], 2);

export function costTable(rs: readonly PollCostResult[]): string {
  const rowsOf = (r: PollCostResult): string[][] => {
    const base = cpu(r.select1);
    const line = (what: string, xs: readonly CallCost[], c: Counters): string[] => [
      String(r.rows), String(r.inAlarm), what, `${fixed(cpu(xs), 0)} (${fixed(mean(xs.map((x) => x.cpuUs)), 0)})`, `${fixed(cpu(xs) / base, 2)}x`, fixed(wall(xs), 3),
      per(c, 'Questions'), per(c, 'Com_stmt_execute'), per(c, 'Com_stmt_prepare'), per(c, 'Connections'),
    ];
    return [
      line('poll, pooled connection', r.poll, r.perPoll),
      line('SELECT 1, pooled (baseline)', r.select1, r.perSelect1),
      line('poll, new connection', r.fresh, r.perFresh),
    ];
  };
  return table(['rows', 'in alarm', 'call', 'CPU µs median (mean)', 'vs SELECT 1', 'wall ms median', 'Questions', 'Com_stmt_execute', 'Com_stmt_prepare', 'Connections'], rs.flatMap(rowsOf));
}

export function costNotes(rs: readonly PollCostResult[], self: Counters, calls: number): string[] {
  const fresh = rs[0]?.fresh.length ?? 0;
  return [
    `each size: ${calls} polls and ${calls} SELECT 1 on the pooled connection, interleaved after 20 of each to warm up; then counted apart, ${calls} of each, for the server's counters (per call; one counter read costs ${COUNTERS.map((k) => `${k} ${self[k]}`).join(', ')} and is subtracted). "new connection": ${fresh} polls, each through a source of its own (connect, authenticate, prepare, execute; closed after the counting, as a close adds a COM_QUIT) (the first poll, or one after the server dropped the idle connection). CPU = process.cpuUsage() user+system around each call`,
  ];
}

export function costJson(rs: readonly PollCostResult[]): Record<string, unknown>[] {
  const r1 = (v: number): number | null => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null);
  const calls = (xs: readonly CallCost[]): Record<string, unknown> => ({
    cpuUsMedian: jsonNumber(cpu(xs)), cpuUsMean: jsonNumber(mean(xs.map((x) => x.cpuUs))), wallMsMedian: r1(wall(xs)), wallMsMean: r1(mean(xs.map((x) => x.wallMs))),
    cpuUs: xs.map((x) => x.cpuUs), wallMs: xs.map((x) => r1(x.wallMs)),
  });
  const counters = (c: Counters): Record<string, number | null> => Object.fromEntries(COUNTERS.map((k) => [k, r1(c[k])]));
  return rs.map((r) => ({
    rows: r.rows, inAlarm: r.inAlarm, returned: r.returned,
    pooled: { poll: calls(r.poll), select1: calls(r.select1), pollOverSelect1Cpu: r1(cpu(r.poll) / cpu(r.select1)), serverPerPoll: counters(r.perPoll), serverPerSelect1: counters(r.perSelect1), countedCalls: r.counted },
    newConnection: { poll: calls(r.fresh), overPooledSelect1Cpu: r1(cpu(r.fresh) / cpu(r.select1)), serverPerPoll: counters(r.perFresh) },
  }));
}

/** The idle windows' CPU per second (all of them pooled). */
export function idleRate(ws: readonly OutageWindow[]): number {
  const idle = ws.filter((w) => w.kind === 'idle');
  return idle.reduce((a, w) => a + w.cpuMs, 0) / (idle.reduce((a, w) => a + w.wallMs, 0) / 1000);
}

/** A window's CPU ms above what the idle rate would have spent in the same time. */
const overIdleMs = (w: OutageWindow, base: number): number => w.cpuMs - (base * w.wallMs) / 1000;

const attemptMs = (w: OutageWindow): number => med((w.attemptCpuUs ?? []).map((us) => us / 1000));

export function outageTable(ws: readonly OutageWindow[]): string {
  const base = idleRate(ws);
  return table(['server down: window', 'seconds', 'CPU ms/s', 'minus idle', 'vs idle', 'attempts (expected)', 'CPU ms/attempt: measured (median)', 'CPU ms/attempt: window over idle', '"down" lines', 'alarm lines'],
    ws.map((w) => {
      const rate = w.cpuMs / (w.wallMs / 1000);
      const poller = w.kind === 'poller';
      return [
        w.label, fixed(w.wallMs / 1000, 1), fixed(rate, 2), poller ? `${rate - base >= 0 ? '+' : ''}${fixed(rate - base, 2)}` : '-', poller ? `${fixed(rate / base, 2)}x` : '-',
        w.attempts === undefined ? '-' : `${w.attempts} (${w.expectedAttempts ? [...new Set(w.expectedAttempts)].join('-') : '?'})`,
        poller ? fixed(attemptMs(w), 2) : '-', w.attempts ? fixed(overIdleMs(w, base) / w.attempts, 2) : '-',
        poller ? `${w.downLines}${w.downLines === 1 ? ' ok' : ' (1 expected)'}` : String(w.downLines), String(w.lines.length),
      ];
    }));
}

export function outageNotes(ws: readonly OutageWindow[]): string[] {
  const idle = ws.filter((w) => w.kind === 'idle').map((w) => w.cpuMs / (w.wallMs / 1000));
  const spread = idle.length > 1 ? Math.max(...idle) / Math.min(...idle) : 1;
  const byDefault = ws.find((w) => w.kind === 'poller' && w.intervalMs === 300_000);
  return [
    `idle baseline: ${fixed(idleRate(ws), 2)} CPU ms/s, the idle windows pooled (${idle.map((x) => fixed(x, 2)).join(' and ')}): the engine probing one app every 1 s, nothing else` +
      (spread > 1.5 ? `. The idle windows differ by ${fixed(spread, 1)}x: a one-off in the process (see the GC pauses below and perSecondMs in the JSON), so "minus idle" is rough in this run; the measured CPU per attempt does not depend on the baseline` : ''),
    `where the CPU went (main thread / whole process ms, GC pauses ms in n, the engine's own log lines): ${ws.map((w) => `${w.label} ${fixed(w.mainThreadCpuMs, 0)} / ${fixed(w.cpuMs, 0)}, GC ${fixed(w.gcPauseMs, 1)} in ${w.gcs}, ${w.engineLines} lines`).join('; ')}`,
    ...ws.filter((w) => w.kind === 'poller').map((w) =>
      `${w.label}: ${w.failedAttempts}/${w.attempts} attempts failed (${w.codes?.join(', ') || '-'}); gaps between attempts ${w.attemptGapsMs?.join(', ') ?? '-'} ms; CPU per attempt ${(w.attemptCpuUs ?? []).map((us) => fixed(us / 1000, 1)).join(', ')} ms; lines: ${w.lines.map((l) => JSON.stringify(l.replace(/ \{.*$/, ''))).join(' | ') || '-'}`),
    ...(byDefault ? [`at the default interval the backoff (1 s doubling) reaches the 5 min cap after 9 retries (about 8.5 min); from then on one attempt per 4-5 min: about ${fixed(attemptMs(byDefault) / 300, 3)} CPU ms/s at the measured ${fixed(attemptMs(byDefault), 2)} ms per attempt`] : []),
  ];
}

export function outageJson(ws: readonly OutageWindow[]): Record<string, unknown> {
  const base = idleRate(ws);
  return {
    idleCpuMsPerS: Number.isFinite(base) ? Math.round(base * 1000) / 1000 : null,
    windows: ws.map((w) => ({
      ...w, wallMs: Math.round(w.wallMs), cpuMs: jsonNumber(w.cpuMs), cpuMsPerS: Math.round((w.cpuMs / (w.wallMs / 1000)) * 1000) / 1000,
      ...(w.kind === 'poller' ? {
        overIdleMsPerS: Math.round((w.cpuMs / (w.wallMs / 1000) - base) * 1000) / 1000,
        overIdleMsPerAttempt: w.attempts ? Math.round((overIdleMs(w, base) / w.attempts) * 1000) / 1000 : null,
        attemptCpuMsMedian: Math.round(attemptMs(w) * 1000) / 1000,
      } : {}),
    })),
  };
}
