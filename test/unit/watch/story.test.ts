// The watch command's story, told from the engine's observations and events and PM2's bus: one
// line per event, prefixed with the time and the process name, in the order things happened
// (a line that waits for a pid keeps its place).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Observation } from '../../../src/engine/decide.js';
import type { OtherProbeOutcome, Pm2State } from '../../../src/probes/types.js';
import type { WatchSpec } from '../../../src/watch/config.js';
import { Story, formatTime } from '../../../src/watch/story.js';

const SPEC: WatchSpec = { name: 'Worker', pm2Name: 'watch-Worker', command: 'run', logFile: '/tmp/w.log', timeoutS: 60, intervalS: 5 };
const OTHER: WatchSpec = { name: 'Web', pm2Name: 'watch-Web', command: 'serve', logFile: '/tmp/web.log', timeoutS: 30, intervalS: 1 };
const AT = new Date(2026, 10, 23, 20, 0, 7);

function setup(pids: Record<string, number | undefined> = {}, delayMs = 0) {
  const lines: string[] = [];
  const story = new Story([SPEC, OTHER], {
    write: (l) => lines.push(l),
    pidOf: async (name) => {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return pids[name];
    },
    now: () => AT,
  });
  return { story, lines };
}

function obs(log: OtherProbeOutcome | undefined, state: Pm2State = 'online'): Observation {
  return {
    at: 0, crashes: 0, squatters: [],
    pm2: { state, pids: state === 'online' ? [42] : [], pmIds: [0], restarts: 0, uptimeMs: 1000, detail: `status ${state}` },
    ...(log ? { others: [log] } : {}),
  };
}
const logOk = (newBytes: number, silentMs: number, rotated = false): OtherProbeOutcome => ({ kind: 'log', ok: true, latencyMs: 0, info: { newBytes, silentMs, rotated, file: '/tmp/w.log' } });
const logSilent = (silentMs: number): OtherProbeOutcome => ({ kind: 'log', ok: false, urgent: true, latencyMs: 0, detail: 'no new log lines', info: { silentMs, file: '/tmp/w.log' } });

