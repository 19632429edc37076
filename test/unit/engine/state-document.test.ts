/**
 * The state document: monotonic times are written as wall-clock ISO strings and read back into a
 * new process whose monotonic clock starts elsewhere (pure conversions; the file is
 * test/unit/state/state-file.test.ts's).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultAppConfig } from '../../../src/config/schema.js';
import { decide, initialState, type AppState, type Observation } from '../../../src/engine/decide.js';
import type { RemedyReport } from '../../../src/engine/remedy.js';
import { restoreApp, timeBridge, toStateDocument, type AppStateRecord } from '../../../src/engine/state-document.js';
import { remedyEntry } from '../../../src/engine/view.js';
import { AppWorker, type WorkerDeps } from '../../../src/engine/worker.js';
import { MONO_A, MONO_B, OPEN_STATE, WALL_A, entry, throughDisk, view } from '../../helpers/state-document.js';

describe('timeBridge', () => {
  test('maps monotonic times to wall clock and back at one instant', () => {
    const b = timeBridge(MONO_A, WALL_A);
    assert.equal(b.toWall(MONO_A), '2024-05-01T12:00:00.000Z');
    assert.equal(b.toWall(MONO_A - 90_000), '2024-05-01T11:58:30.000Z');
    assert.equal(b.toWall(MONO_A + 1500), '2024-05-01T12:00:01.500Z');
    assert.equal(b.toMono('2024-05-01T11:58:30.000Z'), MONO_A - 90_000);
  });

  test('another process maps the same wall time onto its own monotonic clock', () => {
    const iso = timeBridge(MONO_A, WALL_A).toWall(MONO_A - 100_000);
    const b = timeBridge(MONO_B, WALL_A + 60_000);
    assert.equal(b.toMono(iso), MONO_B - 160_000);
  });

  test('missing or unparsable times are undefined', () => {
    const b = timeBridge(MONO_A, WALL_A);
    assert.equal(b.toMono(undefined), undefined);
    assert.equal(b.toMono('yesterday-ish'), undefined);
    assert.equal(b.toMono(''), undefined);
  });
});

describe('toStateDocument', () => {
  test('writes the state with wall-clock times and snake_case keys', () => {
    const doc = toStateDocument([view(OPEN_STATE)], MONO_A, WALL_A);
    assert.equal(doc.version, 1);
    assert.equal(doc.written_at, '2024-05-01T12:00:00.000Z');
    assert.equal(doc.pid, process.pid);
    assert.deepEqual(doc.apps['api'], {
      phase: 'unhealthy',
      consecutive_failures: 4,
      consecutive_successes: 0,
      failed_remedies: 3,
      left_stopped: true,
      circuit: 'open',
      circuit_since: '2024-05-01T11:58:20.000Z',
      recent_failures: ['2024-05-01T11:55:00.000Z', '2024-05-01T11:56:40.000Z', '2024-05-01T11:58:20.000Z'],
      backoff_until: '2024-05-01T12:00:40.000Z',
      last_reason: 'not healthy within verify_timeout',
    });
  });

  test('a backoff already over is not written', () => {
    const doc = toStateDocument([view({ ...OPEN_STATE, backoffUntil: MONO_A })], MONO_A, WALL_A);
    assert.equal('backoff_until' in doc.apps['api']!, false);
  });

  test('the last check, its health, the pause, the reset and the remedies', () => {
    const obs: Observation = {
      at: MONO_A - 2000,
      pm2: { state: 'online', pids: [1], pmIds: [0], restarts: 0, uptimeMs: 1, detail: '' },
      http: { ok: false, failure: 'status', status: 503, latencyMs: 12.6, detail: 'HTTP 503, expected 200' },
      crashes: 0,
      squatters: [],
    };
    const history = [entry(1), entry(2, true)];
    const doc = toStateDocument(
      [view(OPEN_STATE, { lastObservation: obs, history, control: { pausedUntil: WALL_A + 3_600_000 }, resetSeen: WALL_A - 5000 })],
      MONO_A,
      WALL_A,
    );
    const rec = doc.apps['api']!;
    assert.equal(rec.last_check_at, '2024-05-01T11:59:58.000Z');
    assert.deepEqual(rec.last_health, { ok: false, latency_ms: 13, detail: 'HTTP 503, expected 200', status: 503 });
    assert.equal(rec.paused_until, '2024-05-01T13:00:00.000Z');
    assert.equal(rec.reset_seen, '2024-05-01T11:59:55.000Z');
    assert.deepEqual(rec.remedies, history);
    assert.deepEqual(rec.last_remedy, history[1]);
    const indefinite = toStateDocument([view(OPEN_STATE, { control: { pausedUntil: 'indefinite' } })], MONO_A, WALL_A);
    assert.equal(indefinite.apps['api']!.paused_until, 'indefinite');
  });

  test('one record per app', () => {
    const doc = toStateDocument([view(initialState(0), { app: 'a' }), view(OPEN_STATE, { app: 'b' })], MONO_A, WALL_A);
    assert.deepEqual(Object.keys(doc.apps).sort(), ['a', 'b']);
    assert.equal(doc.apps['a']!.circuit, 'closed');
    assert.equal('remedies' in doc.apps['a']!, false, 'no history: no remedies key');
  });
});

describe('toStateDocument -> restoreApp in a new process', () => {
  test('keeps the open circuit, its age, the failures in the window, the backoff and the counters', () => {
    const history = [entry(1), entry(2), entry(3)];
    const doc = throughDisk(toStateDocument([view(OPEN_STATE, { history })], MONO_A, WALL_A));
    const wallB = WALL_A + 10_000; // the monitor came back 10 s later
    const r = restoreApp(doc.apps['api']!, MONO_B, wallB);
    const s = r.state;
    assert.equal(s.circuit, 'open');
    assert.equal(s.circuitSince, MONO_B - 110_000, 'opened 110 s ago by the wall clock');
    assert.deepEqual(s.recentFailures, [MONO_B - 310_000, MONO_B - 210_000, MONO_B - 110_000]);
    assert.equal(s.backoffUntil, MONO_B + 30_000, '30 s of the 40 s backoff left');
    assert.equal(s.failedRemedies, 3);
    assert.equal(s.consecutiveFailures, 4);
    assert.equal(s.consecutiveSuccesses, 0);
    assert.equal(s.leftStopped, true);
    assert.equal(s.phase, 'unhealthy');
    assert.equal(s.lastReason, OPEN_STATE.lastReason);
    assert.equal(s.lastChangeAt, MONO_B);
    assert.deepEqual(r.history, history);
    assert.equal(r.resetSeen, 0);
  });

  test('the restored circuit half-opens when circuit_reset_time has passed since it opened, not since the restart', () => {
    const app = defaultAppConfig('api'); // circuit_reset_time 30 min
    const doc = throughDisk(toStateDocument([view(OPEN_STATE)], MONO_A, WALL_A));
    const wallB = WALL_A + 10 * 60_000; // back 10 minutes later: opened 11 min 40 s ago
    const s = restoreApp(doc.apps['api']!, MONO_B, wallB).state;
    const halfOpenAt = MONO_B + app.policy.circuitResetMs - 700_000;
    const bad: Omit<Observation, 'at'> = {
      pm2: { state: 'errored', pids: [], pmIds: [0], restarts: 0, uptimeMs: 0, detail: 'errored' }, crashes: 0, squatters: [],
    };
    const before = decide(s, { ...bad, at: halfOpenAt - 1 }, app);
    assert.equal(before.action, 'none');
    assert.match(before.action === 'none' ? (before.note ?? '') : '', /circuit open/);
    const at = decide(before.state, { ...bad, at: halfOpenAt }, app);
    assert.ok(at.action === 'remedy');
    assert.equal(at.trial, true);
    assert.deepEqual(at.events.map((e) => e.type), ['circuit_half_open']);
  });

  test('a wall clock that moved backwards does not lose the circuit', () => {
    const doc = throughDisk(toStateDocument([view(OPEN_STATE)], MONO_A, WALL_A));
    const s = restoreApp(doc.apps['api']!, MONO_B, WALL_A - 60_000).state;
    assert.equal(s.circuit, 'open');
    assert.equal(s.circuitSince, MONO_B - 40_000);
  });

  test('a remedy cut short by the restart is restored as unhealthy', () => {
    const remedying: AppState = { ...OPEN_STATE, phase: 'remedying', circuit: 'half-open' };
    const doc = throughDisk(toStateDocument([view(remedying)], MONO_A, WALL_A));
    assert.equal(doc.apps['api']!.phase, 'remedying');
    const s = restoreApp(doc.apps['api']!, MONO_B, WALL_A + 1000).state;
    assert.equal(s.phase, 'unhealthy');
    assert.equal(s.circuit, 'half-open');
  });

  test('other phases are restored as they were', () => {
    for (const phase of ['healthy', 'failing', 'unhealthy', 'stopped', 'missing', 'unknown'] as const) {
      const doc = throughDisk(toStateDocument([view({ ...initialState(MONO_A), phase })], MONO_A, WALL_A));
      assert.equal(restoreApp(doc.apps['api']!, MONO_B, WALL_A).state.phase, phase);
    }
  });

  test('a closed circuit round-trips too, and an expired backoff becomes none', () => {
    const s0: AppState = { ...initialState(MONO_A - 1000), phase: 'healthy', consecutiveSuccesses: 12, failedRemedies: 1, backoffUntil: MONO_A - 1 };
    const doc = throughDisk(toStateDocument([view(s0)], MONO_A, WALL_A));
    const s = restoreApp(doc.apps['api']!, MONO_B, WALL_A + 5000).state;
    assert.equal(s.circuit, 'closed');
    assert.equal(s.circuitSince, MONO_B - 6000);
    assert.equal(s.backoffUntil, 0);
    assert.equal(s.consecutiveSuccesses, 12);
    assert.equal(s.failedRemedies, 1);
    assert.deepEqual(s.recentFailures, []);
  });

  test('the reset already applied is restored (a reset is not applied twice)', () => {
    const doc = throughDisk(toStateDocument([view(OPEN_STATE, { resetSeen: WALL_A - 5000 })], MONO_A, WALL_A));
    assert.equal(restoreApp(doc.apps['api']!, MONO_B, WALL_A).resetSeen, WALL_A - 5000);
  });
});

describe('restoreApp: older or hand-edited records', () => {
  test('a record with only the original keys gets a closed circuit and no backoff', () => {
    const rec: AppStateRecord = { phase: 'failing', consecutive_failures: 2, failed_remedies: 0 };
    const r = restoreApp(rec, MONO_B, WALL_A);
    assert.deepEqual(r.state, {
      phase: 'failing',
      consecutiveFailures: 2,
      consecutiveSuccesses: 0,
      failedRemedies: 0,
      backoffUntil: 0,
      leftStopped: false,
      circuit: 'closed',
      circuitSince: MONO_B,
      recentFailures: [],
      lastChangeAt: MONO_B,
    });
    assert.deepEqual(r.history, []);
    assert.equal(r.resetSeen, 0);
  });

  test('unparsable times are dropped, not turned into NaN', () => {
    const rec: AppStateRecord = {
      phase: 'unhealthy', consecutive_failures: 3, failed_remedies: 2, circuit: 'open',
      circuit_since: 'garbage', recent_failures: ['nope', '2024-05-01T11:59:00.000Z'], backoff_until: 'soon', reset_seen: 'never',
    };
    const r = restoreApp(rec, MONO_B, WALL_A);
    assert.equal(r.state.circuitSince, MONO_B);
    assert.deepEqual(r.state.recentFailures, [MONO_B - 60_000]);
    assert.equal(r.state.backoffUntil, 0);
    assert.equal(r.resetSeen, 0);
  });
});

describe('remedy history', () => {
  test('a full history of 100 round-trips in order', () => {
    const history = Array.from({ length: 100 }, (_, i) => entry(i, i % 3 === 0));
    const doc = throughDisk(toStateDocument([view(OPEN_STATE, { history })], MONO_A, WALL_A));
    assert.equal(doc.apps['api']!.remedies!.length, 100);
    assert.deepEqual(doc.apps['api']!.last_remedy, history[99]);
    assert.deepEqual(restoreApp(doc.apps['api']!, MONO_B, WALL_A).history, history);
  });

  test('a worker restored with a longer history keeps only the newest 100 (and so writes at most 100)', () => {
    const history = Array.from({ length: 150 }, (_, i) => entry(i));
    const restored = restoreApp({ phase: 'healthy', consecutive_failures: 0, failed_remedies: 0, remedies: history }, MONO_B, WALL_A);
    const logger = { child: () => logger };
    const deps = { clock: { now: () => MONO_B }, logger } as unknown as WorkerDeps;
    const worker = new AppWorker(defaultAppConfig('api'), deps, restored);
    const v = worker.view();
    assert.equal(v.history.length, 100);
    assert.deepEqual(v.history[0], history[50]);
    assert.deepEqual(v.history[99], history[149]);
    const doc = toStateDocument([v], MONO_B, WALL_A);
    assert.equal(doc.apps['api']!.remedies!.length, 100);
  });

  test('remedyEntry summarises a report (rounded times, pids of kills and refusals)', () => {
    const report: RemedyReport = {
      app: 'api',
      reason: 'health timeout (3/3)',
      ok: false,
      skipped: false,
      attempts: 2,
      strategy: 'service',
      steps: [
        { step: 'free ports', ok: true, ms: 12.4, detail: 'freed 5000' },
        { step: 'restart', ok: false, ms: 30_000.6, detail: 'not healthy' },
      ],
      ports: {
        ports: [5000],
        killed: [{ port: 5000, pid: 4242, command: 'node old.js', uid: 1000, signal: 'SIGTERM', why: 'squatter' }],
        refused: [{ port: 5000, pid: 1, command: 'init', uid: 0, why: 'not ours' }],
        stillHeld: [5000],
        free: false,
        wouldKill: [],
        elapsedMs: 12,
      },
      failure: 'not healthy within verify_timeout',
      totalMs: 30_013.4,
    };
    assert.deepEqual(remedyEntry(report, '2024-05-01T12:00:00.000Z'), {
      at: '2024-05-01T12:00:00.000Z',
      ok: false,
      reason: 'health timeout (3/3)',
      strategy: 'service',
      attempts: 2,
      duration_ms: 30_013,
      failure: 'not healthy within verify_timeout',
      steps: [
        { step: 'free ports', ok: true, ms: 12, detail: 'freed 5000' },
        { step: 'restart', ok: false, ms: 30_001, detail: 'not healthy' },
      ],
      killed: [4242],
      refused: [1],
    });
    const skipped = remedyEntry({ ...report, skipped: true, ports: undefined, failure: 'pre_restart_command failed' }, 'x');
    assert.equal(skipped.skipped, true);
    assert.deepEqual(skipped.killed, []);
    assert.deepEqual(skipped.refused, []);
    const ok = remedyEntry({ ...report, ok: true, failure: undefined }, 'x');
    assert.equal('failure' in ok, false);
    assert.equal('skipped' in ok, false);
  });
});
