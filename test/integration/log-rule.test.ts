// The log-inactivity rule against a real PM2: a silent app is restarted within timeout + one
// interval (+ cold start), a chatty one never; truncation and rotation are activity; a missing
// log file is reported once and is not fatal.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Observation } from '../../src/engine/decide.js';
import type { ProcessInfo } from '../../src/pm2/adapter.js';
import { ROOT, createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startTestMonitor, type TestMonitor } from '../helpers/monitor.js';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'log-app.cjs');
const TIMEOUT_MS = 3000;
const INTERVAL_MS = 1000;
let sb: Sandbox;

before(async () => {
  sb = await createSandbox('logrule');
});
after(async () => {
  await sb.teardown();
});

/** Start the fixture under PM2 and wait until it is online. */
async function startApp(name: string, env: Record<string, string> = {}): Promise<ProcessInfo> {
  await sb.start({ name, script: FIXTURE, env, autorestart: true });
  return waitFor(`${name} online`, async () => {
    const p = await sb.info(name);
    return p && p.status === 'online' && p.pid > 0 ? p : undefined;
  });
}

/** Stop an app (its PM2 entry stays; teardown kills the daemon). */
async function stopApp(name: string): Promise<void> {
  const p = await sb.info(name);
  if (p) await sb.pm2.act('stop', p.pmId).catch(() => undefined);
}

function monitorFor(name: string, logInactivity: Record<string, unknown>): TestMonitor {
  return startTestMonitor(sb, {
    apps: [{ name, health: { interval: `${INTERVAL_MS}ms` }, startup_grace: 0, log_inactivity: { timeout: `${TIMEOUT_MS}ms`, ...logInactivity } }],
  });
}

/** Every distinct observation the monitor makes (its views polled faster than it checks). */
function recordObservations(monitor: TestMonitor): { readonly seen: Observation[]; stop(): void } {
  const seen: Observation[] = [];
  const timer = setInterval(() => {
    const obs = monitor.engine.views()[0]?.lastObservation;
    if (obs && seen.at(-1) !== obs) seen.push(obs);
  }, 20);
  return { seen, stop: () => clearInterval(timer) };
}

const logOutcome = (o: Observation): NonNullable<Observation['others']>[number] | undefined => o.others?.find((x) => x.kind === 'log');

/** Wait until PM2 runs the app under another pid; returns it with the wall time it was first seen. */
async function waitNewPid(name: string, oldPid: number, timeoutMs: number): Promise<{ info: ProcessInfo; at: number }> {
  const info = await waitFor(`${name} under a new pid (was ${oldPid})`, async () => {
    const p = await sb.info(name);
    return p && p.pid > 0 && p.pid !== oldPid ? p : undefined;
  }, timeoutMs, 25);
  return { info, at: Date.now() };
}

const story = (m: TestMonitor): string => `\nmonitor log:\n${m.lines.join('\n')}`;

test('a silent app (PM2 out log, the default file) is restarted within timeout + one interval', async (t) => {
  const app = await startApp('silent-out');
  const outLog = app.outLog;
  assert.ok(outLog, 'PM2 reports the out log path');
  await waitFor('the ready line in the PM2 out log', () => existsSync(outLog) && readFileSync(outLog, 'utf8').includes('ready'));
  const lastLine = statSync(outLog).mtimeMs;
  const monitor = monitorFor('silent-out', {});
  try {
    const { at } = await waitNewPid('silent-out', app.pid, 15_000);
    const sinceLastLine = at - lastLine;
    t.diagnostic(`new pid ${Math.round(sinceLastLine)} ms after the last log line`);
    // timeout 3 s + one 1 s interval + stop/start (~0.3 s) + slack for a loaded 2-core machine
    assert.ok(sinceLastLine < 6000, `restarted ${Math.round(sinceLastLine)} ms after the last log line${story(monitor)}`);
    assert.ok(sinceLastLine >= TIMEOUT_MS - 100, `not before the timeout: ${Math.round(sinceLastLine)} ms${story(monitor)}`);
    const report = await waitFor('the remedy report', () => monitor.remedies[0]);
    assert.ok(report.ok, `the remedy succeeded: ${report.failure ?? ''}`);
    assert.match(report.reason, /no new log lines/);
    assert.ok(report.reason.includes(outLog), `the reason names the file: ${report.reason}`);
    assert.match(report.reason, /\(timeout 3 s\)/);
    assert.doesNotMatch(report.reason, /\(\d+\/\d+\)/, 'the rule skips failure_threshold (no n/threshold count)');
    assert.ok(monitor.lines.some((l) => /unhealthy: no new log lines/.test(l)), `the log tells why${story(monitor)}`);
  } finally {
    await monitor.stop();
    await stopApp('silent-out');
  }
});

