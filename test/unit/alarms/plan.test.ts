/**
 * planPoll as the poller drives it: a sequence of polls of the same table, the handled records
 * carried from one poll to the next as the poller keeps them (record what was acted on, drop what
 * the plan says to forget). The table is state, not a queue: a still-raised alarm is acted on once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AlarmResult } from '../../../src/engine/alarm-inbox.js';
import { appFor, incidentId, planPoll, type AlarmRow, type HandledRecord, type PlanContext, type PollPlan } from '../../../src/alarms/plan.js';

const APPS = new Set(['api', 'worker', 'helpdesk-backend']);
const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const ctx = (now: number, patch: Partial<PlanContext> = {}): PlanContext => ({ apps: APPS, map: {}, now, ...patch });

const row = (processId: number, processName: string | null, value = 1): AlarmRow => ({ processId, processName, value });

function record(r: AlarmRow, app: string, result: AlarmResult, at: number, incident = `inc-${r.processId}`): HandledRecord {
  return {
    process_id: r.processId, process_name: r.processName ?? '', app, value: r.value,
    first_seen: new Date(at).toISOString(), handled_at: new Date(at).toISOString(), result, detail: result, incident,
  };
}

/** The poller's bookkeeping after a poll: every acted-on row gets `result`, forgotten ids go. */
function carry(handled: Map<number, HandledRecord>, plan: PollPlan, result: AlarmResult, now: number): Map<number, HandledRecord> {
  const next = new Map(handled);
  for (const id of plan.forget) next.delete(id);
  for (const t of plan.act) for (const r of t.rows) next.set(r.processId, record(r, t.app, result, now));
  return next;
}

const acted = (plan: PollPlan): string[] => plan.act.map((t) => `${t.app}:${t.rows.map((r) => r.processId).join(',')}:${t.why}`);

