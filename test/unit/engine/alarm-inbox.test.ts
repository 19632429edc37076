/**
 * An alarm from the alarm table as the engine judges it: one more urgent, failed rule in the
 * app's observation, so decide() applies the same pause, circuit and backoff as to any failure
 * (sequences on injected time, as circuit.test.ts), and the inbox that hands it to the next check.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultAppConfig, type AppConfig } from '../../../src/config/schema.js';
import { AlarmInbox, heldOutcome, withAlarm, type AlarmOutcome, type RaisedAlarm } from '../../../src/engine/alarm-inbox.js';
import { afterRemedy, decide, initialState, type AppState, type Decision, type Observation } from '../../../src/engine/decide.js';
import type { HttpOutcome, OtherProbeOutcome, Pm2State, Pm2StatusOutcome } from '../../../src/probes/types.js';

const BASE = defaultAppConfig('api');
/** The default threshold (3 failed checks) and a startup grace: an alarm needs neither. */
const APP: AppConfig = {
  ...BASE,
  health: { ...BASE.health, url: 'http://127.0.0.1:5000/health', failureThreshold: 3 },
  ports: [5000],
  startupGraceMs: 10_000,
  policy: { ...BASE.policy, restartDelayMs: 1000, backoffFactor: 2, backoffMaxMs: 10_000, backoffJitter: 0, maxRestartFailures: 3, failureWindowMs: 60_000, circuitResetMs: 300_000, successThreshold: 1 },
};

const pm2 = (state: Pm2State, uptimeMs = 60_000): Pm2StatusOutcome => ({
  state, pids: state === 'online' ? [1234] : [], pmIds: [0], restarts: 0, uptimeMs, detail: `status ${state}`,
});
const OK: HttpOutcome = { ok: true, status: 200, latencyMs: 3 };
const STATUS_500: HttpOutcome = { ok: false, failure: 'status', status: 500, latencyMs: 4, detail: 'HTTP 500, expected 200' };
const good = (at: number, patch: Partial<Observation> = {}): Observation => ({ at, pm2: pm2('online'), http: OK, crashes: 0, squatters: [], ...patch });

const ALARM: RaisedAlarm = { detail: 'alarm table: process_id 7 (api) in alarm (value 1), incident 20261201T100000Z-7-00ff', incidentId: '20261201T100000Z-7-00ff' };
const alarmed = (at: number, patch: Partial<Observation> = {}): Observation => withAlarm(good(at, patch), ALARM);

function mustRemedy(d: Decision): Extract<Decision, { action: 'remedy' }> {
  assert.equal(d.action, 'remedy', `expected a remedy, got none (${d.action === 'none' ? d.note : ''})`);
  return d as Extract<Decision, { action: 'remedy' }>;
}
function mustHold(d: Decision): Extract<Decision, { action: 'none' }> {
  assert.equal(d.action, 'none', `expected no remedy, got one (${d.action === 'remedy' ? d.reason : ''})`);
  return d as Extract<Decision, { action: 'none' }>;
}

/** A healthy app, seen healthy once (its startup grace over). */
function healthy(at = 0): AppState {
  return mustHold(decide(initialState(at), good(at), APP)).state;
}

/** An app whose circuit opened at 5100 (failed remedies at 0, 2000 and 5000). */
function openCircuit(): AppState {
  let s = healthy();
  for (const at of [0, 2000, 5000]) s = afterRemedy(mustRemedy(decide(s, alarmed(at), APP)).state, false, at + 100, APP, 'did not come back').state;
  assert.equal(s.circuit, 'open');
  return s;
}

describe('withAlarm', () => {
  test('adds one urgent, failed alarm outcome carrying the detail and the incident', () => {
    const obs = good(0);
    const o = withAlarm(obs, ALARM);
    assert.deepEqual(o.others, [{ kind: 'alarm', ok: false, urgent: true, latencyMs: 0, detail: ALARM.detail, info: { incident: ALARM.incidentId } }]);
    assert.equal(obs.others, undefined, 'the observation it was given is not changed');
  });

  test('keeps the outcomes already there', () => {
    const tcp: OtherProbeOutcome = { kind: 'tcp', ok: true, latencyMs: 1 };
    const o = withAlarm(good(0, { others: [tcp] }), ALARM);
    assert.deepEqual(o.others?.map((x) => x.kind), ['tcp', 'alarm']);
  });
});

