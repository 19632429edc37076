/**
 * The circuit breaker and success_threshold in the pure policy, driven with an injected clock
 * (explicit `at` times, no sleeps): closed -> open -> half-open -> closed or open again.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultAppConfig, type AppConfig, type PolicyConfig } from '../../../src/config/schema.js';
import {
  afterRemedy,
  closeCircuit,
  decide,
  initialState,
  type AppState,
  type Decision,
  type Observation,
  type PolicyEvent,
} from '../../../src/engine/decide.js';
import type { HttpOutcome, Pm2State, Pm2StatusOutcome } from '../../../src/probes/types.js';

const BASE = defaultAppConfig('api');

/**
 * One failed check is due (threshold 1), no startup grace, no jitter; backoff 1 s, 2 s, 4 s ...
 * capped at 10 s; 3 failed remedies within 60 s open the circuit for 5 minutes.
 */
const POLICY: PolicyConfig = {
  ...BASE.policy,
  restartDelayMs: 1000,
  backoffFactor: 2,
  backoffMaxMs: 10_000,
  backoffJitter: 0,
  maxRestartFailures: 3,
  failureWindowMs: 60_000,
  circuitResetMs: 300_000,
  successThreshold: 1,
};
const APP: AppConfig = {
  ...BASE,
  health: { ...BASE.health, url: 'http://127.0.0.1:5000/health', failureThreshold: 1 },
  ports: [5000],
  startupGraceMs: 0,
  policy: POLICY,
};
const withPolicy = (p: Partial<PolicyConfig>, app: AppConfig = APP): AppConfig => ({ ...app, policy: { ...app.policy, ...p } });

const pm2 = (state: Pm2State): Pm2StatusOutcome => ({
  state, pids: state === 'online' ? [1234] : [], pmIds: [0], restarts: 0, uptimeMs: 60_000, detail: `status ${state}`,
});
const OK: HttpOutcome = { ok: true, status: 200, latencyMs: 3 };
const TIMEOUT: HttpOutcome = { ok: false, failure: 'timeout', latencyMs: 2000, detail: 'no answer within 2000 ms' };
const STATUS_500: HttpOutcome = { ok: false, failure: 'status', status: 500, latencyMs: 4, detail: 'HTTP 500, expected 200' };

const good = (at: number, patch: Partial<Observation> = {}): Observation => ({ at, pm2: pm2('online'), http: OK, crashes: 0, squatters: [], ...patch });
const bad = (at: number, patch: Partial<Observation> = {}): Observation => good(at, { http: STATUS_500, ...patch });

const noteOf = (d: Decision): string => (d.action === 'none' ? (d.note ?? '') : `(a remedy: ${d.reason})`);
const types = (events: readonly PolicyEvent[]): string[] => events.map((e) => e.type);

function mustRemedy(d: Decision): Extract<Decision, { action: 'remedy' }> {
  assert.equal(d.action, 'remedy', `expected a remedy, got none (${d.action === 'none' ? d.note : ''})`);
  return d as Extract<Decision, { action: 'remedy' }>;
}

/** A recorder of every event the policy emits, in order. */
function journal() {
  const events: PolicyEvent[] = [];
  return {
    events,
    decide(s: AppState, o: Observation, app: AppConfig = APP): Decision {
      const d = decide(s, o, app);
      events.push(...d.events);
      return d;
    },
    after(s: AppState, ok: boolean, now: number, app: AppConfig = APP): AppState {
      const r = afterRemedy(s, ok, now, app, ok ? '' : 'did not come back', 0.5);
      events.push(...r.events);
      return r.state;
    },
  };
}

/**
 * Drive a fresh app into an open circuit: failed remedies at 0, 2000 and 5000 (each taking
 * 100 ms; the backoffs are 1 s and 2 s). The circuit opens when the third one ends, at 5100.
 */
function openedCircuit(app: AppConfig = APP) {
  const j = journal();
  let s = initialState(0);
  for (const at of [0, 2000, 5000]) {
    const d = mustRemedy(j.decide(s, bad(at), app));
    assert.equal(d.trial, false);
    s = j.after(d.state, false, at + 100, app);
  }
  return { state: s, journal: j, openedAt: 5100 };
}

