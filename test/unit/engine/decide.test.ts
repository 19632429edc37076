import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultAppConfig, type AppConfig, type HealthConfig, type PolicyConfig } from '../../../src/config/schema.js';
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

/** The app as the config loader would build it (every default), with a URL and a port. */
const BASE = defaultAppConfig('helpdesk-backend');
const APP: AppConfig = { ...BASE, health: { ...BASE.health, url: 'http://127.0.0.1:5000/health' }, ports: [5000] };

const withApp = (patch: Partial<AppConfig>, health: Partial<HealthConfig> = {}, policy: Partial<PolicyConfig> = {}): AppConfig => ({
  ...APP,
  ...patch,
  health: { ...APP.health, ...health },
  policy: { ...APP.policy, ...policy },
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

describe('the test app', () => {
  test('is built from defaultAppConfig with the documented policy defaults', () => {
    assert.deepEqual(APP.policy, {
      successThreshold: 1,
      restartDelayMs: 5000,
      backoffFactor: 2,
      backoffMaxMs: 300_000,
      backoffJitter: 0.1,
      maxAttempts: 1,
      maxRestartFailures: 3,
      failureWindowMs: 600_000,
      circuitResetMs: 1_800_000,
    });
    assert.equal(APP.strategy, 'pm2');
    assert.equal(APP.serviceUnit, 'helpdesk-backend');
    assert.equal(APP.health.failureThreshold, 3);
    assert.equal(APP.startupGraceMs, 10_000);
  });
});

describe('initialState and transition', () => {
  test('initial state is unknown with zero counters and a closed circuit', () => {
    assert.deepEqual(initialState(42), {
      phase: 'unknown',
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      failedRemedies: 0,
      backoffUntil: 0,
      leftStopped: false,
      circuit: 'closed',
      circuitSince: 42,
      recentFailures: [],
      lastChangeAt: 42,
    });
  });
  test('lastChangeAt moves only when the phase changes', () => {
    const s = state({ phase: 'failing', lastChangeAt: 100 });
    assert.equal(transition(s, 'failing', 500, { consecutiveFailures: 2 }).lastChangeAt, 100);
    assert.equal(transition(s, 'healthy', 500).lastChangeAt, 500);
  });
  test('transition applies the patch and keeps everything else', () => {
    const s = state({ phase: 'failing', circuit: 'open', circuitSince: 7, recentFailures: [1, 2] });
    const t = transition(s, 'unhealthy', 9, { consecutiveFailures: 5 });
    assert.equal(t.phase, 'unhealthy');
    assert.equal(t.consecutiveFailures, 5);
    assert.equal(t.circuit, 'open');
    assert.equal(t.circuitSince, 7);
    assert.deepEqual(t.recentFailures, [1, 2]);
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
    assert.ok(d.action === 'none');
    assert.equal(d.graced, true);
    assert.deepEqual({ ...d.state, instance: undefined }, { ...s, instance: undefined }, 'nothing but the instance seen changes');
    assert.deepEqual(d.state.instance, { pids: '1234', uptimeMs: 3000, healthy: false });
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

/**
 * The startup grace ends at each instance's first healthy check (like a Kubernetes startup
 * probe): sequences on an injected clock, where an instance is its pids and PM2's uptime grows
 * with the clock (uptime = at - start).
 */
describe('decide: startup grace ends at the first healthy check', () => {
  // threshold 2 at 1 s, grace 10 s: the acceptance's settings.
  const app = withApp({ startupGraceMs: 10_000 }, { intervalMs: 1000, failureThreshold: 2 });
  /** An observation of instance `pids`, started at `start`, at time `at`. */
  const seen = (at: number, start: number, http: HttpOutcome, pids: readonly number[] = [1234], patch: Partial<Observation> = {}): Observation =>
    obs(at, { pm2: { ...pm2('online', at - start), pids }, http, ...patch });
  const play = (s: AppState, observations: readonly Observation[]) => {
    const ds = run(s, observations, app);
    return { ds, last: ds.at(-1)!, actions: ds.map((d) => d.action), phases: ds.map((d) => d.state.phase) };
  };

  test('an app that answered healthy and hangs 3 s after start is remedied at threshold x interval, not at the grace', () => {
    // started at 0; refused at 0.2 s (still starting), healthy at 1.2 and 2.2, hung from 3 s on.
    const { actions, phases, last } = play(initialState(0), [
      seen(200, 0, REFUSED), seen(1200, 0, OK), seen(2200, 0, OK), seen(3700, 0, TIMEOUT), seen(4700, 0, TIMEOUT),
    ]);
    assert.deepEqual(actions, ['none', 'none', 'none', 'none', 'remedy']);
    assert.deepEqual(phases, ['unknown', 'healthy', 'healthy', 'failing', 'remedying']);
    assert.ok(last.action === 'remedy');
    assert.equal(last.hung, true);
    assert.match(last.reason, /timeout.*\(2\/2\)/);
  });

  test('failures before the first healthy check are graced until uptime reaches startup_grace', () => {
    const { ds, actions } = play(initialState(0), [
      seen(1000, 0, REFUSED), seen(5000, 0, TIMEOUT), seen(9999, 0, TIMEOUT), seen(10_000, 0, TIMEOUT), seen(11_000, 0, TIMEOUT),
    ]);
    assert.deepEqual(ds.map((d) => d.action === 'none' && d.graced === true), [true, true, true, false, false]);
    assert.deepEqual(actions, ['none', 'none', 'none', 'none', 'remedy']);
  });

  test('a new instance (new pid: restarted by PM2, by us or by an operator) starts a new grace', () => {
    const first = play(initialState(0), [seen(1000, 0, OK), seen(3000, 0, TIMEOUT)]);
    assert.equal(first.last.state.consecutiveFailures, 1, 'the first instance was healthy: its failure counts');
    // restarted at 20 s with pid 5678: refused while it starts, then healthy, then a failure counts
    const second = play(first.last.state, [seen(20_300, 20_000, REFUSED, [5678]), seen(21_300, 20_000, TIMEOUT, [5678])]);
    assert.deepEqual(second.ds.map((d) => d.action === 'none' && d.graced === true), [true, true]);
    assert.equal(second.last.state.consecutiveFailures, 1, 'graced failures do not advance the count');
    const third = play(second.last.state, [seen(22_300, 20_000, OK, [5678]), seen(23_300, 20_000, TIMEOUT, [5678])]);
    assert.equal(third.last.state.phase, 'failing');
    assert.equal(third.last.state.consecutiveFailures, 1);
    assert.equal(third.last.state.instance?.healthy, true);
  });

  test('the same pid with an uptime that went down is a new instance (a reused pid)', () => {
    const healthy = play(initialState(0), [seen(1000, 0, OK)]).last.state;
    const d = decide(healthy, seen(30_500, 30_000, TIMEOUT), app);
    assert.ok(d.action === 'none' && d.graced === true, 'graced: a new start');
    assert.equal(d.state.instance?.healthy, false);
  });

  test('one instance keeps its healthy mark across checks, whatever a probe took, and whatever the pid order', () => {
    const a = play(initialState(0), [seen(1000, 0, OK, [7, 3]), seen(2600, 0, OK, [3, 7]), seen(3000, 0, STATUS_500, [3, 7])]);
    assert.equal(a.last.state.instance?.pids, '3,7');
    assert.equal(a.last.state.instance?.healthy, true);
    assert.equal(a.last.state.consecutiveFailures, 1, 'counted: not graced');
  });

  test('a stop in between forgets nothing; the next start is a new instance with a new grace', () => {
    const { last } = play(initialState(0), [seen(1000, 0, OK), obs(2000, { pm2: pm2('stopped'), http: undefined })]);
    assert.equal(last.state.phase, 'stopped');
    assert.equal(last.state.instance?.healthy, true, 'the instance seen is kept while stopped');
    const d = decide(last.state, seen(5500, 5000, TIMEOUT, [999]), app);
    assert.ok(d.action === 'none' && d.graced === true);
  });

  test('after a remedy the restarted instance is graced until its first healthy check', () => {
    const hung = play(initialState(0), [seen(1000, 0, OK), seen(4000, 0, TIMEOUT), seen(5000, 0, TIMEOUT)]);
    assert.equal(hung.last.action, 'remedy');
    const after = afterRemedy(hung.last.state, true, 6000, app, '').state;
    const next = play(after, [seen(6500, 5800, REFUSED, [4321]), seen(7500, 5800, OK, [4321]), seen(9000, 5800, TIMEOUT, [4321]), seen(10_000, 5800, TIMEOUT, [4321])]);
    assert.deepEqual(next.actions, ['none', 'none', 'none', 'remedy']);
    assert.equal(next.ds[0]!.action === 'none' && next.ds[0]!.graced, true);
  });

  test('a monitor restarted with state.json (no instance seen) judges the grace by uptime alone', () => {
    const restored = state({ phase: 'healthy', consecutiveSuccesses: 40 });
    const graced = decide(restored, seen(1000, 0, TIMEOUT), app);
    assert.ok(graced.action === 'none' && graced.graced === true);
    assert.equal(graced.state.phase, 'healthy');
    const counted = decide(restored, seen(12_000, 0, TIMEOUT), app);
    assert.equal(counted.state.phase, 'failing');
  });

  test('apps PM2 does not manage (no pids, endless uptime) are never graced', () => {
    const outside: Pm2StatusOutcome = { state: 'online', pids: [], pmIds: [], restarts: 0, uptimeMs: Number.MAX_SAFE_INTEGER, detail: 'process running' };
    const d = decide(initialState(0), obs(1000, { pm2: outside, http: TIMEOUT }), app);
    assert.equal(d.state.phase, 'failing');
    assert.equal(d.state.instance, undefined);
  });

  test('with startup_grace 0 nothing is graced, healthy or not', () => {
    const d = decide(initialState(0), seen(100, 0, REFUSED), withApp({ startupGraceMs: 0 }, { failureThreshold: 2 }));
    assert.ok(d.action === 'none' && d.graced !== true);
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
    assert.match(d.reason, /port 5000 held by pid 4242 \(node old-server\.js\), not the app: a squatter/);
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

describe('decide: decisions carry events and trial', () => {
  test('an ordinary remedy is not a trial and has no events', () => {
    const d = decide(state({ phase: 'failing', consecutiveFailures: 2 }), obs(1, { http: STATUS_500 }), APP);
    assert.ok(d.action === 'remedy');
    assert.equal(d.trial, false);
    assert.deepEqual(d.events, []);
  });
  test('ordinary health changes have no events', () => {
    for (const d of run(state(), [obs(1), obs(2, { http: STATUS_500 }), obs(3), obs(4, { pm2: pm2('stopped'), http: undefined })])) {
      assert.deepEqual(d.events, []);
    }
  });
});

describe('remedyBackoffMs: restart_delay x factor^(n-1), capped, with jitter', () => {
  const noJitter = withApp({}, {}, { backoffJitter: 0 });

  test('grows by the factor from restart_delay and is capped at backoff.max', () => {
    assert.equal(remedyBackoffMs(noJitter, 0), 0);
    assert.equal(remedyBackoffMs(noJitter, -1), 0);
    assert.equal(remedyBackoffMs(noJitter, 1), 5000);
    assert.equal(remedyBackoffMs(noJitter, 2), 10_000);
    assert.equal(remedyBackoffMs(noJitter, 3), 20_000);
    assert.equal(remedyBackoffMs(noJitter, 6), 160_000);
    assert.equal(remedyBackoffMs(noJitter, 7), 300_000, '5000 x 2^6 = 320 s, capped at 300 s');
    assert.equal(remedyBackoffMs(noJitter, 50), 300_000);
    assert.equal(remedyBackoffMs(noJitter, 10_000), 300_000);
  });

  test('another factor, delay and cap', () => {
    const app = withApp({}, {}, { restartDelayMs: 1000, backoffFactor: 3, backoffMaxMs: 50_000, backoffJitter: 0 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => remedyBackoffMs(app, n)), [1000, 3000, 9000, 27_000, 50_000, 50_000]);
  });

  test('factor 1 is a constant delay; restart_delay 0 is no delay', () => {
    const constant = withApp({}, {}, { restartDelayMs: 2000, backoffFactor: 1, backoffJitter: 0 });
    assert.deepEqual([1, 2, 10, 100].map((n) => remedyBackoffMs(constant, n)), [2000, 2000, 2000, 2000]);
    const none = withApp({}, {}, { restartDelayMs: 0 });
    assert.deepEqual([1, 5, 50].map((n) => remedyBackoffMs(none, n, 0.99)), [0, 0, 0]);
  });

  test('the exponent is bounded (no Infinity or overflow for huge counts)', () => {
    const app = withApp({}, {}, { restartDelayMs: 1, backoffFactor: 2, backoffMaxMs: Number.MAX_SAFE_INTEGER, backoffJitter: 0 });
    assert.equal(remedyBackoffMs(app, 1000), 2 ** 30);
    const ten = withApp({}, {}, { backoffFactor: 10, backoffJitter: 0 });
    assert.equal(remedyBackoffMs(ten, 1e9), 300_000);
  });

  test('rand 0.5 is the exact delay; rand 0 and ~1 give -jitter and +jitter', () => {
    // jitter 0.1 is the default
    assert.equal(remedyBackoffMs(APP, 1, 0.5), 5000);
    assert.equal(remedyBackoffMs(APP, 1), 5000, 'rand defaults to 0.5');
    assert.equal(remedyBackoffMs(APP, 1, 0), 4500);
    assert.equal(remedyBackoffMs(APP, 1, 1 - Number.EPSILON), 5500);
    assert.equal(remedyBackoffMs(APP, 3, 0), 18_000);
    assert.equal(remedyBackoffMs(APP, 3, 0.999999), 22_000);
    const half = withApp({}, {}, { backoffJitter: 0.5 });
    assert.equal(remedyBackoffMs(half, 2, 0), 5000);
    assert.equal(remedyBackoffMs(half, 2, 0.9999999), 15_000);
  });

  test('jitter stays within +-jitter of the (capped) delay for any rand in [0, 1)', () => {
    const app = withApp({}, {}, { backoffJitter: 0.2 });
    for (const n of [1, 2, 4, 7, 20]) {
      const base = remedyBackoffMs(app, n, 0.5);
      for (let i = 0; i < 200; i++) {
        const rand = i / 200;
        const ms = remedyBackoffMs(app, n, rand);
        assert.ok(ms >= Math.floor(base * 0.8) && ms <= Math.ceil(base * 1.2), `n=${n} rand=${rand}: ${ms} vs ${base}`);
      }
    }
  });

  test('jitter 0 ignores rand', () => {
    const app = withApp({}, {}, { backoffJitter: 0 });
    assert.deepEqual([0, 0.3, 0.99].map((r) => remedyBackoffMs(app, 2, r)), [10_000, 10_000, 10_000]);
  });
});

describe('afterRemedy and backoff', () => {
  test('a successful remedy makes the app healthy and clears every counter', () => {
    const s = state({ phase: 'remedying', consecutiveFailures: 4, failedRemedies: 2, backoffUntil: 99_999, leftStopped: true, recentFailures: [1, 2], lastReason: 'x' });
    const { state: next, events } = afterRemedy(s, true, 50_000, APP, 'ignored');
    assert.equal(next.phase, 'healthy');
    assert.equal(next.consecutiveFailures, 0);
    assert.equal(next.consecutiveSuccesses, 0);
    assert.equal(next.failedRemedies, 0);
    assert.equal(next.backoffUntil, 0);
    assert.equal(next.leftStopped, false);
    assert.deepEqual(next.recentFailures, []);
    assert.equal(next.circuit, 'closed');
    assert.equal(next.lastReason, undefined);
    assert.equal(next.lastChangeAt, 50_000);
    assert.deepEqual(events, [], 'the circuit was closed already: no event');
  });

  test('a failed remedy makes it unhealthy with a growing backoff', () => {
    const s = state({ phase: 'remedying', consecutiveFailures: 3 });
    const f1 = afterRemedy(s, false, 10_000, APP, 'did not come back').state;
    assert.equal(f1.phase, 'unhealthy');
    assert.equal(f1.failedRemedies, 1);
    assert.equal(f1.backoffUntil, 15_000);
    assert.equal(f1.lastReason, 'did not come back');
    assert.equal(f1.leftStopped, true);
    assert.deepEqual(f1.recentFailures, [10_000]);
    assert.equal(f1.consecutiveFailures, 3, 'the failure count is kept: the next failure is due at once');
    const f2 = afterRemedy({ ...f1, phase: 'remedying' }, false, 20_000, APP, 'again').state;
    assert.equal(f2.failedRemedies, 2);
    assert.equal(f2.backoffUntil, 30_000);
    assert.deepEqual(f2.recentFailures, [10_000, 20_000]);
  });

  test('the jitter rand is passed through to the backoff', () => {
    const s = state({ phase: 'remedying', consecutiveFailures: 3 });
    assert.equal(afterRemedy(s, false, 10_000, APP, 'r', 0).state.backoffUntil, 14_500);
    assert.equal(afterRemedy(s, false, 10_000, APP, 'r', 0.999999).state.backoffUntil, 15_500);
  });

  test('no remedy while now < backoffUntil, a remedy again after', () => {
    const failed = afterRemedy(state({ phase: 'remedying', consecutiveFailures: 3 }), false, 10_000, APP, 'no').state;
    // backoffUntil = 15_000
    const during = decide(failed, obs(14_999, { http: TIMEOUT }), APP);
    assert.equal(during.action, 'none');
    assert.equal(during.state.phase, 'unhealthy');
    assert.match(during.note ?? '', /backing off 1 ms after 1 failed remedies/);
    const urgentDuring = decide(failed, obs(14_000, { pm2: pm2('errored'), http: undefined }), APP);
    assert.equal(urgentDuring.action, 'none', 'backoff holds even for urgent reasons');
    assert.match(urgentDuring.note ?? '', /backing off/);
    const later = decide(during.state, obs(15_000, { http: TIMEOUT }), APP);
    assert.ok(later.action === 'remedy');
    assert.equal(later.hung, true);
    assert.equal(later.trial, false);
    assert.equal(later.state.phase, 'remedying');
  });

  test('with restart_delay 0 the next due failure is remedied at once', () => {
    const app = withApp({}, {}, { restartDelayMs: 0 });
    const failed = afterRemedy(state({ phase: 'remedying', consecutiveFailures: 3 }), false, 10_000, app, 'no').state;
    assert.equal(failed.backoffUntil, 10_000);
    assert.equal(decide(failed, obs(10_000, { http: TIMEOUT }), app).action, 'remedy');
  });

  test('a healthy observation during backoff recovers the phase', () => {
    const failed = afterRemedy(state({ phase: 'remedying', consecutiveFailures: 3 }), false, 10_000, APP, 'no').state;
    const d = decide(failed, obs(11_000), APP);
    assert.equal(d.action, 'none');
    assert.equal(d.state.phase, 'healthy');
    assert.equal(d.state.consecutiveFailures, 0);
    assert.equal(d.state.leftStopped, false);
  });

  test('a whole hang scenario with an injected clock', () => {
    const app = withApp({ startupGraceMs: 0 }, { intervalMs: 1000, failureThreshold: 2 }, { restartDelayMs: 1000, backoffJitter: 0 });
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
    s = afterRemedy(s, false, 3000, app, 'still hung').state; // backoff 1000 -> until 4000
    tick(3500, TIMEOUT); // backing off
    tick(4000, TIMEOUT); // remedy again
    s = afterRemedy(s, false, 5000, app, 'still hung').state; // backoff 2000 -> until 7000
    tick(6000, TIMEOUT); // backing off
    tick(7000, TIMEOUT); // remedy
    s = afterRemedy(s, true, 8000, app, '').state;
    tick(9000, OK);
    assert.deepEqual(actions, ['none', 'none', 'remedy', 'none', 'remedy', 'none', 'remedy', 'none']);
    assert.equal(s.phase, 'healthy');
    assert.equal(s.failedRemedies, 0);
    assert.equal(s.circuit, 'closed', 'two failed remedies do not open the circuit (max_restart_failures 3)');
  });
});

describe('decide: paused by an operator', () => {
  const due = state({ phase: 'failing', consecutiveFailures: 2 });

  test('a due failure is held (unhealthy, note mentions paused); counting goes on', () => {
    const d = decide(due, obs(1000, { http: TIMEOUT, paused: true }), APP);
    assert.equal(d.action, 'none');
    assert.equal(d.state.phase, 'unhealthy');
    assert.equal(d.state.consecutiveFailures, 3);
    assert.match(d.note ?? '', /paused/);
    const d2 = decide(d.state, obs(2000, { http: TIMEOUT, paused: true }), APP);
    assert.equal(d2.action, 'none');
    assert.equal(d2.state.consecutiveFailures, 4);
  });

  test('urgent reasons are held too', () => {
    const squatter = { port: 5000, pid: 4242, command: 'node old.js' };
    for (const o of [
      obs(1, { pm2: pm2('errored'), http: undefined, paused: true }),
      obs(1, { pm2: pm2('stopped'), http: undefined, crashes: 1, squatters: [squatter], paused: true }),
    ]) {
      const d = decide(state({ phase: 'healthy' }), o, APP);
      assert.equal(d.action, 'none');
      assert.match(d.note ?? '', /paused/);
    }
  });

  test('below the threshold a paused app is just failing', () => {
    const d = decide(state({ phase: 'healthy' }), obs(1, { http: TIMEOUT, paused: true }), APP);
    assert.equal(d.state.phase, 'failing');
    assert.equal(d.action, 'none');
  });

  test('a healthy app stays healthy while paused', () => {
    const d = decide(state({ phase: 'healthy' }), obs(1, { paused: true }), APP);
    assert.equal(d.state.phase, 'healthy');
  });

  test('remedies resume with the first observation that is not paused', () => {
    const ds = run(due, [obs(1000, { http: TIMEOUT, paused: true }), obs(2000, { http: TIMEOUT, paused: false }), ]);
    assert.equal(ds[0]!.action, 'none');
    assert.equal(ds[1]!.action, 'remedy');
    const absent = decide(ds[0]!.state, obs(3000, { http: TIMEOUT }), APP);
    assert.equal(absent.action, 'remedy', 'paused absent means not paused');
  });
});

describe('decide: an app a failed remedy left stopped', () => {
  const stopped = (at: number): Observation => obs(at, { pm2: pm2('stopped'), http: undefined });

  test('stopped after a failed remedy is urgent, not an operator stop', () => {
    const failed = afterRemedy(state({ phase: 'remedying', consecutiveFailures: 3 }), false, 10_000, APP, 'start failed', 0.5).state;
    assert.equal(failed.leftStopped, true);
    const during = decide(failed, stopped(12_000), APP);
    assert.equal(during.action, 'none', 'still backing off');
    assert.equal(during.state.phase, 'unhealthy', 'not "stopped"');
    assert.match(during.note ?? '', /backing off/);
    const after = decide(during.state, stopped(15_000), APP);
    assert.ok(after.action === 'remedy');
    assert.match(after.reason, /still stopped after a failed remedy/);
    assert.doesNotMatch(after.reason, /\/3\)/, 'urgent: no threshold count');
  });

  test('urgent even when the failure count was reset', () => {
    const d = decide(state({ phase: 'unhealthy', leftStopped: true }), stopped(1), APP);
    assert.equal(d.action, 'remedy');
  });

  test('without leftStopped the same observation is an operator stop', () => {
    const d = decide(state({ phase: 'unhealthy', consecutiveFailures: 3 }), stopped(1), APP);
    assert.equal(d.action, 'none');
    assert.equal(d.state.phase, 'stopped');
  });

  test('a successful remedy or a healthy check clears leftStopped', () => {
    const ok = afterRemedy(state({ phase: 'remedying', leftStopped: true }), true, 5, APP, '').state;
    assert.equal(ok.leftStopped, false);
    assert.equal(decide(ok, stopped(6), APP).state.phase, 'stopped');
    const healthy = decide(state({ phase: 'unhealthy', leftStopped: true }), obs(7), APP).state;
    assert.equal(healthy.leftStopped, false);
    assert.equal(decide(healthy, stopped(8), APP).state.phase, 'stopped');
  });
});
