/**
 * state.json: the monitor's memory across restarts. Monotonic times are written as wall-clock
 * ISO strings and read back into a new process whose monotonic clock starts elsewhere.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultAppConfig } from '../../../src/config/schema.js';
import { decide, initialState, type AppState, type Observation } from '../../../src/engine/decide.js';
import type { RemedyReport } from '../../../src/engine/remedy.js';
import {
  loadStateDocument,
  openStateFile,
  quarantine,
  readStateDocument,
  remedyEntry,
  restoreApp,
  stateFilePath,
  timeBridge,
  toStateDocument,
  writeJsonAtomic,
  type AppStateRecord,
  type RemedyEntry,
  type StateDocument,
} from '../../../src/engine/state-file.js';
import { AppWorker, type WorkerDeps, type WorkerView } from '../../../src/engine/worker.js';

let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-state-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
const freshPath = (): string => join(dir, `case-${++seq}`, 'state.json');

const WALL_A = Date.parse('2024-05-01T12:00:00.000Z');
/** Process A has been up a while; process B (after a restart) has a young monotonic clock. */
const MONO_A = 5_000_000;
const MONO_B = 812.25;

const entry = (i: number, ok = false): RemedyEntry => ({
  at: new Date(WALL_A - (200 - i) * 60_000).toISOString(),
  ok,
  reason: `reason ${i}`,
  strategy: 'pm2',
  attempts: 1,
  duration_ms: 1000 + i,
  steps: [{ step: 'restart', ok, ms: 900, detail: ok ? 'online' : 'did not come back' }],
  killed: [],
  refused: [],
  ...(ok ? {} : { failure: 'not healthy within verify_timeout' }),
});

const view = (state: AppState, patch: Partial<WorkerView> = {}): WorkerView => ({
  app: 'api', state, history: [], control: {}, resetSeen: 0, ...patch,
});

/** An app whose circuit opened 100 s before the snapshot, with 40 s of backoff left. */
const OPEN_STATE: AppState = {
  phase: 'unhealthy',
  consecutiveFailures: 4,
  consecutiveSuccesses: 0,
  failedRemedies: 3,
  backoffUntil: MONO_A + 40_000,
  leftStopped: true,
  circuit: 'open',
  circuitSince: MONO_A - 100_000,
  recentFailures: [MONO_A - 300_000, MONO_A - 200_000, MONO_A - 100_000],
  lastReason: 'not healthy within verify_timeout',
  lastChangeAt: MONO_A - 100_000,
};