describe('circuit: closed -> open', () => {
  test('max_restart_failures failed remedies inside failure_window open it, with exactly one circuit_opened', () => {
    const j = journal();
    let s = initialState(0);
    const circuits: string[] = [];
    for (const at of [0, 2000, 5000]) {
      const d = mustRemedy(j.decide(s, bad(at)));
      s = j.after(d.state, false, at + 100);
      circuits.push(s.circuit);
    }
    assert.deepEqual(circuits, ['closed', 'closed', 'open']);
    assert.deepEqual(types(j.events), ['circuit_opened']);
    assert.match(j.events[0]!.detail, /3 failed remedies within 60 s/);
    assert.equal(s.circuitSince, 5100);
    assert.equal(s.phase, 'unhealthy');
    assert.equal(s.failedRemedies, 3);
    assert.deepEqual(s.recentFailures, [100, 2100, 5100]);
  });

  test('the third failure is opened by afterRemedy itself (its events hold the one circuit_opened)', () => {
    const { state } = openedCircuit();
    const more = afterRemedy({ ...state, phase: 'remedying' }, false, 6000, APP, 'x');
    assert.deepEqual(more.events, [], 'already open: no second circuit_opened');
    assert.equal(more.state.circuit, 'open');
  });

  test('failures outside failure_window do not count', () => {
    const j = journal();
    let s = initialState(0);
    for (const at of [0, 70_000, 140_000, 210_000]) {
      const d = mustRemedy(j.decide(s, bad(at)));
      s = j.after(d.state, false, at);
      assert.equal(s.circuit, 'closed', `at ${at}`);
      assert.deepEqual(s.recentFailures, [at], 'older failures dropped from the window');
    }
    assert.equal(s.failedRemedies, 4, 'the backoff still counts every failed remedy in a row');
    assert.deepEqual(j.events, []);
  });

  test('the window is a sliding one: a failure exactly failure_window old has left it', () => {
    const j = journal();
    let s = initialState(0);
    for (const at of [0, 30_000, 60_000]) {
      s = j.after(mustRemedy(j.decide(s, bad(at))).state, false, at);
    }
    assert.equal(s.circuit, 'closed');
    assert.deepEqual(s.recentFailures, [30_000, 60_000]);
    s = j.after(mustRemedy(j.decide(s, bad(89_999))).state, false, 89_999);
    assert.equal(s.circuit, 'open', '30_000, 60_000 and 89_999 are within 60 s');
    assert.deepEqual(types(j.events), ['circuit_opened']);
  });

  test('max_restart_failures 1 opens on the first failed remedy', () => {
    const app = withPolicy({ maxRestartFailures: 1 });
    const r = afterRemedy(mustRemedy(decide(initialState(0), bad(10), app)).state, false, 20, app, 'no');
    assert.equal(r.state.circuit, 'open');
    assert.deepEqual(types(r.events), ['circuit_opened']);
  });

  test('recentFailures stays bounded by max_restart_failures', () => {
    const app = withPolicy({ maxRestartFailures: 100, failureWindowMs: 10_000_000 });
    let s = initialState(0);
    for (let i = 0; i < 250; i++) s = afterRemedy({ ...s, phase: 'remedying', backoffUntil: 0 }, false, i * 10, app, 'x').state;
    assert.equal(s.recentFailures.length, 100);
    assert.equal(s.recentFailures.at(-1), 2490);
  });

  test('a successful remedy in between clears the failures', () => {
    const j = journal();
    let s = initialState(0);
    s = j.after(mustRemedy(j.decide(s, bad(0))).state, false, 100);
    s = j.after(mustRemedy(j.decide(s, bad(2000))).state, false, 2100);
    s = j.after(mustRemedy(j.decide(s, bad(5000))).state, true, 5100);
    assert.deepEqual(s.recentFailures, []);
    s = j.after(mustRemedy(j.decide(s, bad(6000))).state, false, 6100);
    assert.equal(s.circuit, 'closed');
    assert.deepEqual(j.events, []);
  });
});

