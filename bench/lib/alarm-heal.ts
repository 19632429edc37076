/**
 * Alarm to healthy, with the app's cold start as the floor, in rounds: each round first times a
 * `pm2 restart` of the healthy app with no monitor running (a monitor would take that restart for
 * a crash and act on it), then starts the engine and an AlarmPoller beside it (alarms interval 1 s,
 * on_success clear), waits a part of the poll interval (stratified over the trials), sets `alarma = 1` and times until
 * /health answers 200 from a new pid. Alternating the two keeps load changes on the machine from
 * favouring either side.
 */
import type { Connection } from 'mysql2/promise';
import type { RecordedStep } from '../../src/steps/steps.js';
import { waitFor, type Sandbox } from '../../test/helpers/sandbox.js';
import { waitForNewPid } from './health.js';
import type { Lab, LabApp } from './lab.js';
import { shuffled } from './shuffle.js';
import { alarmsBlock, DB, SourceRecord, sleep, startEngine, startPoller, type DbTarget } from './alarm-rig.js';

export const HEAL_INTERVAL_MS = 1000;
/** A trial that is not healthy this long after the UPDATE failed. */
const CAP_MS = 20_000;
const PROCESS_ID = 1;
const round1 = (v: number): number => Math.round(v * 10) / 10;

export interface HealTrial {
  /** UPDATE committed -> first 200 from a new pid; null: not within the cap. */
  readonly ms: number | null;
  readonly newPid?: number;
  /** When the UPDATE was sent, after the start of the latest poll (aimed 0..interval, stratified over the trials). */
  readonly phaseDelayMs: number;
  /** How long the UPDATE itself took (root over the socket; the clock starts when it returns). */
  readonly updateMs: number;
  /** UPDATE committed -> end of the first poll that returned the row. */
  readonly detectMs?: number;
  /** That poll's own duration. */
  readonly detectPollMs?: number;
  /** UPDATE committed -> the clear (UPDATE alarma = 0) returned with 1 row changed. */
  readonly clearedMs?: number;
  /** The remedies the engine ran in the trial (1 expected). */
  readonly remedies: number;
  readonly remedy?: { readonly ok: boolean; readonly strategy: string; readonly totalMs: number; readonly timeToHealthyMs?: number; readonly steps: readonly RecordedStep[] };
  /** Polls the poller made in the trial (all ok expected). */
  readonly polls: number;
  readonly failedPolls: number;
}

export interface HealResult {
  readonly coldMs: number[];
  readonly trials: HealTrial[];
}

export interface HealContext {
  readonly lab: Lab;
  readonly sb: Sandbox;
  readonly app: LabApp;
  readonly db: DbTarget;
  /** Root over the socket: writes the alarm. */
  readonly root: Connection;
  readonly progress: (text: string) => void;
  readonly line: (text: string) => void;
}

/** `pm2 restart` of the healthy, running app (no monitor) -> first 200 from the new pid. */
async function coldStart(c: HealContext): Promise<number> {
  const pid = await c.lab.settle(c.app, { minUptimeMs: 1000 });
  const info = await c.lab.info(c.app.name);
  const t0 = performance.now();
  const acted = c.sb.pm2.act('restart', info.pmId);
  const rec = await waitForNewPid(c.app.port, pid, { t0, capMs: CAP_MS, pollMs: 10, signal: c.lab.abort.signal });
  await acted;
  if (!rec) throw new Error(`cold start: ${c.app.name} did not answer from a new pid within ${CAP_MS} ms`);
  return rec.ms;
}