describe('planPoll: one alarm over a sequence of polls', () => {
  test('a new alarm is acted on', () => {
    const plan = planPoll([row(7, 'api')], new Map(), ctx(T0));
    assert.deepEqual(acted(plan), ['api:7:new']);
    assert.deepEqual(plan.handled, []);
    assert.deepEqual(plan.unknown, []);
    assert.deepEqual(plan.nameless, []);
    assert.deepEqual(plan.forget, []);
  });

  test('remedied and still raised: handled, not acted on, over 10 polls', () => {
    let handled = new Map<number, HandledRecord>();
    let actions = 0;
    for (let i = 0; i < 11; i++) {
      const now = T0 + i * 300_000;
      const plan = planPoll([row(7, 'api')], handled, ctx(now));
      actions += plan.act.length;
      if (i > 0) {
        assert.equal(plan.handled.length, 1, `poll ${i}`);
        assert.equal(plan.handled[0]!.record.result, 'remedied');
        assert.equal(plan.handled[0]!.row.processId, 7);
      }
      assert.deepEqual(plan.forget, []);
      handled = carry(handled, plan, 'remedied', now);
    }
    assert.equal(actions, 1, 'one remedy for one raised alarm');
  });

  test('a failed or skipped remedy is settled too: not retried while the alarm stays raised', () => {
    for (const result of ['failed', 'skipped'] as const) {
      const r = row(7, 'api');
      const plan = planPoll([r], new Map([[7, record(r, 'api', result, T0)]]), ctx(T0 + 300_000));
      assert.deepEqual(plan.act, [], result);
      assert.equal(plan.handled.length, 1, result);
    }
  });

  test('cleared (row gone): the record is forgotten; raised again: acted on again', () => {
    let handled = carry(new Map(), planPoll([row(7, 'api')], new Map(), ctx(T0)), 'remedied', T0);
    assert.equal(handled.size, 1);
    const cleared = planPoll([], handled, ctx(T0 + 300_000));
    assert.deepEqual(cleared.forget, [7]);
    assert.deepEqual(cleared.act, []);
    handled = carry(handled, cleared, 'remedied', T0 + 300_000);
    assert.equal(handled.size, 0);
    const raised = planPoll([row(7, 'api')], handled, ctx(T0 + 600_000));
    assert.deepEqual(acted(raised), ['api:7:new']);
  });

  test('only the ids no longer in alarm are forgotten', () => {
    const a = row(7, 'api');
    const b = row(8, 'worker');
    const handled = new Map([[7, record(a, 'api', 'remedied', T0)], [8, record(b, 'worker', 'remedied', T0)]]);
    const plan = planPoll([b], handled, ctx(T0 + 1000));
    assert.deepEqual(plan.forget, [7]);
    assert.deepEqual(plan.handled.map((h) => h.row.processId), [8]);
  });

  test('the value changed while raised: a different alarm, acted on', () => {
    const handled = new Map([[7, record(row(7, 'api', 1), 'api', 'remedied', T0)]]);
    const plan = planPoll([row(7, 'api', 2)], handled, ctx(T0 + 300_000));
    assert.deepEqual(acted(plan), ['api:7:new']);
    assert.deepEqual(plan.forget, []);
  });

  test('the row now names another app: a different alarm, acted on', () => {
    const handled = new Map([[7, record(row(7, 'api'), 'api', 'remedied', T0)]]);
    assert.deepEqual(acted(planPoll([row(7, 'worker')], handled, ctx(T0 + 1000))), ['worker:7:new']);
  });

  test('held back (pause, backoff, open circuit): offered again at every poll until a remedy runs', () => {
    let handled = new Map<number, HandledRecord>();
    const whys: string[] = [];
    for (let i = 0; i < 4; i++) {
      const now = T0 + i * 300_000;
      const plan = planPoll([row(7, 'api')], handled, ctx(now));
      whys.push(...acted(plan));
      handled = carry(handled, plan, i < 2 ? 'held' : 'remedied', now);
    }
    assert.deepEqual(whys, ['api:7:new', 'api:7:held before', 'api:7:held before'], 'after the remedy: handled');
  });

  test('not looked at (unobserved, superseded): offered again', () => {
    for (const result of ['unobserved', 'superseded'] as const) {
      const r = row(7, 'api');
      assert.deepEqual(acted(planPoll([r], new Map([[7, record(r, 'api', result, T0)]]), ctx(T0 + 1000))), ['api:7:not looked at before'], result);
    }
  });

  test('realarm_after: handled until it has passed since the remedy, then acted on once more', () => {
    const r = row(7, 'api');
    const handled = new Map([[7, record(r, 'api', 'remedied', T0)]]);
    const hour = 3_600_000;
    assert.deepEqual(planPoll([r], handled, ctx(T0 + hour - 1, { realarmAfterMs: hour })).act, []);
    assert.deepEqual(acted(planPoll([r], handled, ctx(T0 + hour, { realarmAfterMs: hour }))), ['api:7:realarm_after passed']);
    assert.deepEqual(acted(planPoll([r], handled, ctx(T0 + 10 * hour, { realarmAfterMs: hour }))), ['api:7:realarm_after passed']);
    assert.deepEqual(planPoll([r], handled, ctx(T0 + 10 * hour)).act, [], 'without realarm_after: never again');
  });

  test('realarm_after over a sequence: one remedy per realarm_after while the alarm stays raised', () => {
    let handled = new Map<number, HandledRecord>();
    const at: number[] = [];
    for (let i = 0; i <= 12; i++) {
      const now = T0 + i * 300_000; // polls every 5 min, realarm_after 20 min
      const plan = planPoll([row(7, 'api')], handled, ctx(now, { realarmAfterMs: 1_200_000 }));
      if (plan.act.length > 0) at.push(i);
      handled = carry(handled, plan, 'remedied', now);
    }
    assert.deepEqual(at, [0, 4, 8, 12]);
  });
});