describe('circuit: open', () => {
  test('no remedy however bad, even for urgent reasons; the note says the circuit is open', () => {
    const { state, openedAt } = openedCircuit();
    const squatter = { port: 5000, pid: 4242, command: 'node old.js' };
    const observations: Observation[] = [
      bad(openedAt + 60_000),
      good(openedAt + 61_000, { http: TIMEOUT }),
      good(openedAt + 62_000, { crashes: 5, http: undefined }),
      good(openedAt + 63_000, { pm2: pm2('errored'), http: undefined }),
      good(openedAt + 64_000, { pm2: pm2('stopped'), http: undefined, crashes: 1, squatters: [squatter] }),
      good(openedAt + 65_000, { pm2: pm2('stopped'), http: undefined }), // left stopped by the failed remedy
      bad(openedAt + 299_999),
    ];
    let s = state;
    for (const o of observations) {
      const d = decide(s, o, APP);
      assert.equal(d.action, 'none', `at ${o.at}`);
      assert.match(noteOf(d), /circuit open/, `at ${o.at}`);
      assert.deepEqual(d.events, []);
      assert.equal(d.state.circuit, 'open');
      assert.equal(d.state.phase, 'unhealthy');
      s = d.state;
    }
    assert.ok(s.backoffUntil < openedAt + 60_000, 'the backoff is long over: only the circuit holds');
  });

  test('the note tells how long and how to close it', () => {
    const { state, openedAt } = openedCircuit();
    const d = decide(state, bad(openedAt + 60_000), APP);
    assert.match(noteOf(d), /circuit open: no restarts for 240 s more \(helpdesk-monitor reset api closes it\)/);
    const last = decide(state, bad(openedAt + 299_001), APP);
    assert.match(noteOf(last), /for 1 s more/);
  });

  test('a stop by the operator (no failed remedy behind it) is still just stopped', () => {
    const { state, openedAt } = openedCircuit();
    const d = decide({ ...state, leftStopped: false }, good(openedAt + 1000, { pm2: pm2('stopped'), http: undefined }), APP);
    assert.equal(d.state.phase, 'stopped');
    assert.equal(d.state.circuit, 'open');
  });
});