/** `phase` in [0, 1): where in the poll interval the UPDATE lands (after the first good poll). */
async function alarmTrial(c: HealContext, label: string, phase: number): Promise<HealTrial> {
  const monitor = startEngine(c.sb, c.app, alarmsBlock(c.db, { interval: `${HEAL_INTERVAL_MS}ms`, on_success: 'clear' }));
  const rec = new SourceRecord();
  const poller = startPoller(monitor, monitor.config.alarms!, rec);
  try {
    const pid = await c.lab.settle(c.app, { minUptimeMs: 0 });
    await waitFor(() => `a first good poll and a healthy app (monitor log:\n${monitor.lines.join('\n')})`,
      () => rec.polls.some((p) => p.ok) && monitor.engine.views()[0]?.state.phase === 'healthy', 15_000);
    // The polls start an interval apart (the loop subtracts each poll's own time): aim at
    // `phase` of an interval after the latest poll's start.
    let at = rec.polls[rec.polls.length - 1]!.startMs + phase * HEAL_INTERVAL_MS;
    while (at < performance.now() + 5) at += HEAL_INTERVAL_MS;
    await sleep(at - performance.now());
    const firstPoll = rec.polls.length;
    const u0 = performance.now();
    const latest = rec.polls[rec.polls.length - 1]!;
    const phaseDelayMs = Math.round(u0 - latest.startMs);
    await c.root.query(`UPDATE ${DB}.STATUS_PROCESS SET alarma = 1 WHERE process_id = ?`, [PROCESS_ID]);
    const t0 = performance.now();
    const got = await waitForNewPid(c.app.port, pid, {
      t0, capMs: CAP_MS, pollMs: 10, signal: c.lab.abort.signal, onTick: (ms) => c.progress(`${label}: waiting ${(ms / 1000).toFixed(1)} s`),
    });
    // The remedy's verify and the clear come after the app answers: wait for both.
    await waitFor('the remedy report and the clear', () => monitor.remedies.length > 0 && rec.updates.some((u) => u.changed === 1), 30_000).catch(() => undefined);
    const seen = rec.polls.slice(firstPoll).find((p) => p.ok && p.rows > 0);
    const cleared = rec.updates.find((u) => u.changed === 1);
    const r = monitor.remedies[0];
    const trialPolls = rec.polls.slice(firstPoll);
    return {
      ms: got ? got.ms : null, ...(got ? { newPid: got.pid } : {}), phaseDelayMs, updateMs: t0 - u0,
      ...(seen ? { detectMs: seen.endMs - t0, detectPollMs: seen.endMs - seen.startMs } : {}),
      ...(cleared ? { clearedMs: cleared.endMs - t0 } : {}),
      remedies: monitor.remedies.length,
      ...(r ? { remedy: {
        ok: r.ok, strategy: r.strategy, totalMs: round1(r.totalMs), ...(r.timeToHealthyMs === undefined ? {} : { timeToHealthyMs: round1(r.timeToHealthyMs) }),
        steps: r.steps.map((st) => ({ ...st, ms: round1(st.ms) })),
      } } : {}),
      polls: trialPolls.length, failedPolls: trialPolls.filter((p) => !p.ok).length,
    };
  } finally {
    await poller.stop();
    await monitor.stop();
    // Whatever happened, the next round starts with the alarm off.
    await c.root.query(`UPDATE ${DB}.STATUS_PROCESS SET alarma = 0 WHERE process_id = ?`, [PROCESS_ID]);
  }
}

export async function measureHeal(c: HealContext, trials: number): Promise<HealResult> {
  await c.root.query(`INSERT INTO ${DB}.PROCESE (process_id, process_name) VALUES (?, ?)`, [PROCESS_ID, c.app.name]);
  await c.root.query(`INSERT INTO ${DB}.STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (?, 0, 0, NULL)`, [PROCESS_ID]);
  const result: HealResult = { coldMs: [], trials: [] };
  // Stratified phases: trial k lands in the k-th n-th of the interval (at random within it), in
  // shuffled order, so even 5 trials sample the whole poll loop evenly (plain random draws can
  // bunch up and move the median by a few hundred ms).
  const phases = shuffled(Array.from({ length: trials }, (_, k) => (k + Math.random()) / trials), Math.random);
  for (let i = 0; i < trials; i++) {
    c.progress(`round ${i + 1}/${trials}: cold start`);
    const cold = await coldStart(c);
    result.coldMs.push(cold);
    const label = `round ${i + 1}/${trials}: alarm`;
    c.progress(label);
    const t = await alarmTrial(c, label, phases[i]!);
    result.trials.push(t);
    const f = (v: number | undefined): string => (v === undefined ? '?' : `${(v / 1000).toFixed(2)} s`);
    c.line(`  round ${i + 1}/${trials}: cold start ${f(cold)}; alarm -> healthy ${t.ms === null ? 'not within the cap' : f(t.ms)}` +
      ` (UPDATE ${t.phaseDelayMs} ms after a poll, seen by the next after ${f(t.detectMs)}, cleared after ${f(t.clearedMs)}, ${t.remedies} remedy, ${t.failedPolls}/${t.polls} polls failed)`);
  }
  return result;
}