/** What a process B sees of a record written by process A: through JSON, as on disk. */
const throughDisk = (doc: StateDocument): StateDocument => JSON.parse(JSON.stringify(doc)) as StateDocument;

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

  test('through a real file: writeJsonAtomic then loadStateDocument', () => {
    const path = freshPath();
    writeJsonAtomic(path, toStateDocument([view(OPEN_STATE, { history: [entry(7)] })], MONO_A, WALL_A));
    const read = loadStateDocument(path);
    assert.ok(read.kind === 'ok');
    const r = restoreApp(read.doc.apps['api']!, MONO_B, WALL_A);
    assert.equal(r.state.circuit, 'open');
    assert.equal(r.state.circuitSince, MONO_B - 100_000);
    assert.deepEqual(r.history, [entry(7)]);
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

describe('loadStateDocument', () => {
  const write = (content: string | Buffer): string => {
    const path = freshPath();
    writeJsonAtomic(path, {}); // creates the directory
    writeFileSync(path, content);
    return path;
  };

  test('a missing file is missing', () => {
    assert.deepEqual(loadStateDocument(join(dir, 'nowhere', 'state.json')), { kind: 'missing' });
    assert.equal(readStateDocument(join(dir, 'nowhere', 'state.json')), undefined);
  });

  test('random bytes are corrupt', () => {
    const path = write(Buffer.concat([Buffer.from([0xff, 0x00, 0x7b]), randomBytes(512)]));
    const r = loadStateDocument(path);
    assert.equal(r.kind, 'corrupt');
    assert.ok(r.kind === 'corrupt' && r.why.length > 0);
    assert.equal(readStateDocument(path), undefined);
  });

  test('a truncated or empty file is corrupt', () => {
    const full = JSON.stringify(toStateDocument([view(OPEN_STATE)], MONO_A, WALL_A));
    assert.equal(loadStateDocument(write(full.slice(0, full.length / 2))).kind, 'corrupt');
    assert.equal(loadStateDocument(write('')).kind, 'corrupt');
  });

  test('JSON that is not a state document (wrong version, no apps, null, a list) is corrupt', () => {
    for (const text of ['{"version":2,"apps":{}}', '{"version":1}', '{"version":1,"apps":null}', '{"version":1,"apps":[]}', 'null', '[]', '42', '"state"']) {
      const r = loadStateDocument(write(text));
      assert.equal(r.kind, 'corrupt', text);
      assert.match(r.kind === 'corrupt' ? r.why : '', /^not a helpdesk-monitor state document \(.+\)$/, text);
      assert.deepEqual(r.kind === 'corrupt' ? r.bytes : undefined, Buffer.from(text), 'the bytes read, to keep aside');
    }
  });

  test('a good document is ok', () => {
    const doc = toStateDocument([view(OPEN_STATE)], MONO_A, WALL_A);
    const path = freshPath();
    writeJsonAtomic(path, doc);
    const r = loadStateDocument(path);
    assert.ok(r.kind === 'ok');
    assert.deepEqual(r.invalid, []);
    assert.deepEqual(throughDisk(r.doc), throughDisk(doc));
    assert.equal(Object.getPrototypeOf(r.doc.apps), null, 'apps by name in a null-prototype object');
    assert.deepEqual(throughDisk(readStateDocument(path)!), throughDisk(doc));
  });
});

describe('writeJsonAtomic and quarantine', () => {
  test('writeJsonAtomic creates the directory and leaves no temp file', () => {
    const path = freshPath();
    writeJsonAtomic(path, { version: 1, apps: {} });
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { version: 1, apps: {} });
    assert.deepEqual(readdirSync(join(path, '..')), ['state.json']);
    writeJsonAtomic(path, { version: 1, apps: { x: 1 } });
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { version: 1, apps: { x: 1 } });
    assert.deepEqual(readdirSync(join(path, '..')), ['state.json']);
  });

  test('stateFilePath', () => {
    assert.equal(stateFilePath('/var/lib/hdm'), '/var/lib/hdm/state.json');
  });

  test('quarantine copies the corrupt file aside, byte for byte, and leaves the original', () => {
    const path = freshPath();
    writeJsonAtomic(path, {});
    const bytes = randomBytes(300);
    writeFileSync(path, bytes);
    const aside = quarantine(path);
    assert.ok(aside.startsWith(`${path}.corrupt-`), aside);
    assert.match(basename(aside), /^state\.json\.corrupt-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/);
    assert.deepEqual(readFileSync(aside), bytes);
    assert.ok(existsSync(path), 'the original stays (it will be overwritten by the next write)');
    assert.deepEqual(readFileSync(path), bytes);
  });

  test('quarantine of a missing file throws (the caller catches it)', () => {
    assert.throws(() => quarantine(join(dir, 'nowhere', 'state.json')), /ENOENT/);
  });
});

/** A state.json holding exactly `text`, in a fresh private dir. */
function stateWith(text: string | Buffer): string {
  const path = freshPath();
  writeJsonAtomic(path, {});
  writeFileSync(path, text);
  return path;
}
const asides = (path: string): string[] => readdirSync(join(path, '..')).filter((f) => f.startsWith('state.json.corrupt-'));
const VALID = { phase: 'unhealthy', consecutive_failures: 3, failed_remedies: 2, circuit: 'open', circuit_since: '2024-05-01T11:58:20.000Z' };