describe('planPoll: names', () => {
  test('a name with no app is unknown: not acted on, not handled', () => {
    const plan = planPoll([row(9, 'billing')], new Map(), ctx(T0));
    assert.deepEqual(plan.act, []);
    assert.deepEqual(plan.unknown, [{ row: row(9, 'billing'), name: 'billing' }]);
  });

  test('a NULL or empty name is nameless', () => {
    const plan = planPoll([row(3, null), row(4, '')], new Map(), ctx(T0));
    assert.deepEqual(plan.act, []);
    assert.deepEqual(plan.nameless, [row(3, null), row(4, '')]);
    assert.deepEqual(plan.unknown, []);
  });

  test('map: applied before the lookup; an unknown mapped name is reported by the app it maps to', () => {
    const map = { helpdesk_backend: 'helpdesk-backend', legacy: 'gone' };
    const plan = planPoll([row(1, 'helpdesk_backend'), row(2, 'legacy'), row(3, 'api')], new Map(), ctx(T0, { map }));
    assert.deepEqual(acted(plan), ['helpdesk-backend:1:new', 'api:3:new']);
    assert.deepEqual(plan.unknown.map((u) => [u.row.processId, u.name]), [[2, 'gone']]);
  });

  test('a name that looks like SQL is a plain name: unknown, or mapped if configured', () => {
    const evil = "x'; DROP TABLE PROCESE; --";
    const plain = planPoll([row(5, evil)], new Map(), ctx(T0));
    assert.deepEqual(plain.unknown, [{ row: row(5, evil), name: evil }]);
    assert.deepEqual(plain.act, []);
    const mapped = planPoll([row(5, evil)], new Map(), ctx(T0, { map: { [evil]: 'api' } }));
    assert.deepEqual(mapped.act, [{ app: 'api', rows: [row(5, evil)], why: 'new' }]);
  });

  test('names that are Object.prototype keys are plain names too', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      assert.equal(appFor(name, {}), name);
      const plan = planPoll([row(6, name)], new Map(), ctx(T0));
      assert.deepEqual(plan.unknown.map((u) => u.name), [name], name);
    }
  });

  test('two rows for the same app are one target holding both rows', () => {
    const plan = planPoll([row(1, 'api'), row(2, 'helpdesk_api'), row(3, 'worker')], new Map(), ctx(T0, { map: { helpdesk_api: 'api' } }));
    assert.equal(plan.act.length, 2);
    assert.deepEqual(plan.act[0], { app: 'api', rows: [row(1, 'api'), row(2, 'helpdesk_api')], why: 'new' });
    assert.deepEqual(plan.act[1], { app: 'worker', rows: [row(3, 'worker')], why: 'new' });
  });

  test('of two rows for one app, a handled one stays handled and the new one is acted on', () => {
    const a = row(1, 'api');
    const handled = new Map([[1, record(a, 'api', 'remedied', T0)]]);
    const plan = planPoll([a, row(2, 'api')], handled, ctx(T0 + 1000));
    assert.deepEqual(acted(plan), ['api:2:new']);
    assert.deepEqual(plan.handled.map((h) => h.row.processId), [1]);
  });
});

describe('incidentId', () => {
  test('UTC time to the second, the process id and four hex digits', () => {
    assert.equal(incidentId(Date.parse('2026-12-01T09:08:07.654Z'), 7, 0), '20261201T090807Z-7-0000');
    assert.equal(incidentId(Date.parse('2026-12-01T09:08:07.654Z'), 7, 0.999999), '20261201T090807Z-7-ffff');
    assert.equal(incidentId(Date.parse('2026-01-02T03:04:05Z'), 12345, 0.5), '20260102T030405Z-12345-8000');
  });

  test('always the same shape', () => {
    for (const rand of [0, 0.0001, 0.25, 0.75, 0.99999]) {
      assert.match(incidentId(T0, 42, rand), /^\d{8}T\d{6}Z-42-[0-9a-f]{4}$/);
    }
  });
});