test('a silent app with an explicit log file is restarted within timeout + one interval', async (t) => {
  const file = join(sb.home, 'explicit-silent.log');
  const app = await startApp('silent-file', { LOG_FILE: file });
  await waitFor('the ready line in the explicit file', () => existsSync(file) && readFileSync(file, 'utf8').includes('ready'));
  const lastLine = statSync(file).mtimeMs;
  const monitor = monitorFor('silent-file', { file });
  try {
    const { at } = await waitNewPid('silent-file', app.pid, 15_000);
    const sinceLastLine = at - lastLine;
    t.diagnostic(`new pid ${Math.round(sinceLastLine)} ms after the last log line`);
    assert.ok(sinceLastLine < 6000, `restarted ${Math.round(sinceLastLine)} ms after the last log line${story(monitor)}`);
    assert.ok(sinceLastLine >= TIMEOUT_MS - 100, `not before the timeout: ${Math.round(sinceLastLine)} ms${story(monitor)}`);
    const report = await waitFor('the remedy report', () => monitor.remedies[0]);
    assert.ok(report.ok, `the remedy succeeded: ${report.failure ?? ''}`);
    assert.match(report.reason, /no new log lines/);
    assert.ok(report.reason.includes(file), `the reason names the explicit file: ${report.reason}`);
    // The new instance's ready line went to the same file.
    await waitFor('the new instance writes to the file', () => readFileSync(file, 'utf8').split('ready').length === 3);
  } finally {
    await monitor.stop();
    await stopApp('silent-file');
  }
});

test('after a restart the silence clock starts afresh (no immediate second restart)', async (t) => {
  // The app writes nothing at all, even when it starts: only the reset after the remedy keeps
  // the monitor from restarting it again at the very next check.
  const file = join(sb.home, 'never-written.log');
  writeFileSync(file, 'written once by the test\n');
  const app = await startApp('mute', { READY: '0' });
  const monitor = monitorFor('mute', { file });
  try {
    const first = await waitNewPid('mute', app.pid, 15_000);
    const second = await waitNewPid('mute', first.info.pid, 15_000);
    const gap = second.at - first.at;
    t.diagnostic(`second restart ${gap} ms after the first`);
    assert.ok(gap >= TIMEOUT_MS - 300, `the second restart came ${gap} ms after the first (timeout ${TIMEOUT_MS} ms)${story(monitor)}`);
    assert.ok(gap < TIMEOUT_MS + INTERVAL_MS + 2500, `and within timeout + one interval: ${gap} ms${story(monitor)}`);
    await waitFor('two remedy reports', () => monitor.remedies.length >= 2);
    assert.ok(monitor.remedies.every((r) => r.ok && /no new log lines/.test(r.reason)), JSON.stringify(monitor.remedies.map((r) => r.reason)));
  } finally {
    await monitor.stop();
    await stopApp('mute');
  }
});

test('a chatty app is never restarted over three timeouts', async () => {
  const app = await startApp('chatty', { LOG_EVERY_MS: '500' });
  const monitor = monitorFor('chatty', {});
  const rec = recordObservations(monitor);
  try {
    await new Promise((r) => setTimeout(r, 3 * TIMEOUT_MS + 1000));
    const now = await sb.info('chatty');
    assert.equal(now?.pid, app.pid, `same pid after ${3 * TIMEOUT_MS + 1000} ms${story(monitor)}`);
    assert.equal(now?.restarts, app.restarts, 'PM2 did not restart it either');
    assert.equal(monitor.remedies.length, 0, `no remedy: ${monitor.remedies.map((r) => r.reason).join('; ')}`);
    const logs = rec.seen.map(logOutcome).filter((o) => o !== undefined);
    assert.ok(logs.length >= 8, `the rule ran at every check: ${logs.length} log outcomes in ${rec.seen.length} observations`);
    assert.ok(logs.every((o) => o.ok), JSON.stringify(logs.filter((o) => !o.ok)));
    assert.ok(logs.filter((o) => Number(o.info?.['newBytes']) > 0).length >= logs.length - 2, `new bytes seen at (nearly) every check: ${JSON.stringify(logs.map((o) => o.info?.['newBytes']))}`);
    assert.equal(monitor.engine.views()[0]?.state.phase, 'healthy');
  } finally {
    rec.stop();
    await monitor.stop();
    await stopApp('chatty');
  }
});

