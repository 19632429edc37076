/**
 * The alarm table's own health as sequences of polls on injected time: what is logged (a change
 * once, a lasting outage every 10 min, the return once) and when the next poll comes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  STILL_DOWN_EVERY_MS,
  initialHealth,
  pollFailed,
  pollSucceeded,
  retryMs,
  type Fault,
  type Line,
  type SourceHealth,
} from '../../../src/alarms/outage.js';

const INTERVAL = 300_000;
const CAP = 60_000;
const REFUSED: Fault = { kind: 'unreachable', key: 'ECONNREFUSED', text: 'ECONNREFUSED 127.0.0.1:3306' };
const TIMEDOUT: Fault = { kind: 'unreachable', key: 'ETIMEDOUT', text: 'ETIMEDOUT 127.0.0.1:3306' };
const NO_TABLE: Fault = { kind: 'refused', key: 'ER_NO_SUCH_TABLE', text: "ER_NO_SUCH_TABLE: Table 'v_process_monitor.STATUS_PROCESS' doesn't exist" };

type Event = { at: number; ok: true } | { at: number; fault: Fault };

/** Run a sequence of poll results; every line logged, with its time, and the waits. */
function run(events: readonly Event[], opts = { intervalMs: INTERVAL, capMs: CAP, rand: 0 }) {
  let health: SourceHealth = initialHealth;
  const lines: (Line & { at: number })[] = [];
  const waits: number[] = [];
  for (const e of events) {
    const step = 'ok' in e ? pollSucceeded(health, e.at, opts.intervalMs) : pollFailed(health, e.fault, e.at, opts);
    health = step.health;
    waits.push(step.nextMs);
    if (step.line) lines.push({ ...step.line, at: e.at });
  }
  return { health, lines, waits };
}

/** Failures of `fault` every `everyMs` from `from` (inclusive) to `to` (exclusive). */
const failing = (fault: Fault, from: number, to: number, everyMs: number): Event[] => {
  const out: Event[] = [];
  for (let at = from; at < to; at += everyMs) out.push({ at, fault });
  return out;
};