describe('circuit: open -> half-open -> trial', () => {
  test('half-open exactly when circuit_reset_time has passed, the event once, then one trial remedy', () => {
    const { state, openedAt } = openedCircuit();
    const reset = POLICY.circuitResetMs;
    const before = decide(state, bad(openedAt + reset - 1), APP);
    assert.equal(before.action, 'none');
    assert.equal(before.state.circuit, 'open');
    assert.deepEqual(before.events, []);

    // the first observation at the reset time is not a failure: half-open, no remedy
    const at = decide(before.state, good(openedAt + reset, { pm2: pm2('launching'), http: undefined }), APP);
    assert.equal(at.action, 'none');
    assert.equal(at.state.circuit, 'half-open');
    assert.equal(at.state.circuitSince, openedAt + reset);
    assert.deepEqual(types(at.events), ['circuit_half_open']);
    assert.match(at.events[0]!.detail, /circuit_reset_time passed/);

    const trial = mustRemedy(decide(at.state, bad(openedAt + reset + 1000), APP));
    assert.equal(trial.trial, true);
    assert.deepEqual(trial.events, [], 'no second circuit_half_open');
    assert.equal(trial.state.phase, 'remedying');
    assert.equal(trial.state.circuit, 'half-open');
  });

  test('a due failure at the reset time itself is the trial, with the half-open event', () => {
    const { state, openedAt } = openedCircuit();
    const d = mustRemedy(decide(state, good(openedAt + POLICY.circuitResetMs, { pm2: pm2('errored'), http: undefined }), APP));
    assert.equal(d.trial, true);
    assert.deepEqual(types(d.events), ['circuit_half_open']);
  });

  test('long after the reset time the first observation still moves to half-open once', () => {
    const { state, openedAt } = openedCircuit();
    const j = journal();
    const d = mustRemedy(j.decide(state, bad(openedAt + 10 * POLICY.circuitResetMs)));
    assert.equal(d.trial, true);
    assert.deepEqual(types(j.events), ['circuit_half_open']);
  });

  test('while the trial runs (phase remedying) there is no second remedy', () => {
    const { state, openedAt } = openedCircuit();
    const trial = mustRemedy(decide(state, bad(openedAt + POLICY.circuitResetMs), APP));
    for (const o of [bad(openedAt + 300_500), good(openedAt + 301_000, { pm2: pm2('errored'), http: undefined }), bad(openedAt + 10_000_000)]) {
      const d = decide(trial.state, o, APP);
      assert.equal(d.action, 'none');
      assert.equal(d.state, trial.state);
      assert.deepEqual(d.events, []);
      assert.match(noteOf(d), /remedy is in progress/);
    }
  });

  test('a failed trial opens the circuit again, since the end of the trial', () => {
    const { state, openedAt } = openedCircuit();
    const start = openedAt + POLICY.circuitResetMs;
    const trial = mustRemedy(decide(state, bad(start), APP));
    const end = start + 7000;
    const failed = afterRemedy(trial.state, false, end, APP, 'trial failed');
    assert.equal(failed.state.circuit, 'open');
    assert.equal(failed.state.circuitSince, end);
    assert.equal(failed.state.phase, 'unhealthy');
    assert.deepEqual(types(failed.events), ['circuit_opened']);
    assert.match(failed.events[0]!.detail, /half-open trial failed/);
    assert.equal(failed.state.failedRemedies, 4);

    const held = decide(failed.state, bad(end + POLICY.circuitResetMs - 1), APP);
    assert.equal(held.action, 'none');
    assert.match(noteOf(held), /circuit open/);
    const again = mustRemedy(decide(held.state, bad(end + POLICY.circuitResetMs), APP));
    assert.equal(again.trial, true);
    assert.deepEqual(types(again.events), ['circuit_half_open']);
  });

  test('a failed trial reopens even when the window has no other failure left', () => {
    const { state, openedAt } = openedCircuit(withPolicy({ circuitResetMs: 3_600_000 }));
    const app = withPolicy({ circuitResetMs: 3_600_000 });
    const trial = mustRemedy(decide(state, bad(openedAt + 3_600_000), app));
    const failed = afterRemedy(trial.state, false, openedAt + 3_600_100, app, 'x');
    assert.deepEqual(failed.state.recentFailures, [openedAt + 3_600_100], 'the old failures left the window');
    assert.equal(failed.state.circuit, 'open');
  });

  test('a successful trial closes the circuit and resets the counters', () => {
    const { state, openedAt } = openedCircuit();
    const start = openedAt + POLICY.circuitResetMs;
    const trial = mustRemedy(decide(state, bad(start), APP));
    const ok = afterRemedy(trial.state, true, start + 3000, APP, '');
    assert.deepEqual(types(ok.events), ['circuit_closed']);
    assert.match(ok.events[0]!.detail, /a remedy restored the app/);
    assert.equal(ok.state.circuit, 'closed');
    assert.equal(ok.state.circuitSince, start + 3000);
    assert.equal(ok.state.phase, 'healthy');
    assert.equal(ok.state.failedRemedies, 0);
    assert.deepEqual(ok.state.recentFailures, []);
    assert.equal(ok.state.backoffUntil, 0);
    assert.equal(ok.state.consecutiveFailures, 0);
    assert.equal(ok.state.leftStopped, false);

    // a fresh failure afterwards is an ordinary remedy, not a trial, with no backoff
    const next = mustRemedy(decide(ok.state, bad(start + 4000), APP));
    assert.equal(next.trial, false);
  });

  test('the whole cycle emits each event exactly when it happens', () => {
    const { state, journal: j, openedAt } = openedCircuit();
    let s = state;
    s = j.decide(s, bad(openedAt + 1000)).state; // held
    const trial = mustRemedy(j.decide(s, bad(openedAt + POLICY.circuitResetMs)));
    s = j.after(trial.state, false, openedAt + POLICY.circuitResetMs + 500); // reopened
    const trial2 = mustRemedy(j.decide(s, bad(openedAt + 2 * POLICY.circuitResetMs + 500)));
    s = j.after(trial2.state, true, openedAt + 2 * POLICY.circuitResetMs + 900);
    assert.deepEqual(types(j.events), ['circuit_opened', 'circuit_half_open', 'circuit_opened', 'circuit_half_open', 'circuit_closed']);
    assert.equal(s.circuit, 'closed');
  });
});

