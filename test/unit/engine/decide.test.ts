import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AppConfig } from '../../../src/config/schema.js';
import {
  afterRemedy,
  decide,
  initialState,
  remedyBackoffMs,
  transition,
  type AppState,
  type Observation,
} from '../../../src/engine/decide.js';
import type { HttpOutcome, Pm2State, Pm2StatusOutcome } from '../../../src/probes/types.js';

const APP: AppConfig = {
  name: 'helpdesk-backend',
  health: {
    url: 'http://127.0.0.1:5000/health',
    timeoutMs: 2000,
    intervalMs: 5000,
    failureThreshold: 3,
    expectStatus: [200],
    maxBodyBytes: 65_536,
    followRedirects: false,
  },
  startupGraceMs: 10_000,
  ports: [5000],
  killScope: 'app',
  killGraceMs: 2000,
  verifyTimeoutMs: 30_000,
};

const withApp = (patch: Partial<AppConfig>, health: Partial<AppConfig['health']> = {}): AppConfig => ({
  ...APP,
  ...patch,
  health: { ...APP.health, ...health },
});

const pm2 = (state: Pm2State, uptimeMs = 60_000): Pm2StatusOutcome => ({
  state, pids: state === 'online' ? [1234] : [], pmIds: [0], restarts: 0, uptimeMs, detail: `status ${state}`,
});

const OK: HttpOutcome = { ok: true, status: 200, latencyMs: 3 };
const TIMEOUT: HttpOutcome = { ok: false, failure: 'timeout', latencyMs: 2000, detail: 'no answer within 2000 ms' };
const STATUS_500: HttpOutcome = { ok: false, failure: 'status', status: 500, latencyMs: 4, detail: 'HTTP 500, expected 200' };
const REFUSED: HttpOutcome = { ok: false, failure: 'refused', latencyMs: 1, detail: 'connection refused' };

function obs(at: number, patch: Partial<Observation> = {}): Observation {
  return { at, pm2: pm2('online'), http: OK, crashes: 0, squatters: [], ...patch };
}

const state = (patch: Partial<AppState> = {}): AppState => ({ ...initialState(0), ...patch });

/** Feed observations one by one and return every decision. */
function run(start: AppState, observations: readonly Observation[], app: AppConfig = APP) {
  let s = start;
  return observations.map((o) => {
    const d = decide(s, o, app);
    s = d.state;
    return d;
  });
}

describe('initialState and transition', () => {
  test('initial state is unknown with zero counters', () => {
    assert.deepEqual(initialState(42), { phase: 'unknown', consecutiveFailures: 0, failedRemedies: 0, backoffUntil: 0, leftStopped: false, lastChangeAt: 42 });
  });
  test('lastChangeAt moves only when the phase changes', () => {
    const s = state({ phase: 'failing', lastChangeAt: 100 });
    assert.equal(transition(s, 'failing', 500, { consecutiveFailures: 2 }).lastChangeAt, 100);
    assert.equal(transition(s, 'healthy', 500).lastChangeAt, 500);
  });
});

