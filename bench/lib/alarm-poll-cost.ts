/**
 * What one poll of the alarm table costs the client (CPU and wall time per call) and the server
 * (its Questions and prepared-statement counters per call), at a given number of rows, against a
 * `SELECT 1` through the very same pool in the same run. The baseline goes through the source's
 * own update() call: the same pool, deadline and prepared-statement path as poll(), only without
 * the JOIN and the row mapping (its "rows changed" answer is meaningless for a SELECT and unused).
 * A poll on a new connection is timed apart: the first poll, and any after the server dropped
 * the idle connection, connects, authenticates, sets the session's statement limit and prepares.
 */
import type { Connection } from 'mysql2/promise';
import { openAlarmSource, type AlarmSource } from '../../src/alarms/source.js';
import type { AlarmsConfig } from '../../src/config/alarms.js';
import { COUNTERS, counterDelta, fillTables, fullGc, readCounters, type Counters } from './alarm-rig.js';

const SELECT_1 = { sql: 'SELECT 1', params: [] } as const;
const WARMUP = 20;

export interface CallCost {
  /** process.cpuUsage() user + system over the call, µs. */
  readonly cpuUs: number;
  readonly wallMs: number;
}

export interface PollCostResult {
  readonly rows: number;
  readonly inAlarm: number;
  /** Rows the polls returned (each poll returns the same). */
  readonly returned: number;
  readonly poll: CallCost[];
  readonly select1: CallCost[];
  /** Polls of a new source each (connect, authenticate, prepare, execute); closing is not timed. */
  readonly fresh: CallCost[];
  /** Server counters per call, the root's own status reads subtracted. */
  readonly perPoll: Counters;
  readonly perSelect1: Counters;
  readonly perFresh: Counters;
  /** Calls in each counter batch. */
  readonly counted: number;
}

async function timed(run: () => Promise<unknown>): Promise<CallCost> {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  await run();
  const wallMs = performance.now() - w0;
  const c = process.cpuUsage(c0);
  return { cpuUs: c.user + c.system, wallMs };
}

/** What one counter read adds to the counters itself (it is a statement too). */
export async function counterSelfCost(root: Connection): Promise<Counters> {
  const a = await readCounters(root);
  const b = await readCounters(root);
  const c = await readCounters(root);
  const d1 = counterDelta(a, b);
  const d2 = counterDelta(b, c);
  return Object.fromEntries(COUNTERS.map((k) => [k, Math.min(d1[k], d2[k])])) as Counters;
}

/** Counters per call over `n` calls of `run`, minus the closing counter read's own share. */
async function countPerCall(root: Connection, self: Counters, n: number, run: (i: number) => Promise<unknown>): Promise<Counters> {
  const before = await readCounters(root);
  for (let i = 0; i < n; i++) await run(i);
  const after = await readCounters(root);
  const d = counterDelta(before, after);
  return Object.fromEntries(COUNTERS.map((k) => [k, (d[k] - self[k]) / n])) as Counters;
}

/**
 * `n` polls, each through a source of its own (timed), counted on the server; the sources are
 * closed after the closing counter read: a close sends COM_QUIT, which counts as a Question, and
 * the pool's own idle timeout destroys a connection without one.
 */
async function freshPolls(root: Connection, self: Counters, cfg: AlarmsConfig, env: NodeJS.ProcessEnv, n: number): Promise<{ costs: CallCost[]; per: Counters }> {
  const costs: CallCost[] = [];
  const sources: AlarmSource[] = [];
  try {
    const per = await countPerCall(root, self, n, async () => {
      const source = openAlarmSource(cfg, env);
      sources.push(source);
      costs.push(await timed(() => source.poll()));
    });
    return { costs, per };
  } finally {
    await Promise.all(sources.map((x) => x.close()));
  }
}

/** Fill the tables with `rows` rows and time `calls` polls against as many `SELECT 1`, interleaved. */
export async function measurePollCost(root: Connection, cfg: AlarmsConfig, env: NodeJS.ProcessEnv, rows: number, calls: number, freshCalls: number, self: Counters): Promise<PollCostResult> {
  const inAlarm = Math.max(1, Math.round(rows / 100));
  await fillTables(root, rows, inAlarm);
  fullGc();
  const fresh = await freshPolls(root, self, cfg, env, freshCalls);
  const source: AlarmSource = openAlarmSource(cfg, env);
  try {
    let returned = 0;
    const poll = async (): Promise<void> => {
      returned = (await source.poll()).length;
    };
    const select1 = (): Promise<number> => source.update(SELECT_1);
    await poll();
    if (returned !== inAlarm) throw new Error(`the poll returned ${returned} rows, ${inAlarm} are in alarm`);
    for (let i = 0; i < WARMUP; i++) {
      await poll();
      await select1();
    }
    fullGc();
    const pollCosts: CallCost[] = [];
    const selectCosts: CallCost[] = [];
    // Interleaved, the order alternating: machine noise and GC hit both alike.
    for (let i = 0; i < calls; i++) {
      if (i % 2 === 0) {
        pollCosts.push(await timed(poll));
        selectCosts.push(await timed(select1));
      } else {
        selectCosts.push(await timed(select1));
        pollCosts.push(await timed(poll));
      }
    }
    const perPoll = await countPerCall(root, self, calls, poll);
    const perSelect1 = await countPerCall(root, self, calls, select1);
    return { rows, inAlarm, returned, poll: pollCosts, select1: selectCosts, fresh: fresh.costs, perPoll, perSelect1, perFresh: fresh.per, counted: calls };
  } finally {
    await source.close();
  }
}
