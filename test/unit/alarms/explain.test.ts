/**
 * The `alarms` command's words for one poll: what happens to each row in alarm, from the same
 * plan the poller follows.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alarmsSchema, toAlarmsConfig, type AlarmsConfig } from '../../../src/config/alarms.js';
import { explainPlan } from '../../../src/alarms/explain.js';
import { planPoll, type AlarmRow, type HandledRecord } from '../../../src/alarms/plan.js';

const config = (raw: Record<string, unknown> = {}): AlarmsConfig => toAlarmsConfig(alarmsSchema.parse({ user: 'helpdesk', ...raw }));
const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const row = (processId: number, processName: string | null, value = 1): AlarmRow => ({ processId, processName, value });
const remedied = (r: AlarmRow, app: string): HandledRecord => ({
  process_id: r.processId, process_name: r.processName ?? '', app, value: r.value, first_seen: '2026-12-01T09:00:00.000Z',
  handled_at: '2026-12-01T09:00:05.000Z', result: 'remedied', detail: 'healthy again after 900 ms', incident: 'inc-1',
});

const rows = [row(9, 'billing'), row(3, null), row(7, 'api'), row(1, 'worker')];
const handled = new Map([[1, remedied(row(1, 'worker'), 'worker')]]);
const plan = planPoll(rows, handled, { apps: new Set(['api', 'worker']), map: {}, now: T0 });

describe('explainPlan', () => {
  test('one view per row, sorted by process id, each with its action', () => {
    const views = explainPlan(plan, config(), () => undefined);
    assert.deepEqual(views.map((v) => [v.process_id, v.app, v.action]), [[1, 'worker', 'handled'], [3, null, 'no-name'], [7, 'api', 'remedy'], [9, null, 'unknown-app']]);
  });

  test('the words: a remedy and what follows it, handled until cleared, unknown and nameless left alone', () => {
    const views = explainPlan(plan, config({ on_success: 'clear', note: true }), () => undefined);
    const by = new Map(views.map((v) => [v.process_id, v.explain]));
    assert.equal(by.get(7), 'would ask for a remedy of api (new): restart by its strategy, verified by its probes; then set alarma = 0 after a verified remedy and append a line to notes');
    assert.match(by.get(1)!, /^handled at 2026-12-01T09:00:05.000Z \(incident inc-1: remedied, healthy again after 900 ms\); not again until it is cleared and raised anew$/);
    assert.match(by.get(9)!, /no app "billing" in the config: left alone/);
    assert.match(by.get(3)!, /no process name in PROCESE for this id: left alone/);
  });

  test('keep without note: nothing is written back after the remedy', () => {
    const v = explainPlan(plan, config(), () => undefined).find((x) => x.process_id === 7)!;
    assert.equal(v.explain, 'would ask for a remedy of api (new): restart by its strategy, verified by its probes');
  });

  test('an app held back by the state file: the alarm stays set, and why', () => {
    const v = explainPlan(plan, config(), (app) => (app === 'api' ? 'paused until 12:00 by alice' : undefined)).find((x) => x.process_id === 7)!;
    assert.equal(v.action, 'remedy');
    assert.equal(v.explain, 'would ask for a remedy of api (new), but it is held back now: paused until 12:00 by alice; the alarm stays set');
  });

  test('with realarm_after, a handled row says when it comes again', () => {
    const v = explainPlan(plan, config({ realarm_after: '1h' }), () => undefined).find((x) => x.process_id === 1)!;
    assert.match(v.explain, /again once realarm_after has passed since 2026-12-01T09:00:05.000Z$/);
    assert.equal(v.handled?.incident, 'inc-1');
  });
});