describe('decide: health transitions', () => {
  test('unknown -> healthy on a good observation', () => {
    const d = decide(initialState(0), obs(1000), APP);
    assert.equal(d.action, 'none');
    assert.equal(d.state.phase, 'healthy');
    assert.equal(d.state.consecutiveFailures, 0);
    assert.equal(d.state.lastChangeAt, 1000);
  });

  test('an app without a URL (no http outcome) is healthy when online', () => {
    const d = decide(initialState(0), obs(1000, { http: undefined }), APP);
    assert.equal(d.state.phase, 'healthy');
  });

  test('healthy -> failing counts n/threshold without acting', () => {
    const [d1, d2] = run(state({ phase: 'healthy' }), [obs(1000, { http: STATUS_500 }), obs(6000, { http: STATUS_500 })]);
    assert.equal(d1!.action, 'none');
    assert.equal(d1!.state.phase, 'failing');
    assert.equal(d1!.state.consecutiveFailures, 1);
    assert.match(d1!.state.lastReason ?? '', /health status: HTTP 500.*\(1\/3\)$/);
    assert.equal(d1!.state.lastChangeAt, 1000);
    assert.equal(d2!.action, 'none');
    assert.equal(d2!.state.consecutiveFailures, 2);
    assert.match(d2!.state.lastReason ?? '', /\(2\/3\)$/);
    assert.equal(d2!.state.lastChangeAt, 1000, 'still failing: no phase change');
  });

  test('failing -> healthy resets the count and the reason', () => {
    const d = decide(state({ phase: 'failing', consecutiveFailures: 2, lastReason: 'x (2/3)' }), obs(9000), APP);
    assert.equal(d.action, 'none');
    assert.equal(d.state.phase, 'healthy');
    assert.equal(d.state.consecutiveFailures, 0);
    assert.equal(d.state.lastReason, undefined);
    assert.equal(d.state.lastChangeAt, 9000);
  });

  test('a recovery in between restarts the count from zero', () => {
    const ds = run(state({ phase: 'healthy' }), [
      obs(1, { http: STATUS_500 }),
      obs(2, { http: STATUS_500 }),
      obs(3),
      obs(4, { http: STATUS_500 }),
      obs(5, { http: STATUS_500 }),
    ]);
    assert.deepEqual(ds.map((d) => d.action), ['none', 'none', 'none', 'none', 'none']);
    assert.equal(ds[4]!.state.consecutiveFailures, 2);
  });

  test('failing -> remedying at the threshold, with hung true for a timeout', () => {
    const ds = run(state({ phase: 'healthy' }), [obs(1000, { http: TIMEOUT }), obs(6000, { http: TIMEOUT }), obs(11_000, { http: TIMEOUT })]);
    assert.deepEqual(ds.map((d) => d.action), ['none', 'none', 'remedy']);
    const d = ds[2]!;
    assert.ok(d.action === 'remedy');
    assert.equal(d.hung, true);
    assert.equal(d.state.phase, 'remedying');
    assert.equal(d.state.consecutiveFailures, 3);
    assert.equal(d.state.lastChangeAt, 11_000);
    assert.match(d.reason, /health timeout: no answer within 2000 ms \(3\/3\)/);
    assert.equal(d.state.lastReason, d.reason);
  });

  test('hung is false for other http failures', () => {
    for (const http of [STATUS_500, REFUSED]) {
      const d = decide(state({ phase: 'failing', consecutiveFailures: 2 }), obs(1, { http }), APP);
      assert.ok(d.action === 'remedy', http.ok ? '' : http.failure);
      assert.equal(d.hung, false);
    }
  });

  test('a threshold of 1 remedies on the first failure', () => {
    const d = decide(state({ phase: 'healthy' }), obs(1, { http: TIMEOUT }), withApp({}, { failureThreshold: 1 }));
    assert.ok(d.action === 'remedy');
    assert.match(d.reason, /\(1\/1\)/);
  });

  test('crashes count as failures toward the threshold, not hung', () => {
    const ds = run(state({ phase: 'healthy' }), [
      obs(1, { crashes: 1, http: undefined }),
      obs(2, { crashes: 2, http: undefined }),
      obs(3, { crashes: 1, http: undefined }),
    ]);
    assert.deepEqual(ds.map((d) => d.action), ['none', 'none', 'remedy']);
    assert.match(ds[0]!.state.lastReason ?? '', /exited unexpectedly once since the last check \(1\/3\)/);
    assert.match(ds[1]!.state.lastReason ?? '', /exited unexpectedly 2 times/);
    const last = ds[2]!;
    assert.ok(last.action === 'remedy');
    assert.equal(last.hung, false);
  });
});

describe('decide: startup grace', () => {
  test('http failures inside startup_grace are ignored', () => {
    const s = state({ phase: 'unknown' });
    const d = decide(s, obs(1000, { pm2: pm2('online', 3000), http: TIMEOUT }), APP);
    assert.equal(d.action, 'none');
    assert.equal(d.state, s, 'state unchanged');
    assert.match(d.note ?? '', /startup_grace/);
  });

  test('a failing count is not advanced inside the grace', () => {
    const s = state({ phase: 'failing', consecutiveFailures: 2 });
    const d = decide(s, obs(1000, { pm2: pm2('online', 9_999), http: TIMEOUT }), APP);
    assert.equal(d.action, 'none');
    assert.equal(d.state.consecutiveFailures, 2);
  });

  test('the same failure counts once uptime reaches the grace', () => {
    const d = decide(state(), obs(1000, { pm2: pm2('online', 10_000), http: TIMEOUT }), APP);
    assert.equal(d.state.phase, 'failing');
    assert.equal(d.state.consecutiveFailures, 1);
  });

  test('crashes count even inside the grace', () => {
    const d = decide(state(), obs(1000, { pm2: pm2('online', 100), crashes: 1, http: TIMEOUT }), APP);
    assert.equal(d.state.phase, 'failing');
    assert.equal(d.state.consecutiveFailures, 1);
    assert.match(d.state.lastReason ?? '', /exited unexpectedly/);
  });

  test('a zero grace counts the first failure', () => {
    const d = decide(state(), obs(1000, { pm2: pm2('online', 0), http: TIMEOUT }), withApp({ startupGraceMs: 0 }));
    assert.equal(d.state.consecutiveFailures, 1);
  });
});