describe('wrong-typed state files (valid JSON, wrong types)', () => {
  test('an app record that is null: that app is dropped, the document is ok', () => {
    const r = loadStateDocument(stateWith('{"version":1,"apps":{"demo":null}}'));
    assert.ok(r.kind === 'ok');
    assert.deepEqual(Object.keys(r.doc.apps), []);
    assert.equal(r.invalid.length, 1);
    assert.equal(r.invalid[0]!.app, 'demo');
    assert.match(r.invalid[0]!.why, /expected object, received null/);
  });

  test('one field of the wrong type drops only that app; the others keep their records', () => {
    const r = loadStateDocument(stateWith(JSON.stringify({
      version: 1,
      apps: { demo: { ...VALID, consecutive_failures: '3' }, kept: VALID, steps: { ...VALID, remedies: [{ ...entry(1), steps: null }] }, phased: { ...VALID, phase: 'sleeping' } },
    })));
    assert.ok(r.kind === 'ok');
    assert.deepEqual(Object.keys(r.doc.apps), ['kept']);
    assert.deepEqual(restoreApp(r.doc.apps['kept']!, MONO_B, WALL_A).state.circuit, 'open');
    assert.deepEqual(r.invalid.map((i) => i.app), ['demo', 'steps', 'phased']);
    assert.match(r.invalid[0]!.why, /^consecutive_failures: .*expected number/);
    assert.match(r.invalid[1]!.why, /^remedies\[0\]\.steps: /);
    assert.match(r.invalid[2]!.why, /^phase: /);
  });

  test('apps as a list, or numbers that are not counts, are caught too', () => {
    assert.equal(loadStateDocument(stateWith('{"version":1,"apps":[{"phase":"healthy"}]}')).kind, 'corrupt');
    for (const bad of ['-1', '1.5', '1e400', '"NaN"']) {
      const text = `{"version":1,"apps":{"demo":{"phase":"healthy","consecutive_failures":${bad},"failed_remedies":0}}}`;
      const r = loadStateDocument(stateWith(text));
      assert.ok(r.kind === 'ok' && r.invalid.length === 1, text);
    }
  });

  test('openStateFile: keeps the file aside once (byte for byte), warns once on one line, restores the valid apps', () => {
    const text = `${JSON.stringify({ version: 1, apps: { demo: null, kept: VALID, 'evil\nname': 5 } })}\n`;
    const path = stateWith(text);
    const first = openStateFile(path);
    assert.deepEqual(Object.keys(first.apps), ['kept']);
    assert.ok(first.warning, 'a warning');
    assert.equal(first.warning.includes('\n'), false, `one line: ${first.warning}`);
    assert.match(first.warning, /has invalid records \("demo": .*; "evil\\nname": .*\) \(kept as .*state\.json\.corrupt-.*\); those apps start with fresh state$/);
    const kept = asides(path);
    assert.equal(kept.length, 1);
    assert.equal(readFileSync(join(path, '..', kept[0]!), 'utf8'), text, 'the copy is byte for byte');
    assert.equal(statSync(join(path, '..', kept[0]!)).mode & 0o777, 0o600, 'the copy is private');
    // The monitor writes its state next: the bad file is gone, nothing more is said or kept.
    writeJsonAtomic(path, toStateDocument([view(OPEN_STATE, { app: 'kept' })], MONO_A, WALL_A));
    const second = openStateFile(path);
    assert.equal(second.warning, undefined);
    assert.deepEqual(Object.keys(second.apps), ['kept']);
    assert.equal(asides(path).length, 1, 'kept aside once');
  });

  test('openStateFile of a file that is not a state document: every app starts fresh, one warning', () => {
    const path = stateWith('{"version":1,"apps":[]}');
    const r = openStateFile(path);
    assert.deepEqual(Object.keys(r.apps), []);
    assert.match(r.warning ?? '', /is unreadable \(not a helpdesk-monitor state document \(apps: expected an object of apps by name\)\) \(kept as .*\); starting with fresh state/);
    assert.equal(asides(path).length, 1);
    assert.equal(openStateFile(join(dir, 'nowhere', 'state.json')).warning, undefined, 'a missing file is no warning');
  });
});

