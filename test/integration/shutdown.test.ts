// Graceful shutdown (issue 16, part 6), with the real CLI `run` as a child process and a real PM2
// daemon. The app's remedy is slow on purpose: it stops listening and ignores SIGINT/SIGTERM
// (test/fixtures/stubborn-app.cjs), so PM2's stop waits its 8 s kill_timeout. SIGTERM to the
// monitor during that stop: it exits 0 within 10 s and gives the lock back, the journal keeps the
// step, PM2 leaves the app stopped; the next `run` finishes the remedy (starts it, verifies) and
// clears the journal. A second SIGTERM exits at once with 143; then `check` finishes the remedy.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, createSandbox, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';
import { configIn, freshDir, sandboxCliEnv, spawnStray } from '../helpers/operator.js';

const PORT = 48700;
const APP = 'sd-app';
const URL_ = `http://127.0.0.1:${PORT}/health`;
const FIXTURE = join(ROOT, 'test', 'fixtures', 'stubborn-app.cjs');
const T = { timeout: 150_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let breakFile: string;
let config: string;
let stateDir: string;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('shutdown');
  env = sandboxCliEnv(sb);
  breakFile = join(freshDir(sb.home, 'break'), 'broken');
  stateDir = freshDir(sb.home, 'state');
  config = configIn(sb.home, {
    state_dir: stateDir,
    apps: [{
      name: APP, health: { url: URL_, timeout: '500ms', interval: '500ms', failure_threshold: 1 }, startup_grace: 0, ports: [PORT],
      verify_timeout: '20s', max_attempts: 1, kill_scope: 'user',
    }],
  });
  await sb.start({ name: APP, script: FIXTURE, env: { PORT: String(PORT), BREAK_FILE: breakFile }, kill_timeout: 8000, autorestart: true });
  await waitFor(`${APP} healthy`, async () => (await httpStatus(URL_)) === 200, 30_000);
});
after(async () => {
  rmSync(breakFile, { force: true });
  ledger.killAll();
  await sb.teardown();
});

const journalPath = (): string => join(stateDir, 'remedies', `${APP}.json`);
const lockPath = (): string => join(stateDir, 'monitor.lock');
const journal = (): { step: string; by: { monitor: string; pid: number } } | undefined =>
  existsSync(journalPath()) ? (JSON.parse(readFileSync(journalPath(), 'utf8')) as { step: string; by: { monitor: string; pid: number } }) : undefined;

/** `run` watching the app, once it said so. */
async function startRun(): Promise<RunningCli> {
  const run = startCli(['run', '--config', config], env, ledger);
  await run.waitForLine(/watching 1 app/, 60_000);
  return run;
}

/** Break the app, and wait until the monitor's remedy is inside PM2's slow stop. */
async function breakAndWaitForStop(run: RunningCli): Promise<void> {
  writeFileSync(breakFile, 'x');
  await run.waitForLine(/starting remedy/, 20_000);
  await waitFor('the journal says the remedy is stopping the app', () => journal()?.step === 'stopping', 10_000);
  assert.equal(journal()?.by.pid, run.child.pid, 'the journal names the monitor that wrote it');
  await waitFor('PM2 waiting out the kill_timeout (status stopping)', async () => (await sb.info(APP))?.status === 'stopping', 5000);
}