describe('decide: urgent remedies', () => {
  const squatter = { port: 5000, pid: 4242, command: 'node old-server.js' };

  test('a port squatter while the app is down is remedied at once', () => {
    const d = decide(state({ phase: 'healthy' }), obs(1, { pm2: pm2('stopped'), crashes: 1, http: undefined, squatters: [squatter] }), APP);
    assert.ok(d.action === 'remedy');
    assert.equal(d.hung, false);
    assert.equal(d.state.phase, 'remedying');
    assert.match(d.reason, /port 5000 held by pid 4242 \(node old-server\.js\) while the app is down/);
    assert.doesNotMatch(d.reason, /\/3\)/, 'no threshold count on urgent reasons');
  });

  test('a squatter on a stopped app with no crash is still urgent', () => {
    const d = decide(state(), obs(1, { pm2: pm2('stopped'), http: undefined, squatters: [squatter] }), APP);
    assert.equal(d.action, 'remedy');
  });

  test('a squatter inside the startup grace is still urgent', () => {
    const d = decide(state(), obs(1, { pm2: pm2('launching', 10), http: TIMEOUT, squatters: [squatter] }), APP);
    assert.equal(d.action, 'remedy');
  });

  test('PM2 errored is remedied without waiting for the threshold', () => {
    const d = decide(state({ phase: 'healthy' }), obs(1, { pm2: pm2('errored'), http: undefined }), APP);
    assert.ok(d.action === 'remedy');
    assert.match(d.reason, /PM2 marked the app errored/);
    assert.equal(d.state.consecutiveFailures, 1);
  });
});

describe('decide: PM2 states that need no remedy', () => {
  test("'stopped' with no crash => phase stopped, no remedy, count reset", () => {
    const d = decide(state({ phase: 'failing', consecutiveFailures: 2 }), obs(7, { pm2: pm2('stopped'), http: undefined }), APP);
    assert.equal(d.action, 'none');
    assert.equal(d.state.phase, 'stopped');
    assert.equal(d.state.consecutiveFailures, 0);
    assert.equal(d.state.lastReason, 'stopped in PM2');
    assert.equal(d.state.lastChangeAt, 7);
  });

  test("'stopped' with a crash counts as a failure", () => {
    const d = decide(state(), obs(7, { pm2: pm2('stopped'), crashes: 1, http: undefined }), APP);
    assert.equal(d.state.phase, 'failing');
  });

  test("'missing' => phase missing, no remedy, even with crashes or squatters", () => {
    const missing: Pm2StatusOutcome = { ...pm2('missing'), detail: 'not known to PM2' };
    const d = decide(
      state({ phase: 'healthy' }),
      obs(3, { pm2: missing, http: undefined, crashes: 2, squatters: [{ port: 5000, pid: 9, command: 'x' }] }),
      APP,
    );
    assert.equal(d.action, 'none');
    assert.equal(d.state.phase, 'missing');
    assert.equal(d.state.lastReason, 'not known to PM2');
  });

  test("'remedying' => no action whatever is observed", () => {
    const s = state({ phase: 'remedying', consecutiveFailures: 3 });
    for (const o of [
      obs(1, { pm2: pm2('errored') }),
      obs(2, { http: TIMEOUT }),
      obs(3, { squatters: [{ port: 5000, pid: 9, command: 'x' }] }),
      obs(4),
    ]) {
      const d = decide(s, o, APP);
      assert.equal(d.action, 'none');
      assert.equal(d.state, s);
      assert.match(d.note ?? '', /remedy is in progress/);
    }
  });

  test('launching and stopping do not flip a failing app to healthy', () => {
    for (const st of ['launching', 'stopping'] as const) {
      const s = state({ phase: 'failing', consecutiveFailures: 2, lastReason: 'r' });
      const d = decide(s, obs(5, { pm2: pm2(st), http: undefined }), APP);
      assert.equal(d.action, 'none');
      assert.equal(d.state.phase, 'failing', st);
      assert.equal(d.state.consecutiveFailures, 2, st);
    }
    const fresh = initialState(0);
    assert.equal(decide(fresh, obs(5, { pm2: pm2('launching'), http: undefined }), APP).state.phase, 'unknown');
  });
});