test('a truncated, then rotated log file mid-run does not cause a restart', async () => {
  const file = join(sb.home, 'rotating.log');
  // Slow writer: one line every 1.5 s (half the timeout), each write opening the path afresh.
  const app = await startApp('rotating', { LOG_FILE: file, LOG_EVERY_MS: '1500' });
  await waitFor('the log file', () => existsSync(file));
  const monitor = monitorFor('rotating', { file });
  const rec = recordObservations(monitor);
  const rotations = (): number => rec.seen.filter((o) => logOutcome(o)?.info?.['rotated'] === true).length;
  try {
    await waitFor('monitor sees healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy', 10_000);
    // A big block first, so the file stays far smaller than before for long after the truncation.
    appendFileSync(file, `${'x'.repeat(1023)}\n`.repeat(64));
    await waitFor('the monitor counts the 64 KiB', () => rec.seen.some((o) => Number(logOutcome(o)?.info?.['newBytes']) >= 65_536), 5000);

    truncateSync(file, 0);
    await waitFor('the truncation seen as a rotation', () => rotations() >= 1, 5000);
    await new Promise((r) => setTimeout(r, TIMEOUT_MS + 500));

    appendFileSync(file, `${'y'.repeat(1023)}\n`.repeat(8));
    await new Promise((r) => setTimeout(r, INTERVAL_MS + 200));
    const before = rotations();
    renameSync(file, `${file}.1`);
    await waitFor('the rename seen as a rotation', () => rotations() > before, 6000);
    await waitFor('the app writing a new file', () => existsSync(file) && statSync(file).size > 0, 5000);
    await new Promise((r) => setTimeout(r, TIMEOUT_MS + 500));

    const now = await sb.info('rotating');
    assert.equal(now?.pid, app.pid, `same pid${story(monitor)}`);
    assert.equal(monitor.remedies.length, 0, `no remedy: ${monitor.remedies.map((r) => r.reason).join('; ')}`);
    const bad = rec.seen.map(logOutcome).filter((o) => o && !o.ok);
    assert.deepEqual(bad, [], 'never silent');
    assert.ok(!monitor.lines.some((l) => /no new log lines/.test(l)), story(monitor));
    assert.ok(readFileSync(`${file}.1`, 'utf8').includes('y'.repeat(100)), 'the rotated file kept the old lines');
  } finally {
    rec.stop();
    await monitor.stop();
    await stopApp('rotating');
  }
});

test('a missing explicit log file is reported once and is not fatal', async () => {
  const file = join(sb.home, 'nowhere', 'missing.log');
  const app = await startApp('no-log', { LOG_EVERY_MS: '500' });
  const monitor = monitorFor('no-log', { file });
  const rec = recordObservations(monitor);
  try {
    await new Promise((r) => setTimeout(r, TIMEOUT_MS + 2 * INTERVAL_MS + 500));
    const told = monitor.lines.filter((l) => l.includes(`log file ${file} does not exist`));
    assert.equal(told.length, 1, `reported exactly once${story(monitor)}`);
    assert.match(told[0]!, /^warn /);
    assert.match(told[0]!, /the log rule waits for it/);
    const missing = rec.seen.map(logOutcome).filter((o) => o?.info?.['missing'] === true);
    assert.ok(missing.length >= 5, `the rule kept looking: ${missing.length} checks saw the file missing`);
    assert.ok(missing.every((o) => o?.ok), 'missing is not a failure');
    assert.equal(monitor.remedies.length, 0, `no remedy: ${monitor.remedies.map((r) => r.reason).join('; ')}`);
    assert.equal((await sb.info('no-log'))?.pid, app.pid, 'same pid');
    // The monitor is still running: checks go on.
    const checks = rec.seen.length;
    await waitFor('another check', () => rec.seen.length > checks, 3 * INTERVAL_MS);
    assert.equal(monitor.engine.views()[0]?.state.phase, 'healthy');

    // Once the file appears the rule follows it (and it is activity, not silence).
    const mark = rec.seen.length;
    mkdirSync(join(sb.home, 'nowhere'));
    writeFileSync(file, 'hello\n');
    await waitFor('the rule sees the file', () => rec.seen.slice(mark).some((o) => {
      const l = logOutcome(o);
      return l?.ok && l.info?.['missing'] === undefined && Number(l.info?.['newBytes']) === 6;
    }), 3 * INTERVAL_MS);
    assert.equal(monitor.remedies.length, 0);
  } finally {
    rec.stop();
    await monitor.stop();
    await stopApp('no-log');
  }
});

test('an operator start of a long-stopped app gets a fresh timeout too', async (t) => {
  // README: "Both start afresh after every restart". The app writes nothing when it starts, so
  // only a clock that starts with the new instance keeps it from being restarted at once.
  const file = join(sb.home, 'operator.log');
  writeFileSync(file, 'written once by the test\n');
  const app = await startApp('operator', { READY: '0' });
  const monitor = monitorFor('operator', { file });
  try {
    await waitFor('monitor sees healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy', 10_000);
    await sb.pm2.act('stop', app.pmId);
    await waitFor('monitor sees the operator stop', () => monitor.engine.views()[0]?.state.phase === 'stopped', 10_000);
    await new Promise((r) => setTimeout(r, TIMEOUT_MS + 500));
    await sb.pm2.act('restart', app.pmId);
    const started = await waitFor('the operator start', async () => {
      const p = await sb.info('operator');
      return p && p.status === 'online' && p.pid > 0 ? { info: p, at: Date.now() } : undefined;
    }, 10_000, 25);
    const restarted = await waitNewPid('operator', started.info.pid, TIMEOUT_MS + INTERVAL_MS + 3000).catch(() => undefined);
    const after = restarted ? restarted.at - started.at : Infinity;
    t.diagnostic(`the monitor restarted it ${after} ms after the operator start`);
    assert.ok(after >= TIMEOUT_MS - 300, `restarted ${after} ms after the operator started it (timeout ${TIMEOUT_MS} ms)${story(monitor)}`);
  } finally {
    await monitor.stop();
    await stopApp('operator');
  }
});
