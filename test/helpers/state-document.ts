/**
 * A worker's view and its state document at two instants: process A (up a while) writes,
 * process B (after a restart, with a young monotonic clock) reads. Shared by the tests of the
 * pure conversions (engine/state-document) and of the file (state/state-file).
 */
import type { AppState } from '../../src/engine/decide.js';
import type { StateDocument } from '../../src/engine/state-document.js';
import type { RemedyEntry, WorkerView } from '../../src/engine/view.js';

export const WALL_A = Date.parse('2024-05-01T12:00:00.000Z');
/** Process A has been up a while; process B (after a restart) has a young monotonic clock. */
export const MONO_A = 5_000_000;
export const MONO_B = 812.25;

export const entry = (i: number, ok = false): RemedyEntry => ({
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

export const view = (state: AppState, patch: Partial<WorkerView> = {}): WorkerView => ({
  app: 'api', state, history: [], control: {}, resetSeen: 0, ...patch,
});

/** An app whose circuit opened 100 s before the snapshot, with 40 s of backoff left. */
export const OPEN_STATE: AppState = {
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
export const throughDisk = (doc: StateDocument): StateDocument => JSON.parse(JSON.stringify(doc)) as StateDocument;