describe('circuit: verified health closes it', () => {
  test('a healthy observation while open closes it (success_threshold 1)', () => {
    const { state, openedAt } = openedCircuit();
    const d = decide(state, good(openedAt + 1000), APP);
    assert.equal(d.action, 'none');
    assert.equal(d.state.phase, 'healthy');
    assert.equal(d.state.circuit, 'closed');
    assert.equal(d.state.circuitSince, openedAt + 1000);
    assert.equal(d.state.failedRemedies, 0);
    assert.deepEqual(d.state.recentFailures, []);
    assert.equal(d.state.backoffUntil, 0);
    assert.deepEqual(types(d.events), ['circuit_closed']);
    assert.match(d.events[0]!.detail, /healthy again/);
  });

  test('a healthy observation while half-open closes it', () => {
    const { state, openedAt } = openedCircuit();
    const half = decide(state, good(openedAt + POLICY.circuitResetMs, { pm2: pm2('launching'), http: undefined }), APP).state;
    assert.equal(half.circuit, 'half-open');
    const d = decide(half, good(openedAt + POLICY.circuitResetMs + 1000), APP);
    assert.equal(d.state.circuit, 'closed');
    assert.deepEqual(types(d.events), ['circuit_closed']);
  });

  test('open -> half-open -> closed in one healthy observation at the reset time', () => {
    const { state, openedAt } = openedCircuit();
    const d = decide(state, good(openedAt + POLICY.circuitResetMs), APP);
    assert.deepEqual(types(d.events), ['circuit_half_open', 'circuit_closed']);
    assert.equal(d.state.circuit, 'closed');
  });

  test('launching or stopping is not verified health', () => {
    const { state, openedAt } = openedCircuit();
    for (const st of ['launching', 'stopping'] as const) {
      const d = decide(state, good(openedAt + 1000, { pm2: pm2(st), http: undefined }), APP);
      assert.equal(d.state.circuit, 'open', st);
      assert.deepEqual(d.events, []);
    }
  });

  test('with success_threshold 3 it closes only after 3 good checks in a row', () => {
    const app = withPolicy({ successThreshold: 3 });
    const { state, openedAt } = openedCircuit(app);
    const ds: Decision[] = [];
    let s = state;
    for (const at of [1000, 2000, 3000]) {
      const d = decide(s, good(openedAt + at), app);
      ds.push(d);
      s = d.state;
    }
    assert.deepEqual(ds.map((d) => d.state.phase), ['unhealthy', 'unhealthy', 'healthy']);
    assert.deepEqual(ds.map((d) => d.state.circuit), ['open', 'open', 'closed']);
    assert.match(noteOf(ds[0]!), /recovering \(1\/3\)/);
    assert.match(noteOf(ds[1]!), /recovering \(2\/3\)/);
    assert.deepEqual(ds.map((d) => types(d.events)), [[], [], ['circuit_closed']]);
  });

  test('a failure between good checks resets the success count (circuit stays open)', () => {
    const app = withPolicy({ successThreshold: 3 });
    const { state, openedAt } = openedCircuit(app);
    let s = state;
    s = decide(s, good(openedAt + 1000), app).state;
    s = decide(s, good(openedAt + 2000), app).state;
    assert.equal(s.consecutiveSuccesses, 2);
    const held = decide(s, bad(openedAt + 3000), app);
    assert.equal(held.action, 'none');
    assert.match(noteOf(held), /circuit open/);
    assert.equal(held.state.consecutiveSuccesses, 0);
    s = held.state;
    const d1 = decide(s, good(openedAt + 4000), app);
    assert.match(noteOf(d1), /recovering \(1\/3\)/);
    assert.equal(d1.state.circuit, 'open');
    s = decide(decide(d1.state, good(openedAt + 5000), app).state, good(openedAt + 6000), app).state;
    assert.equal(s.circuit, 'closed');
    assert.equal(s.phase, 'healthy');
  });
});

