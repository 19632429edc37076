/** What asked for a remedy: read from the observation the decision was made on. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initialState, type Observation } from '../../../src/engine/decide.js';
import { remedyTrigger, type TriggerInput } from '../../../src/engine/trigger.js';

const online = { state: 'online' as const, pids: [10], pmIds: [0], restarts: 0, uptimeMs: 60_000, detail: 'online' };
const base: Observation = { at: 1000, pm2: online, crashes: 0, squatters: [] };
const input = (obs: Partial<Observation>, extra: Partial<TriggerInput> = {}): TriggerInput => ({
  obs: { ...base, ...obs }, prev: initialState(0), failures: 2, threshold: 2, ...extra,
});

describe('remedyTrigger', () => {
  test('failed health checks: probe failures n/threshold', () => {
    const t = remedyTrigger(input({ http: { ok: false, failure: 'timeout', latencyMs: 500, detail: 'no answer in 500ms' } }));
    assert.deepEqual(t, { kind: 'probe', text: 'probe failures 2/2 (health)' });
  });
  test('a failed tcp or exec probe is named; failures past the threshold read as the threshold, as the reason does', () => {
    const t = remedyTrigger(input({ others: [{ kind: 'exec', ok: false, latencyMs: 3, detail: 'exit 1' }] }, { failures: 5, threshold: 3 }));
    assert.deepEqual(t, { kind: 'probe', text: 'probe failures 3/3 (exec)' });
  });
  test('an exit the PM2 bus reported', () => {
    assert.deepEqual(remedyTrigger(input({ crashes: 1 }, { failures: 1, threshold: 1 })), { kind: 'crash', text: 'crash reported by the PM2 bus (1 unexpected exit), failures 1/1' });
    assert.match(remedyTrigger(input({ crashes: 3 })).text, /3 unexpected exits/);
  });
  test('PM2 gave up', () => {
    assert.equal(remedyTrigger(input({ pm2: { ...online, state: 'errored' }, crashes: 2 })).text, 'PM2 gave up restarting the app (errored)');
  });
  test('alarms: a log or memory rule, a port held by a stranger (before anything counted)', () => {
    assert.deepEqual(remedyTrigger(input({ others: [{ kind: 'memory', ok: false, urgent: true, latencyMs: 0, detail: 'rss above' }], http: { ok: true, status: 200, latencyMs: 3 } })), { kind: 'alarm', text: 'alarm: the memory rule' });
    assert.equal(remedyTrigger(input({ others: [{ kind: 'log', ok: false, urgent: true, latencyMs: 0 }] })).text, 'alarm: the log rule');
    const squat = remedyTrigger(input({ squatters: [{ port: 5000, pid: 77, command: 'nc' }], crashes: 1 }));
    assert.deepEqual(squat, { kind: 'alarm', text: 'alarm: port 5000 held by pid 77 while the app is down' });
  });
  test('a retry of an app a failed remedy left stopped', () => {
    const t = remedyTrigger(input({ pm2: { ...online, state: 'stopped', pids: [] } }, { prev: { ...initialState(0), leftStopped: true } }));
    assert.equal(t.kind, 'retry');
  });
  test('after an operator\'s reset: the operator, then the evidence', () => {
    const t = remedyTrigger(input({ http: { ok: false, failure: 'refused', latencyMs: 1, detail: 'refused' } }, { resetBy: 'alice (uid 1000, pid 4242)' }));
    assert.deepEqual(t, { kind: 'operator', text: 'reset by alice (uid 1000, pid 4242), then probe failures 2/2 (health)' });
  });
});
