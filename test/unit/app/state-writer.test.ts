/**
 * The state writer: routine changes are written at most once a second, urgent ones at once, and
 * nothing is rewritten when no persisted fact changed (check times alone: once a minute). Each
 * write renames a fresh file into place, so a new inode means a write.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { stateWriter } from '../../../src/app/state-writer.js';
import { initialState, type AppState, type Observation } from '../../../src/engine/decide.js';
import type { WorkerView } from '../../../src/engine/view.js';
import type { Logger } from '../../../src/log/logger.js';
import { OPEN_STATE, entry, view } from '../../helpers/state-document.js';

let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-writer-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A writer over views the test changes, a clock it moves, and the warnings it logged. */
function setup(t: TestContext, first: WorkerView[] = [view(initialState(0))]) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.now() });
  const path = join(dir, `case-${++seq}`, 'state.json');
  const box = { views: first, now: 1000 };
  const warnings: string[] = [];
  const logger = { warn: (m: string) => void warnings.push(m) } as unknown as Logger;
  const writer = stateWriter(path, () => box.views, { now: () => box.now }, logger);
  /** The file's inode, or 0 when there is none: a write renames a new file into place. */
  const inode = (): number => {
    try {
      return statSync(path).ino;
    } catch {
      return 0;
    }
  };
  const doc = (): { apps: Record<string, { consecutive_failures: number; remedies?: unknown[]; paused_until?: string }> } => JSON.parse(readFileSync(path, 'utf8'));
  return { path, box, writer, warnings, inode, doc, tick: (ms: number) => t.mock.timers.tick(ms) };
}

const failing = (n: number): AppState => ({ ...initialState(0), phase: 'failing', consecutiveFailures: n, lastReason: `timeout (${n}/3)` });

const observed = (at: number, latencyMs: number): Observation => ({
  at, crashes: 0, squatters: [],
  pm2: { state: 'online', pids: [1], pmIds: [0], restarts: 0, uptimeMs: 1, detail: '' },
  http: { ok: true, status: 200, latencyMs },
});

describe('stateWriter', () => {
  test('routine pokes are written once, a second after the first; not before', (t) => {
    const s = setup(t);
    for (let i = 0; i < 5; i++) s.writer.poke(false);
    assert.equal(s.inode(), 0, 'nothing yet');
    s.tick(999);
    assert.equal(s.inode(), 0, 'still debounced');
    s.tick(1);
    const first = s.inode();
    assert.notEqual(first, 0, 'written after a second');
    s.box.views = [view(failing(1))];
    s.writer.poke(false);
    s.writer.poke(false);
    s.tick(1000);
    assert.notEqual(s.inode(), first, 'the change is written');
    assert.equal(s.doc().apps['api']!.consecutive_failures, 1);
  });

  test('an urgent poke writes at once and cancels the pending write', (t) => {
    const s = setup(t);
    s.writer.poke(false);
    s.box.views = [view(OPEN_STATE)];
    s.writer.poke(true);
    const written = s.inode();
    assert.notEqual(written, 0, 'written without waiting');
    assert.equal(s.doc().apps['api']!.consecutive_failures, 4);
    s.tick(1000);
    assert.equal(s.inode(), written, 'no second write for the cancelled timer');
  });

  test('unchanged facts are not rewritten, check times and latencies alone once a minute', (t) => {
    const s = setup(t, [view(initialState(0), { lastObservation: observed(900, 3) })]);
    s.writer.flush();
    const first = s.inode();
    assert.notEqual(first, 0);
    s.box.now += 30_000;
    s.box.views = [view(initialState(0), { lastObservation: observed(s.box.now, 7) })];
    s.writer.poke(false);
    s.tick(1000);
    assert.equal(s.inode(), first, 'only the check time and the latency changed');
    s.box.now += 30_000;
    s.writer.poke(false);
    s.tick(1000);
    assert.notEqual(s.inode(), first, 'a minute on, the check time is refreshed');
  });

  test('every kind of persisted change is seen: counters, a remedy, a pause, an app more or less', (t) => {
    const base = view(failing(1));
    const s = setup(t, [base]);
    s.writer.flush();
    const changes: [string, WorkerView[]][] = [
      ['a counter', [view(failing(2))]],
      ['a remedy in the history', [view(failing(2), { history: [entry(1)] })]],
      ['a pause', [view(failing(2), { history: [entry(1)], control: { pausedUntil: 'indefinite' } })]],
      ['another app', [view(failing(2), { history: [entry(1)], control: { pausedUntil: 'indefinite' } }), view(failing(1), { app: 'web' })]],
      ['an app fewer', [view(failing(1), { app: 'web' })]],
    ];
    for (const [what, views] of changes) {
      const before = s.inode();
      s.box.views = views;
      s.writer.flush();
      assert.notEqual(s.inode(), before, what);
      s.writer.flush();
      const again = s.inode();
      s.writer.flush();
      assert.equal(s.inode(), again, `${what}: written once`);
    }
    assert.deepEqual(Object.keys(s.doc().apps), ['web']);
  });

  test('a pause that ends is written without any other change', (t) => {
    const s = setup(t);
    s.box.views = [view(failing(1), { control: { pausedUntil: Date.now() + 5000 } })];
    s.writer.flush();
    assert.ok(s.doc().apps['api']!.paused_until, 'paused');
    const before = s.inode();
    s.tick(5001); // the pause is judged by the wall clock
    s.writer.flush();
    assert.notEqual(s.inode(), before);
    assert.equal(s.doc().apps['api']!.paused_until, undefined);
  });

  test('a failed write is told once, and the next flush writes even with nothing new', (t) => {
    const s = setup(t);
    const parent = join(s.path, '..');
    rmSync(parent, { recursive: true, force: true });
    writeFileSync(parent, 'not a directory');
    s.writer.poke(true);
    s.writer.poke(true);
    assert.equal(s.warnings.length, 1, s.warnings.join('\n'));
    assert.match(s.warnings[0]!, /^cannot write the state file .*state\.json: /);
    rmSync(parent);
    s.writer.flush();
    assert.notEqual(s.inode(), 0, 'written once the dir can be made');
  });
});