describe('success_threshold with the circuit closed', () => {
  const app: AppConfig = { ...APP, health: { ...APP.health, failureThreshold: 3 }, policy: { ...POLICY, successThreshold: 2 } };

  test('a failing app stays failing until enough consecutive good checks', () => {
    let s: AppState = { ...initialState(0), phase: 'healthy' };
    s = decide(s, bad(1), app).state;
    s = decide(s, bad(2), app).state;
    assert.equal(s.phase, 'failing');
    const d1 = decide(s, good(3), app);
    assert.equal(d1.state.phase, 'failing');
    assert.equal(d1.state.consecutiveSuccesses, 1);
    assert.match(noteOf(d1), /recovering \(1\/2\)/);
    const d2 = decide(d1.state, good(4), app);
    assert.equal(d2.state.phase, 'healthy');
    assert.equal(d2.state.consecutiveFailures, 0);
    assert.equal(d2.state.lastChangeAt, 4);
  });

  test('a failure in between resets the success count', () => {
    let s: AppState = { ...initialState(0), phase: 'failing', consecutiveFailures: 1 };
    s = decide(s, good(1), app).state;
    assert.equal(s.consecutiveSuccesses, 1);
    s = decide(s, bad(2), app).state;
    assert.equal(s.consecutiveSuccesses, 0);
    assert.equal(s.phase, 'failing');
    s = decide(s, good(3), app).state;
    assert.equal(s.phase, 'failing', 'one good check is not enough again');
    s = decide(s, good(4), app).state;
    assert.equal(s.phase, 'healthy');
  });

  test('an unhealthy app after a failed remedy needs the threshold too', () => {
    const failed = afterRemedy({ ...initialState(0), phase: 'remedying', consecutiveFailures: 3 }, false, 10, app, 'x').state;
    const d1 = decide(failed, good(20), app);
    assert.equal(d1.state.phase, 'unhealthy');
    assert.equal(d1.state.leftStopped, true, 'not recovered yet');
    const d2 = decide(d1.state, good(30), app);
    assert.equal(d2.state.phase, 'healthy');
    assert.equal(d2.state.leftStopped, false);
  });

  test(
    'a verified recovery forgets the failed remedies (AppState.failedRemedies: "reset by a verified recovery")',
    () => {
      const failed = afterRemedy({ ...initialState(0), phase: 'remedying', consecutiveFailures: 3 }, false, 10, APP, 'x').state;
      assert.equal(failed.failedRemedies, 1);
      const healthy = decide(failed, good(5000), APP).state;
      assert.equal(healthy.phase, 'healthy');
      assert.equal(healthy.failedRemedies, 0);
      // hours later the app fails again and the remedy fails: the first backoff again, not the second
      const d = mustRemedy(decide(healthy, bad(3_600_000), APP));
      const again = afterRemedy(d.state, false, 3_600_100, APP, 'x').state;
      assert.equal(again.backoffUntil, 3_600_100 + POLICY.restartDelayMs);
    },
  );

  test('unknown, stopped or healthy apps are healthy on the first good check', () => {
    for (const phase of ['unknown', 'stopped', 'missing', 'healthy'] as const) {
      const d = decide({ ...initialState(0), phase }, good(5), app);
      assert.equal(d.state.phase, 'healthy', phase);
    }
  });

  test('the success count keeps counting while healthy', () => {
    let s: AppState = { ...initialState(0), phase: 'healthy' };
    for (let i = 1; i <= 5; i++) s = decide(s, good(i), app).state;
    assert.equal(s.consecutiveSuccesses, 5);
  });
});

describe('closeCircuit: the manual reset', () => {
  test('a closed circuit with nothing to forget is left as it is (a healthy check persists nothing new)', () => {
    const clean: AppState = { ...initialState(0), phase: 'healthy', circuitSince: 5 };
    const r = closeCircuit(clean, 9000, 'the app is healthy again');
    assert.equal(r.state, clean);
    assert.deepEqual(r.events, []);
    let s = clean;
    for (let i = 1; i <= 3; i++) s = decide(s, good(10_000 + i), APP).state;
    assert.equal(s.circuitSince, 5, 'circuit_since stays when the circuit never changed');
  });

  test('closes an open circuit, forgets failed remedies and the backoff, keeps the phase', () => {
    const { state, openedAt } = openedCircuit();
    const r = closeCircuit(state, openedAt + 500, 'reset by an operator');
    assert.deepEqual(r.events, [{ type: 'circuit_closed', detail: 'reset by an operator' }]);
    assert.equal(r.state.circuit, 'closed');
    assert.equal(r.state.circuitSince, openedAt + 500);
    assert.equal(r.state.failedRemedies, 0);
    assert.deepEqual(r.state.recentFailures, []);
    assert.equal(r.state.backoffUntil, 0);
    assert.equal(r.state.phase, state.phase);
    // the next due failure is remedied at once, as an ordinary remedy
    const d = mustRemedy(decide(r.state, bad(openedAt + 600), APP));
    assert.equal(d.trial, false);
    assert.deepEqual(d.events, []);
  });

  test('closes a half-open circuit too', () => {
    const { state, openedAt } = openedCircuit();
    const half = decide(state, good(openedAt + POLICY.circuitResetMs, { pm2: pm2('launching'), http: undefined }), APP).state;
    const r = closeCircuit(half, openedAt + POLICY.circuitResetMs + 1, 'reset');
    assert.deepEqual(types(r.events), ['circuit_closed']);
    assert.equal(r.state.circuit, 'closed');
  });

  test('on a closed circuit it emits nothing but still clears the backoff', () => {
    const s: AppState = { ...initialState(0), failedRemedies: 2, backoffUntil: 9999, recentFailures: [1, 2] };
    const r = closeCircuit(s, 10, 'reset');
    assert.deepEqual(r.events, []);
    assert.equal(r.state.failedRemedies, 0);
    assert.equal(r.state.backoffUntil, 0);
    assert.deepEqual(r.state.recentFailures, []);
  });
});