describe('afterRemedy and backoff', () => {
  test('remedyBackoffMs doubles from the interval and is capped at 5 minutes', () => {
    assert.equal(remedyBackoffMs(APP, 0), 0);
    assert.equal(remedyBackoffMs(APP, -1), 0);
    assert.equal(remedyBackoffMs(APP, 1), 5000);
    assert.equal(remedyBackoffMs(APP, 2), 10_000);
    assert.equal(remedyBackoffMs(APP, 3), 20_000);
    assert.equal(remedyBackoffMs(APP, 6), 160_000);
    assert.equal(remedyBackoffMs(APP, 7), 300_000);
    assert.equal(remedyBackoffMs(APP, 50), 300_000);
    assert.equal(remedyBackoffMs(APP, 10_000), 300_000);
    const fast = withApp({}, { intervalMs: 1 });
    assert.equal(remedyBackoffMs(fast, 1000), 65_536, 'the exponent is capped at 16');
  });

  test('a successful remedy makes the app healthy and clears every counter', () => {
    const s = state({ phase: 'remedying', consecutiveFailures: 4, failedRemedies: 2, backoffUntil: 99_999, lastReason: 'x' });
    const next = afterRemedy(s, true, 50_000, APP, 'ignored');
    assert.equal(next.phase, 'healthy');
    assert.equal(next.consecutiveFailures, 0);
    assert.equal(next.failedRemedies, 0);
    assert.equal(next.backoffUntil, 0);
    assert.equal(next.lastReason, undefined);
    assert.equal(next.lastChangeAt, 50_000);
  });

  test('a failed remedy makes it unhealthy with a growing backoff', () => {
    const s = state({ phase: 'remedying', consecutiveFailures: 3 });
    const f1 = afterRemedy(s, false, 10_000, APP, 'did not come back');
    assert.equal(f1.phase, 'unhealthy');
    assert.equal(f1.failedRemedies, 1);
    assert.equal(f1.backoffUntil, 15_000);
    assert.equal(f1.lastReason, 'did not come back');
    const f2 = afterRemedy({ ...f1, phase: 'remedying' }, false, 20_000, APP, 'again');
    assert.equal(f2.failedRemedies, 2);
    assert.equal(f2.backoffUntil, 30_000);
  });

  test('no remedy while now < backoffUntil, a remedy again after', () => {
    const failed = afterRemedy(state({ phase: 'remedying', consecutiveFailures: 3 }), false, 10_000, APP, 'no');
    // backoffUntil = 15_000
    const during = decide(failed, obs(14_999, { http: TIMEOUT }), APP);
    assert.equal(during.action, 'none');
    assert.equal(during.state.phase, 'unhealthy');
    assert.match(during.note ?? '', /backing off 1 ms after 1 failed remedies/);
    const urgentDuring = decide(failed, obs(14_000, { pm2: pm2('errored'), http: undefined }), APP);
    assert.equal(urgentDuring.action, 'none', 'backoff holds even for urgent reasons');
    const later = decide(during.state, obs(15_000, { http: TIMEOUT }), APP);
    assert.ok(later.action === 'remedy');
    assert.equal(later.hung, true);
    assert.equal(later.state.phase, 'remedying');
  });

  test('a healthy observation during backoff recovers the phase', () => {
    const failed = afterRemedy(state({ phase: 'remedying', consecutiveFailures: 3 }), false, 10_000, APP, 'no');
    const d = decide(failed, obs(11_000), APP);
    assert.equal(d.action, 'none');
    assert.equal(d.state.phase, 'healthy');
    assert.equal(d.state.consecutiveFailures, 0);
  });

  test('a whole hang scenario with an injected clock', () => {
    const app = withApp({ startupGraceMs: 0 }, { intervalMs: 1000, failureThreshold: 2 });
    let s = initialState(0);
    const actions: string[] = [];
    const tick = (at: number, http: HttpOutcome): void => {
      const d = decide(s, obs(at, { http }), app);
      actions.push(d.action);
      s = d.state;
    };
    tick(0, OK);
    tick(1000, TIMEOUT);
    tick(2000, TIMEOUT); // remedy
    s = afterRemedy(s, false, 3000, app, 'still hung'); // backoff 1000 -> until 4000
    tick(3500, TIMEOUT); // backing off
    tick(4000, TIMEOUT); // remedy again
    s = afterRemedy(s, false, 5000, app, 'still hung'); // backoff 2000 -> until 7000
    tick(6000, TIMEOUT); // backing off
    tick(7000, TIMEOUT); // remedy
    s = afterRemedy(s, true, 8000, app, '');
    tick(9000, OK);
    assert.deepEqual(actions, ['none', 'none', 'remedy', 'none', 'remedy', 'none', 'remedy', 'none']);
    assert.equal(s.phase, 'healthy');
    assert.equal(s.failedRemedies, 0);
  });
});