describe('the story', () => {
  test('formatTime is the original\'s local "YYYY-MM-DD HH:MM:SS"', () => {
    assert.equal(formatTime(new Date(2024, 0, 5, 4, 3, 2)), '2024-01-05 04:03:02');
  });

  test('observations: new bytes, waiting (silent s / timeout), rotation, TIMEOUT', async () => {
    const { story, lines } = setup();
    story.observation('watch-Worker', obs(logOk(156, 0)));
    story.observation('watch-Worker', obs(logOk(0, 3400)));
    story.observation('watch-Worker', obs(logOk(0, 59_999)));
    story.observation('watch-Worker', obs(logOk(12, 0, true)));
    story.observation('watch-Worker', obs(logSilent(61_000)));
    story.observation('watch-Web', obs(logOk(0, 0)));
    await story.flush();
    assert.deepEqual(lines, [
      '2026-11-23 20:00:07 [Worker] new log bytes: +156',
      '2026-11-23 20:00:07 [Worker] waiting 3/60 s',
      '2026-11-23 20:00:07 [Worker] waiting 59/60 s',
      '2026-11-23 20:00:07 [Worker] log rotated or truncated (now 12 bytes)',
      '2026-11-23 20:00:07 [Worker] TIMEOUT: no new log lines for 61 s (limit 60 s)',
      '2026-11-23 20:00:07 [Web] waiting 0/30 s',
    ]);
  });

  test('a missing log file is told once; PM2 states away from online are told when a second check still sees them', async () => {
    const { story, lines } = setup();
    const missing: OtherProbeOutcome = { kind: 'log', ok: true, latencyMs: 0, detail: 'gone', info: { missing: true, file: '/tmp/w.log' } };
    story.observation('watch-Worker', obs(missing));
    story.observation('watch-Worker', obs(missing));
    story.observation('watch-Worker', obs(undefined, 'stopped'));
    story.observation('watch-Worker', obs(undefined, 'stopped'));
    story.observation('watch-Worker', obs(undefined, 'errored'));
    story.observation('watch-Worker', obs(undefined, 'errored'));
    story.observation('watch-Worker', obs(logOk(0, 0)));
    story.observation('watch-Worker', obs(undefined, 'stopped')); // PM2 restarting an exited command: a moment
    story.observation('watch-Worker', obs(logOk(0, 1000)));
    await story.flush();
    assert.deepEqual(lines.map((l) => l.slice(20)), [
      '[Worker] log file /tmp/w.log is missing; waiting for it to appear',
      '[Worker] stopped in PM2 (status stopped); `pm2 start watch-Worker` starts it again',
      '[Worker] PM2 gave up restarting it (errored)',
      '[Worker] waiting 0/60 s',
      '[Worker] waiting 1/60 s',
    ]);
  });

  test('a remedy: restarting, then restarted with the new pid (looked up in order)', async () => {
    const { story, lines } = setup({ 'watch-Worker': 4250 }, 20);
    story.started('watch-Worker', 4242);
    story.event({ type: 'remedy_started', app: 'watch-Worker', reason: 'no new log lines in /tmp/w.log for 60 s (timeout 60 s)' });
    story.event({ type: 'remedy_succeeded', app: 'watch-Worker', durationMs: 412 });
    story.observation('watch-Worker', obs(logOk(0, 0))); // the next check, already queued behind the pid lookup
    story.remedyDone('watch-Worker');
    // PM2's own online event for our restart arrives late: same pid, not told twice
    story.processEvent({ name: 'watch-Worker', pmId: 0, event: 'online', manually: false });
    await story.flush();
    assert.deepEqual(lines.map((l) => l.slice(20)), [
      '[Worker] process started (pid 4242)',
      '[Worker] restarting: no new log lines in /tmp/w.log for 60 s (timeout 60 s)',
      '[Worker] restarted (pid 4250) in 0.4 s',
      '[Worker] waiting 0/60 s',
    ]);
  });

  test('failures and the circuit breaker are told', async () => {
    const { story, lines } = setup();
    story.event({ type: 'remedy_failed', app: 'watch-Worker', detail: 'start failed: boom' });
    story.event({ type: 'circuit_opened', app: 'watch-Worker', detail: '3 failed remedies within 600 s' });
    story.event({ type: 'circuit_half_open', app: 'watch-Worker', detail: 'trial' });
    story.event({ type: 'circuit_closed', app: 'watch-Worker', detail: 'healthy' });
    story.event({ type: 'remedy_started', app: 'somebody-else' });
    await story.flush();
    assert.deepEqual(lines.map((l) => l.slice(20)), [
      '[Worker] restart failed: start failed: boom',
      '[Worker] too many failed restarts; no more restarts for a while: 3 failed remedies within 600 s',
      '[Worker] trying one restart again: trial',
      '[Worker] restarts back to normal: healthy',
    ]);
  });

  test('PM2 bus: a crash and PM2\'s autorestart are told; stops (exit after stopping) are not', async () => {
    const { story, lines } = setup({ 'watch-Worker': 5000 });
    story.started('watch-Worker', 4242);
    story.processEvent({ name: 'watch-Worker', pmId: 0, event: 'exit', status: 'errored', exitCode: 3, manually: false });
    story.processEvent({ name: 'watch-Worker', pmId: 0, event: 'online', manually: false });
    story.processEvent({ name: 'watch-Worker', pmId: 0, event: 'exit', status: 'stopping', manually: false });
    story.processEvent({ name: 'watch-Worker', pmId: 0, event: 'exit', status: 'stopped', manually: false });
    story.processEvent({ name: 'unrelated', pmId: 7, event: 'exit', manually: false });
    await story.flush();
    assert.deepEqual(lines.map((l) => l.slice(20)), [
      '[Worker] process started (pid 4242)',
      '[Worker] process exited (code 3)',
      '[Worker] process started (pid 5000)',
    ]);
  });

  test('while a remedy runs, its own exits and starts are not told twice', async () => {
    const { story, lines } = setup({ 'watch-Worker': 5000 });
    story.event({ type: 'remedy_started', app: 'watch-Worker', reason: 'r' });
    story.processEvent({ name: 'watch-Worker', pmId: 0, event: 'exit', status: 'stopped', manually: false });
    story.processEvent({ name: 'watch-Worker', pmId: 0, event: 'online', manually: false });
    await story.flush();
    assert.deepEqual(lines.map((l) => l.slice(20)), ['[Worker] restarting: r']);
  });

  test('after closingDown, the shutdown\'s own events are not told; say() still is', async () => {
    const { story, lines } = setup();
    story.closingDown();
    story.say('stopping the watched command');
    story.processEvent({ name: 'watch-Worker', pmId: 0, event: 'exit', status: 'stopped', manually: false });
    story.event({ type: 'remedy_failed', app: 'watch-Worker', detail: 'cut short' });
    story.observation('watch-Worker', obs(logOk(0, 0)));
    story.tell('watch-Worker', 'stopped and removed from PM2');
    await story.flush();
    assert.deepEqual(lines.map((l) => l.slice(20)), ['stopping the watched command', '[Worker] stopped and removed from PM2']);
  });

  test('a failing pid lookup never breaks the story', async () => {
    const lines: string[] = [];
    const story = new Story([SPEC], { write: (l) => lines.push(l), pidOf: () => Promise.reject(new Error('daemon gone')), now: () => AT });
    story.event({ type: 'remedy_succeeded', app: 'watch-Worker' });
    story.tell('watch-Worker', 'after');
    await story.flush();
    assert.deepEqual(lines.map((l) => l.slice(20)), ['[Worker] restarted (pid ?)', '[Worker] after']);
  });
});
