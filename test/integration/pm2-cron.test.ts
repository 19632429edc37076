// What PM2 7 itself does with cron_restart (README "Schedules PM2 loses"). These assert PM2's
// behaviour, not ours: if a PM2 upgrade changes it, a test here fails and the schedule takeover
// (src/schedules/) should be revisited. Ticks every 5 s; starts are counted from the app's own file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { PERIOD_MS, justAfterTick, nextTick, sleepUntil, startCronApp, startsSince } from '../helpers/cron-app.js';

let sb: Sandbox;
before(async () => {
  sb = await createSandbox('pm2-cron');
});
after(async () => {
  await sb.teardown();
});

const pm2Log = (): string => readFileSync(join(sb.home, 'pm2.log'), 'utf8');

test('PM2 7 drops the cron of an app whose stop is in progress at a tick: it never fires again', async () => {
  const file = await startCronApp(sb, 'slow', 'slow');
  await waitFor('slow started', () => startsSince(file, 0).length === 1, 10_000);
  // Stop 0.5 s before a tick: the stop waits kill_timeout (3 s), so the tick lands mid-stop.
  const tick = nextTick(Date.now() + 1000);
  await sleepUntil(tick, -500);
  await sb.pm2.act('stop', (await sb.info('slow'))!.pmId);
  assert.equal((await sb.info('slow'))?.status, 'stopped');
  assert.match(pm2Log(), /Process with pid \d+ already exists/, 'the mid-stop tick failed in restartProcessId (which had deregistered the cron first)');
  // Two more ticks pass: a stopped app with its cron would be started by each (see the next test).
  await sleepUntil(tick + 2 * PERIOD_MS, 1500);
  assert.deepEqual(startsSince(file, tick - 600), [], 'PM2 no longer fires this stopped app (if it does now, PM2 fixed it)');
  assert.equal((await sb.info('slow'))?.status, 'stopped');
});

test('PM2 7 fires a stopped app at each tick, re-arms it after save + SIGKILL + resurrect, and never catches up missed ticks', async () => {
  const stoppedFile = await startCronApp(sb, 'stopped', 'serve');
  const jobFile = await startCronApp(sb, 'job', 'job');
  await waitFor('both started', () => startsSince(stoppedFile, 0).length === 1 && startsSince(jobFile, 0).length === 1, 10_000);
  // Stopped 0.8 s after a tick: the tick's own cron restart of the online app has settled by then
  // (a restart still under way at 0.15 s could record its start after the mark on a busy machine).
  const t0 = await justAfterTick(800);
  await sb.pm2.act('stop', (await sb.info('stopped'))!.pmId);
  await waitFor('stopped', async () => (await sb.info('stopped'))?.status === 'stopped', 3000);
  await waitFor('job exited', async () => (await sb.info('job'))?.status === 'stopped', 3000);
  const mark0 = Date.now(); // the job fired at t0 too: count from here
  // Without a kill, PM2's cron starts both the stopped app and the exited job at the next tick.
  await sleepUntil(t0 + PERIOD_MS, 1500);
  assert.equal(startsSince(stoppedFile, mark0).length, 1, 'pm2 stop keeps the cron: the next tick starts it');
  assert.equal(startsSince(jobFile, mark0).length, 1, 'the exited autorestart:false job is started at the tick');

  // Stopped again right after a tick, saved, and the daemon SIGKILLed across the next tick.
  const t1 = await justAfterTick(800);
  await sb.pm2.act('stop', (await sb.info('stopped'))!.pmId);
  await waitFor('stopped', async () => (await sb.info('stopped'))?.status === 'stopped', 3000);
  await waitFor('job exited', async () => (await sb.info('job'))?.status === 'stopped', 3000);
  const mark1 = Date.now();
  sb.pm2Cli(['save']);
  const god = Number(readFileSync(join(sb.home, 'pm2.pid'), 'utf8'));
  process.kill(god, 'SIGKILL');
  await sleepUntil(t1 + PERIOD_MS, 500); // the tick at t1 + 5 s passes with no daemon
  sb.pm2Cli(['resurrect']);
  const resurrected = Date.now();
  assert.ok(resurrected < t1 + 2 * PERIOD_MS - 1000, 'resurrected well before the next tick');
  // Asked through the CLI (a new connection each time): the test's own client reconnects to the
  // new daemon only after axon's backoff, which under load can outlast the tick.
  const statusOf = (name: string): string | undefined =>
    (JSON.parse(sb.pm2Cli(['jlist'])) as { name: string; pm2_env: { status: string } }[]).find((p) => p.name === name)?.pm2_env.status;
  await waitFor('resurrected', () => statusOf('stopped') === 'stopped' && statusOf('job') === 'stopped', Math.max(1000, t1 + 2 * PERIOD_MS - 500 - Date.now()), 200);
  // No catch-up: nothing starts before the next tick.
  await sleepUntil(t1 + 2 * PERIOD_MS, -200);
  assert.deepEqual(startsSince(stoppedFile, mark1), [], 'the tick missed while the daemon was down is not caught up');
  assert.deepEqual(startsSince(jobFile, mark1), [], 'nor for the job');
  // The next tick fires both, once: resurrect re-registers the cron of stopped apps (God.prepare).
  await sleepUntil(t1 + 2 * PERIOD_MS, 2000);
  assert.equal(startsSince(stoppedFile, mark1).length, 1, 'the stopped app fires at the next tick after resurrect');
  assert.equal(startsSince(jobFile, mark1).length, 1, 'the exited job fires at the next tick after resurrect');
  // The resurrect also re-armed the cron the first test's app had lost (it was saved as stopped).
  assert.ok((await sb.info('slow'))?.status === 'online', 'resurrect re-armed the lost cron of "slow"');
});