/**
 * The startup grace with the breaker: grace covers a new instance's failures only until its
 * first healthy check, so a restart (by an operator, or the half-open trial) cannot hide a
 * hang behind startup_grace once the instance has answered.
 */
describe('circuit and startup grace', () => {
  const GRACED: AppConfig = { ...APP, startupGraceMs: 10_000 };
  /** Instance `pid`, started at `start`, observed at `at` (PM2's uptime grows with the clock). */
  const inst = (at: number, start: number, pid: number, http: HttpOutcome): Observation =>
    good(at, { pm2: { ...pm2('online'), pids: [pid], uptimeMs: at - start }, http });

  test('an operator restart while open: failures before its first healthy check are graced, that check closes the circuit, a hang after it is remedied at once', () => {
    const { state, openedAt } = openedCircuit(GRACED);
    const j = journal();
    const start = openedAt + 1000;
    const starting = j.decide(state, inst(start + 200, start, 777, STATUS_500), GRACED);
    assert.ok(starting.action === 'none' && starting.graced === true, noteOf(starting));
    assert.equal(starting.state.circuit, 'open', 'a graced failure changes nothing');
    assert.equal(starting.state.failedRemedies, 3);
    const up = j.decide(starting.state, inst(start + 1200, start, 777, OK), GRACED);
    assert.equal(up.state.circuit, 'closed');
    assert.equal(up.state.instance?.healthy, true);
    const hang = mustRemedy(j.decide(up.state, inst(start + 3500, start, 777, TIMEOUT), GRACED));
    assert.equal(hang.hung, true);
    assert.equal(hang.trial, false);
    assert.deepEqual(types(j.events), ['circuit_closed']);
  });

  test('the half-open trial restarts the app; its new instance is graced until healthy, then a hang inside the grace is a remedy', () => {
    const { state, openedAt } = openedCircuit(GRACED);
    const j = journal();
    const at = openedAt + POLICY.circuitResetMs;
    const trial = mustRemedy(j.decide(state, inst(at, openedAt - 60_000, 1234, STATUS_500), GRACED));
    assert.equal(trial.trial, true);
    const healed = j.after(trial.state, true, at + 500, GRACED);
    assert.equal(healed.circuit, 'closed');
    const start = at + 300;
    const d1 = j.decide(healed, inst(at + 600, start, 4321, TIMEOUT), GRACED);
    assert.ok(d1.action === 'none' && d1.graced === true, 'the new instance has not answered yet');
    const d2 = j.decide(d1.state, inst(at + 1600, start, 4321, OK), GRACED);
    assert.equal(d2.state.phase, 'healthy');
    const d3 = mustRemedy(j.decide(d2.state, inst(at + 3600, start, 4321, TIMEOUT), GRACED));
    assert.equal(d3.trial, false, 'the circuit closed with the trial');
    assert.deepEqual(types(j.events), ['circuit_half_open', 'circuit_closed']);
  });

  test('while open, the graced instance is not held: no circuit note until its grace or first healthy check is behind it', () => {
    const { state, openedAt } = openedCircuit(GRACED);
    const start = openedAt + 1000;
    const inGrace = decide(state, inst(start + 9_000, start, 555, TIMEOUT), GRACED);
    assert.match(noteOf(inGrace), /startup_grace/);
    const after = decide(inGrace.state, inst(start + 10_000, start, 555, TIMEOUT), GRACED);
    assert.match(noteOf(after), /circuit open/);
  });
});
