/**
 * What the alarm trigger keeps and writes back about a handled alarm: the state file's record,
 * whether an outcome is worth a line in the notes column, and that line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AlarmOutcome } from '../../../src/engine/alarm-inbox.js';
import type { AlarmRow, HandledRecord } from '../../../src/alarms/plan.js';
import { alarmDetail, noteText, noteWorthy, ongoingIncident, recordOf } from '../../../src/alarms/record.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const ROW: AlarmRow = { processId: 7, processName: 'api', value: 1 };
const INC = '20261201T100000Z-7-00ff';

const HELD: AlarmOutcome = { result: 'held', detail: 'remedies paused by an operator' };
const REMEDIED: AlarmOutcome = { result: 'remedied', detail: 'restarted and healthy after 1.2 s', durationMs: 1200 };
const FAILED: AlarmOutcome = { result: 'failed', detail: 'did not come back within 30 s' };
const UNOBSERVED: AlarmOutcome = { result: 'unobserved', detail: 'the worker stopped' };
const SUPERSEDED: AlarmOutcome = { result: 'superseded', detail: 'a newer alarm replaced it' };

describe('recordOf', () => {
  test('a first record: first seen and handled now, with the outcome and the incident', () => {
    const r = recordOf(ROW, 'api', REMEDIED, INC, undefined, T0);
    assert.deepEqual(r, {
      process_id: 7, process_name: 'api', app: 'api', value: 1,
      first_seen: '2026-12-01T10:00:00.000Z', handled_at: '2026-12-01T10:00:00.000Z',
      result: 'remedied', detail: 'restarted and healthy after 1.2 s', incident: INC,
    });
  });

  test('the same alarm again (held, then remedied): first_seen kept, handled_at and result move on', () => {
    const held = recordOf(ROW, 'api', HELD, INC, undefined, T0);
    const later = recordOf(ROW, 'api', REMEDIED, INC, held, T0 + 600_000);
    assert.equal(later.first_seen, '2026-12-01T10:00:00.000Z');
    assert.equal(later.handled_at, '2026-12-01T10:10:00.000Z');
    assert.equal(later.result, 'remedied');
  });

  test('another value or another app is another alarm: first_seen starts again', () => {
    const prev = recordOf(ROW, 'api', REMEDIED, INC, undefined, T0);
    assert.equal(recordOf({ ...ROW, value: 2 }, 'api', REMEDIED, 'x', prev, T0 + 1000).first_seen, '2026-12-01T10:00:01.000Z');
    assert.equal(recordOf(ROW, 'worker', REMEDIED, 'x', prev, T0 + 1000).first_seen, '2026-12-01T10:00:01.000Z');
  });

  test('a NULL name is kept as empty, and the detail is bounded', () => {
    const r = recordOf({ processId: 3, processName: null, value: 1 }, 'api', { result: 'failed', detail: 'e'.repeat(1000) }, INC, undefined, T0);
    assert.equal(r.process_name, '');
    assert.equal(r.detail.length, 300);
  });
});

describe('noteWorthy', () => {
  const heldRec = recordOf(ROW, 'api', HELD, INC, undefined, T0);

  test('a first outcome is news', () => {
    assert.equal(noteWorthy(HELD, undefined, INC), true);
    assert.equal(noteWorthy(REMEDIED, undefined, INC), true);
  });

  test('the same hold of the same incident again is not', () => {
    assert.equal(noteWorthy(HELD, heldRec, INC), false);
  });

  test('held, then remedied (or failed) is', () => {
    assert.equal(noteWorthy(REMEDIED, heldRec, INC), true);
    assert.equal(noteWorthy(FAILED, heldRec, INC), true);
  });

  test('the same result for a new incident is', () => {
    assert.equal(noteWorthy(HELD, heldRec, '20261201T110000Z-7-0001'), true);
  });

  test('not looked at (unobserved, superseded) is never written', () => {
    assert.equal(noteWorthy(UNOBSERVED, undefined, INC), false);
    assert.equal(noteWorthy(UNOBSERVED, heldRec, INC), false);
    assert.equal(noteWorthy(SUPERSEDED, undefined, INC), false);
  });

  test('a sequence: held at 5 polls, then remedied: two lines', () => {
    let prev: HandledRecord | undefined;
    let lines = 0;
    const outcomes = [HELD, HELD, HELD, UNOBSERVED, HELD, HELD, REMEDIED];
    outcomes.forEach((o, i) => {
      if (noteWorthy(o, prev, INC)) lines++;
      if (o.result !== 'unobserved') prev = recordOf(ROW, 'api', o, INC, prev, T0 + i * 300_000);
    });
    assert.equal(lines, 2);
  });
});

describe('ongoingIncident', () => {
  test('a held, unobserved or superseded alarm keeps its incident; a settled one does not', () => {
    for (const o of [HELD, UNOBSERVED, SUPERSEDED]) {
      const handled = new Map([[7, recordOf(ROW, 'api', o, INC, undefined, T0)]]);
      assert.equal(ongoingIncident([ROW], 'api', handled), INC, o.result);
    }
    for (const o of [REMEDIED, FAILED]) {
      const handled = new Map([[7, recordOf(ROW, 'api', o, INC, undefined, T0)]]);
      assert.equal(ongoingIncident([ROW], 'api', handled), undefined, o.result);
    }
  });

  test('another value is another incident', () => {
    const handled = new Map([[7, recordOf(ROW, 'api', HELD, INC, undefined, T0)]]);
    assert.equal(ongoingIncident([{ ...ROW, value: 2 }], 'api', handled), undefined);
  });
});

describe('noteText and alarmDetail', () => {
  test('remedied: the time, the incident id, what was done, and whether the alarm was cleared', () => {
    const t = noteText('api', REMEDIED, INC, true, T0);
    assert.equal(t, `2026-12-01T10:00:00Z helpdesk-monitor incident ${INC}: restarted api: restarted and healthy after 1.2 s; alarm cleared`);
    assert.ok(!noteText('api', REMEDIED, INC, false, T0).includes('cleared'));
  });

  test('held and failed: the incident id, and the alarm left set', () => {
    const held = noteText('api', { result: 'held', detail: 'circuit open: no restarts for 120 s more' }, INC, false, T0);
    assert.ok(held.includes(INC));
    assert.match(held, /api not restarted: circuit open: no restarts for 120 s more; alarm left set$/);
    const failed = noteText('api', FAILED, INC, false, T0);
    assert.ok(failed.includes(INC));
    assert.match(failed, /remedy of api failed: did not come back within 30 s; alarm left set$/);
  });

  test('alarmDetail names the ids, the app, the values and the incident', () => {
    assert.equal(alarmDetail('api', [ROW], INC), `alarm table: process_id 7 (api) in alarm (value 1), incident ${INC}`);
    assert.equal(
      alarmDetail('api', [ROW, { processId: 9, processName: 'api2', value: 2 }, { processId: 11, processName: 'api3', value: 1 }], INC),
      `alarm table: process_ids 7, 9, 11 (api) in alarm (value 1/2), incident ${INC}`,
    );
  });
});