describe('decide with an alarm', () => {
  test('a healthy online app: a remedy at once, the alarm\'s detail as the reason (no failure_threshold)', () => {
    const d = mustRemedy(decide(healthy(), alarmed(5000), APP));
    assert.equal(d.reason, ALARM.detail);
    assert.equal(d.hung, false, 'an alarm is not a hung instance');
    assert.equal(d.trial, false);
    assert.equal(d.state.phase, 'remedying');
    assert.deepEqual(d.events, []);
  });

  test('a fresh app inside startup_grace: still a remedy (the alarm is urgent evidence, not a probe failure)', () => {
    const d = mustRemedy(decide(initialState(0), alarmed(0, { pm2: pm2('online', 1000) }), APP));
    assert.equal(d.reason, ALARM.detail);
  });

  test('an alarm and a failing probe: the alarm is the reason, and it does not wait for the threshold', () => {
    const d = mustRemedy(decide(healthy(), alarmed(5000, { http: STATUS_500 }), APP));
    assert.equal(d.reason, ALARM.detail);
  });

  test('a remedy in progress: held, and heldOutcome says so', () => {
    const busy = mustRemedy(decide(healthy(), alarmed(1000), APP)).state;
    const d = mustHold(decide(busy, alarmed(2000), APP));
    assert.deepEqual(heldOutcome(d), { result: 'held', detail: 'a remedy is in progress' });
  });

  test('paused by an operator: no remedy; heldOutcome says paused; unpaused: the next alarm remedies', () => {
    const d = mustHold(decide(healthy(), alarmed(5000, { paused: true }), APP));
    const held = heldOutcome(d);
    assert.equal(held.result, 'held');
    assert.match(held.detail, /paused/);
    assert.equal(d.state.phase, 'unhealthy');
    mustRemedy(decide(d.state, alarmed(6000), APP));
  });

  test('circuit open: no remedy for 5 min however often the alarm comes; held detail names the circuit; then one trial', () => {
    let s = openCircuit();
    for (let at = 6000; at < 5100 + 300_000; at += 30_000) {
      const d = mustHold(decide(s, alarmed(at), APP));
      const held = heldOutcome(d);
      assert.equal(held.result, 'held');
      assert.match(held.detail, /circuit open/, `at ${at}`);
      s = d.state;
    }
    const trial = mustRemedy(decide(s, alarmed(5100 + 300_000), APP));
    assert.equal(trial.trial, true, 'the half-open trial');
    assert.deepEqual(trial.events.map((e) => e.type), ['circuit_half_open']);
  });

  test('backing off after a failed remedy: held with the backoff, remedied once it has passed', () => {
    const s = afterRemedy(mustRemedy(decide(healthy(), alarmed(1000), APP)).state, false, 1100, APP, 'did not come back').state;
    assert.equal(s.backoffUntil, 2100);
    const held = heldOutcome(mustHold(decide(s, alarmed(1500), APP)));
    assert.match(held.detail, /backing off 600 ms after 1 failed remedies/);
    mustRemedy(decide(s, alarmed(2100), APP));
  });

  test('stopped by an operator: the stop is respected, and heldOutcome says so', () => {
    const d = mustHold(decide(healthy(), alarmed(5000, { pm2: pm2('stopped'), http: undefined }), APP));
    assert.deepEqual(heldOutcome(d), { result: 'held', detail: 'the app is stopped in PM2 (an operator stop is respected)' });
  });

  test('missing from PM2: held, naming what PM2 said', () => {
    const missing: Pm2StatusOutcome = { ...pm2('missing'), detail: 'no process named api' };
    const d = mustHold(decide(healthy(), alarmed(5000, { pm2: missing, http: undefined }), APP));
    assert.deepEqual(heldOutcome(d), { result: 'held', detail: 'the app is not in PM2 (no process named api)' });
  });

  test('after a verified remedy the alarm is not part of verification: a good check without it is healthy', () => {
    const remedying = mustRemedy(decide(healthy(), alarmed(1000), APP)).state;
    const after = afterRemedy(remedying, true, 3000, APP, '').state;
    const d = mustHold(decide(after, good(4000), APP));
    assert.equal(d.state.phase, 'healthy');
    assert.equal(d.state.failedRemedies, 0);
  });
});

/** What `p` has settled with by now, or 'pending' (a lost settle fails here instead of hanging). */
async function now<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);
}

describe('AlarmInbox', () => {
  const B: RaisedAlarm = { detail: 'alarm table: process_id 8 (api) in alarm (value 2), incident b', incidentId: 'b' };

  test('put twice: the first resolves superseded, the check takes the second', async () => {
    const inbox = new AlarmInbox();
    const first = inbox.put(ALARM);
    const second = inbox.put(B);
    assert.deepEqual(await now(first), { result: 'superseded', detail: 'a newer alarm replaced it before a check' });
    assert.equal(await now(second), 'pending');
    const taken = inbox.take();
    assert.equal(taken?.alarm, B);
    assert.equal(inbox.take(), undefined, 'taken at most once');
    taken!.settle({ result: 'remedied', detail: 'healthy again after 900 ms', durationMs: 900 });
    assert.deepEqual(await now(second), { result: 'remedied', detail: 'healthy again after 900 ms', durationMs: 900 });
  });

  test('drop: a waiting alarm resolves unobserved with the reason; nothing waiting: nothing happens', async () => {
    const inbox = new AlarmInbox();
    inbox.drop('nothing waiting');
    const p = inbox.put(ALARM);
    inbox.drop('the monitor stopped before checking the app');
    assert.deepEqual(await now(p), { result: 'unobserved', detail: 'the monitor stopped before checking the app' });
    assert.equal(inbox.take(), undefined);
  });

  test('an alarm taken by a check is not superseded or dropped afterwards', async () => {
    const inbox = new AlarmInbox();
    const p = inbox.put(ALARM);
    const taken = inbox.take()!;
    const next = inbox.put(B);
    inbox.drop('stopping');
    assert.equal(await now(p), 'pending', 'the taken alarm waits for its check');
    const held: AlarmOutcome = { result: 'held', detail: 'remedies paused by an operator' };
    taken.settle(held);
    assert.deepEqual(await now(p), held);
    assert.deepEqual(await now(next), { result: 'unobserved', detail: 'stopping' });
  });

  test('the whole path: put, take into the observation, decide, settle with heldOutcome', async () => {
    const inbox = new AlarmInbox();
    const outcome = inbox.put(ALARM);
    const raised = inbox.take()!;
    const d = mustHold(decide(healthy(), withAlarm(good(5000, { paused: true }), raised.alarm), APP));
    raised.settle(heldOutcome(d));
    assert.deepEqual(await now(outcome), { result: 'held', detail: 'remedies paused by an operator' });
  });
});