describe('outage: what is logged', () => {
  test('polls that work log nothing and wait the interval', () => {
    const r = run([{ at: 0, ok: true }, { at: INTERVAL, ok: true }, { at: 2 * INTERVAL, ok: true }]);
    assert.deepEqual(r.lines, []);
    assert.deepEqual(r.waits, [INTERVAL, INTERVAL, INTERVAL]);
    assert.deepEqual(r.health, { kind: 'up' });
  });

  test('first failure: one error line saying down, with the fault text', () => {
    const r = run([{ at: 1000, fault: REFUSED }]);
    assert.equal(r.lines.length, 1);
    assert.equal(r.lines[0]!.level, 'error');
    assert.match(r.lines[0]!.message, /database down \(ECONNREFUSED 127\.0\.0\.1:3306\)/);
    assert.match(r.lines[0]!.message, /probes and remedies go on/);
    assert.equal(r.health.kind, 'down');
  });

  test('the same fault for just under 10 min: still the one line', () => {
    const r = run(failing(REFUSED, 0, STILL_DOWN_EVERY_MS, 5000));
    assert.equal(r.lines.length, 1);
    assert.equal(r.lines[0]!.at, 0);
  });

  test('the same fault for 30 min: down, then "still failing" at 10, 20 and 30 min, and nothing in between', () => {
    const r = run(failing(REFUSED, 0, 30 * 60_000 + 1, 5000));
    assert.deepEqual(r.lines.map((l) => [l.at, l.level]), [[0, 'error'], [600_000, 'warn'], [1_200_000, 'warn'], [1_800_000, 'warn']]);
    assert.match(r.lines[1]!.message, /still failing after 10 min \(ECONNREFUSED 127\.0\.0\.1:3306\)/);
    assert.match(r.lines[3]!.message, /still failing after 30 min/);
  });

  test('another code of the same kind is the same outage: no line, and the "still" line names the latest code', () => {
    const events = [...failing(REFUSED, 0, 120_000, 5000), ...failing(TIMEDOUT, 120_000, STILL_DOWN_EVERY_MS + 1, 5000)];
    const r = run(events);
    assert.deepEqual(r.lines.map((l) => [l.at, l.level]), [[0, 'error'], [STILL_DOWN_EVERY_MS, 'warn']]);
    assert.match(r.lines[1]!.message, /still failing after 10 min \(ETIMEDOUT/, 'the outage is counted from its start, with the code seen last');
  });

  test('another kind of fault is news: the server answers now but refuses the query', () => {
    const DENIED: Fault = { kind: 'refused', key: 'ER_TABLEACCESS_DENIED_ERROR', text: 'ER_TABLEACCESS_DENIED_ERROR (1142) at 127.0.0.1:3306: SELECT command denied' };
    const r = run([...failing(REFUSED, 0, 20_000, 5000), { at: 20_000, fault: DENIED }, { at: 320_000, fault: DENIED }, { at: 620_000, ok: true }]);
    assert.deepEqual(r.lines.map((l) => [l.at, l.level]), [[0, 'error'], [20_000, 'error'], [620_000, 'info']]);
    assert.match(r.lines[1]!.message, /query refused now: ER_TABLEACCESS_DENIED_ERROR/);
    assert.match(r.lines[2]!.message, /the query works again after 620 s/);
  });

  test('back: one "back after N s" line, then silence', () => {
    const r = run([...failing(REFUSED, 10_000, 40_000, 1000), { at: 40_000, ok: true }, { at: 340_000, ok: true }, { at: 640_000, ok: true }]);
    assert.equal(r.lines.length, 2);
    assert.equal(r.lines[1]!.level, 'info');
    assert.equal(r.lines[1]!.message, 'alarm table: database back after 30 s');
    assert.equal(r.lines[1]!.at, 40_000);
    assert.deepEqual(r.health, { kind: 'up' });
  });

  test('down again after being back: a new "down" line, the outage counted afresh', () => {
    const r = run([{ at: 0, fault: REFUSED }, { at: 5000, ok: true }, { at: 100_000, fault: REFUSED }, { at: 107_000, ok: true }]);
    assert.deepEqual(r.lines.map((l) => l.message.replace(/ \(.*/, '')), [
      'alarm table: database down', 'alarm table: database back after 5 s', 'alarm table: database down', 'alarm table: database back after 7 s',
    ]);
  });

  test('back after a very short outage says at least 1 s', () => {
    const r = run([{ at: 0, fault: REFUSED }, { at: 10, ok: true }]);
    assert.equal(r.lines[1]!.message, 'alarm table: database back after 1 s');
  });

  test('a refused query (missing table) is told once, not as "down"', () => {
    const r = run(failing(NO_TABLE, 0, STILL_DOWN_EVERY_MS, 60_000));
    assert.equal(r.lines.length, 1);
    assert.equal(r.lines[0]!.level, 'error');
    assert.match(r.lines[0]!.message, /ER_NO_SUCH_TABLE/);
    assert.doesNotMatch(r.lines[0]!.message, /down/);
  });
});

describe('outage: when to poll next', () => {
  test('retryMs: 1 s doubling up to the cap (rand 0: no jitter)', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 20, 1000].map((n) => retryMs(n, 60_000, 0)), [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000]);
  });

  test('retryMs: jitter shortens the wait by at most 20 %, and never lengthens it past the cap', () => {
    for (let n = 1; n <= 12; n++) {
      const base = Math.min(60_000, 1000 * 2 ** (n - 1));
      for (const rand of [0, 0.1, 0.37, 0.5, 0.81, 0.999999]) {
        const ms = retryMs(n, 60_000, rand);
        assert.ok(ms >= base * 0.8 - 0.5 && ms <= base, `n ${n} rand ${rand}: ${ms} vs base ${base}`);
      }
      assert.ok(retryMs(n, 60_000, 0) > retryMs(n, 60_000, 0.999999), 'chance spreads the retries, at the cap too');
    }
    assert.equal(retryMs(1, 60_000, 0), 1000);
    assert.equal(retryMs(1, 60_000, 0.999999), 800);
  });

  test('unreachable: the waits follow the backoff, one step per failure', () => {
    const r = run(failing(REFUSED, 0, 10, 1).slice(0, 8));
    assert.deepEqual(r.waits, [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
  });

  test('unreachable: never above the poll interval, even with the cap above it and full jitter', () => {
    const r = run(failing(REFUSED, 0, 40, 1), { intervalMs: 5000, capMs: 300_000, rand: 0.999999 });
    assert.ok(r.waits.every((w) => w <= 5000), String(r.waits));
    assert.equal(r.waits.at(-1), 4000, 'jittered below the interval, not pinned to it');
  });

  test('refused: the regular interval, however many failures', () => {
    const r = run(failing(NO_TABLE, 0, 10 * INTERVAL, INTERVAL));
    assert.ok(r.waits.every((w) => w === INTERVAL), String(r.waits));
  });

  test('back: the regular interval again', () => {
    const r = run([...failing(REFUSED, 0, 6, 1), { at: 10_000, ok: true }]);
    assert.equal(r.waits.at(-1), INTERVAL);
  });

  test('a change of fault keeps counting the failures: the backoff does not restart', () => {
    const r = run([{ at: 0, fault: REFUSED }, { at: 1000, fault: REFUSED }, { at: 3000, fault: TIMEDOUT }]);
    assert.deepEqual(r.waits, [1000, 2000, 4000]);
  });
});