describe('app names are data, never object keys with a meaning', () => {
  test('an app named __proto__ (and constructor) round-trips through state.json', () => {
    const path = freshPath();
    const views = [view(OPEN_STATE, { app: '__proto__' }), view(OPEN_STATE, { app: 'constructor' }), view(initialState(MONO_A), { app: 'api' })];
    const doc = toStateDocument(views, MONO_A, WALL_A);
    assert.deepEqual(Object.keys(doc.apps), ['__proto__', 'constructor', 'api']);
    writeJsonAtomic(path, doc);
    assert.match(readFileSync(path, 'utf8'), /"__proto__": \{/, 'written as a key');
    const r = loadStateDocument(path);
    assert.ok(r.kind === 'ok');
    assert.deepEqual(r.invalid, []);
    assert.deepEqual(Object.keys(r.doc.apps), ['__proto__', 'constructor', 'api']);
    assert.equal(restoreApp(r.doc.apps['__proto__']!, MONO_B, WALL_A).state.circuit, 'open');
    assert.equal(({} as Record<string, unknown>)['phase'], undefined, 'no prototype was touched');
  });

  test('a name that is not in the file reads as no record (not an inherited property)', () => {
    const path = freshPath();
    writeJsonAtomic(path, toStateDocument([view(OPEN_STATE)], MONO_A, WALL_A));
    const doc = readStateDocument(path)!;
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) assert.equal(doc.apps[name], undefined, name);
  });
});

describe('state.json is never written through a link', () => {
  test('a link planted at state.json: the write replaces the link, the victim is byte-identical', () => {
    const path = freshPath();
    writeJsonAtomic(path, {});
    const victim = join(dir, `victim-${seq}`);
    writeFileSync(victim, 'precious\n');
    rmSync(path);
    symlinkSync(victim, path);
    writeJsonAtomic(path, toStateDocument([view(OPEN_STATE)], MONO_A, WALL_A));
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.ok(lstatSync(path).isFile(), 'state.json is a file of its own now');
    assert.equal(lstatSync(path).mode & 0o777, 0o600);
  });

  test('a link planted at the old predictable temp name (state.json.<pid>.tmp) is never touched', () => {
    const path = freshPath();
    writeJsonAtomic(path, {});
    const victim = join(dir, `victim-${seq}`);
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, `${path}.${process.pid}.tmp`);
    writeJsonAtomic(path, { version: 1, apps: {} });
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.deepEqual(readdirSync(join(path, '..')).sort(), ['state.json', `state.json.${process.pid}.tmp`], 'no temp file of ours left');
  });

  test('a state.json that is a link is not read: kept aside by moving the link, the victim untouched', () => {
    const path = freshPath();
    writeJsonAtomic(path, {});
    const victim = join(dir, `victim-${seq}`);
    const secret = JSON.stringify({ version: 1, apps: { api: VALID } });
    writeFileSync(victim, secret);
    rmSync(path);
    symlinkSync(victim, path);
    const r = openStateFile(path);
    assert.deepEqual(Object.keys(r.apps), [], 'nothing restored from a link');
    assert.match(r.warning ?? '', /is unreadable \(it is a symbolic link\) \(kept as /);
    assert.equal(existsSync(path), false, 'the link was moved aside');
    assert.ok(lstatSync(join(path, '..', asides(path)[0]!)).isSymbolicLink());
    assert.equal(readFileSync(victim, 'utf8'), secret);
  });

  test('a folder created for state.json is private (0700), the file 0600', () => {
    const path = freshPath();
    writeJsonAtomic(path, { version: 1, apps: {} });
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });
});