test('SIGTERM during a remedy: exit 0 within 10 s, lock released, journal kept; the next run brings the app back', T, async () => {
  const first = await startRun();
  await breakAndWaitForStop(first);
  const t0 = Date.now();
  first.child.kill('SIGTERM');
  const end = await first.exited;
  const took = Date.now() - t0;
  const log = first.stderrLines.join('\n');
  assert.deepEqual(end, { code: 0, signal: null }, `run exits 0 on SIGTERM:\n${log}`);
  assert.ok(took < 10_000, `exited in ${took} ms (limit 10 s)`);
  assert.ok(took >= 5000, `the remedy had its grace (~6 s) before being abandoned: ${took} ms`);
  assert.match(log, /remedy abandoned: the monitor is shutting down/);
  assert.match(log, /stopped$/m, 'the farewell line: logs flushed');
  assert.equal(existsSync(lockPath()), false, 'the lock is released');
  assert.equal(journal()?.step, 'stopping', 'the journal keeps the step the remedy was cut at');
  const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { apps: Record<string, { phase: string; failed_remedies?: number }> };
  assert.equal(state.apps[APP]?.phase, 'remedying', 'state.json was flushed: the remedy was in progress (read back as unhealthy)');
  assert.ok(!state.apps[APP]?.failed_remedies, 'an abandoned remedy is not counted as a failed one');

  // PM2 finishes its stop (SIGKILL at kill_timeout) and never starts the app by itself.
  await waitFor('PM2 has stopped the app', async () => (await sb.info(APP))?.status === 'stopped', 15_000);
  rmSync(breakFile);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await sb.info(APP))?.status, 'stopped', 'cut short, the remedy left the app stopped');
  const before = (await sb.info(APP))!;
  // While nobody watched, a stray took the app's port: the resume frees it (as the remedy's next
  // step would have), under the app's kill_scope (user here: the stray is ours), then starts.
  const stray = await spawnStray(PORT, freshDir(sb.home, 'stray'), ledger);

  const second = startCli(['run', '--config', config], env, ledger);
  try {
    await second.waitForLine(/finishing a remedy interrupted at step 'stopping' \(journaled by run pid \d+ at [^)]+\): PM2 shows it stopped as the remedy left it/, 30_000);
    await second.waitForLine(new RegExp(`ports ${PORT}: killed pid ${stray.id.pid} `), 30_000);
    await second.waitForLine(/finished the interrupted remedy: started by us and healthy in \d+ ms/, 30_000);
    await second.waitForLine(/watching 1 app/, 30_000);
    assert.equal(await httpStatus(URL_), 200, 'the app answers again');
    const info = await sb.info(APP);
    assert.equal(info?.status, 'online');
    // What the journal's judgement rests on: a start changes PM2's start time (pm_uptime), a stop does not.
    assert.notEqual(info?.startedAt, before.startedAt, 'started: PM2 has a new start time');
    assert.ok(info!.pid > 0);
    assert.equal(journal(), undefined, 'the journal entry is cleared');
    const resumed = second.stderrLines.find((l) => l.includes('finishing a remedy interrupted'))!;
    assert.match(resumed, /sd-app/, 'the line names the app');
    // Healthy from the first check on: no second remedy.
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(!second.stderrLines.some((l) => /starting remedy/.test(l)), `no remedy after the resume:\n${second.stderrLines.join('\n')}`);
  } finally {
    second.child.kill('SIGTERM');
    const end2 = await second.exited;
    assert.equal(end2.code, 0, 'an idle run stops with 0');
  }
  assert.equal(existsSync(lockPath()), false);
});

test('a second SIGTERM exits at once (143); the next `check` finishes the remedy', T, async () => {
  const run = await startRun();
  await breakAndWaitForStop(run);
  run.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  run.child.kill('SIGTERM');
  const end = await run.exited;
  const took = Date.now() - t0;
  assert.deepEqual(end, { code: 143, signal: null }, 'the second signal exits with 128 + 15');
  assert.ok(took < 1500, `at once: ${took} ms`);
  assert.equal(journal()?.step, 'stopping', 'the journal keeps the step');

  await waitFor('PM2 has stopped the app', async () => (await sb.info(APP))?.status === 'stopped', 15_000);
  rmSync(breakFile);
  // The lock the killed run left is stale (its pid is gone): check takes it over.
  const r = await runCli(['check', '--config', config], env, 90_000);
  assert.equal(r.code, 0, `check exits 0 once the app is back:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /finished the interrupted remedy: started by us and healthy/);
  assert.equal((await sb.info(APP))?.status, 'online');
  assert.equal(await httpStatus(URL_), 200);
  assert.equal(journal(), undefined, 'the journal entry is cleared');
});

test('SIGKILL between stop and start (nothing runs on the way out): the next run has the app online and healthy within one interval', T, async () => {
  const run = await startRun();
  await breakAndWaitForStop(run);
  run.child.kill('SIGKILL');
  assert.deepEqual(await run.exited, { code: null, signal: 'SIGKILL' });
  assert.equal(journal()?.step, 'stopping', 'the journal was written before the step, so a kill leaves it');
  await waitFor('PM2 has stopped the app', async () => (await sb.info(APP))?.status === 'stopped', 15_000);
  rmSync(breakFile);
  const again = startCli(['run', '--config', config], env, ledger);
  try {
    // The lock the killed run left names a dead pid: taken over at once.
    const t0 = Date.now();
    await again.waitForLine(/finished the interrupted remedy: started by us and healthy in \d+ ms/, 30_000);
    const took = Date.now() - t0;
    assert.equal((await sb.info(APP))?.status, 'online');
    assert.equal(await httpStatus(URL_), 200);
    assert.equal(journal(), undefined);
    // One interval (500 ms) after the monitor's own start-up (its node start, config, PM2 connect).
    const started = again.stderrLines.findIndex((l) => /finishing a remedy interrupted/.test(l));
    assert.ok(started >= 0, again.stderrLines.join('\n'));
    assert.ok(took < 15_000, `healthy ${took} ms after the restart`);
  } finally {
    again.child.kill('SIGTERM');
    assert.equal((await again.exited).code, 0);
  }
});
