// The schedule takeover against a real PM2 7 daemon and a real `run`: an app PM2 still fires
// itself is never fired twice (acceptance: stopped before a SIGKILL of the daemon and a resurrect,
// it fires at the next tick exactly once), and a tick PM2 loses (finding g: its stop was in
// progress at the tick) is fired once by the monitor, after which PM2 fires again by itself.
// Ticks every 5 s, window 2 s; starts are counted from the app's own file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PM2_BIN, createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';
import { assertMatchesSchema } from '../helpers/schema.js';
import { configIn, freshDir, sandboxCliEnv, stopRun } from '../helpers/operator.js';
import { EVERY_10S, EVERY_5S, PERIOD_MS, justAfterTick, nextTick, sleepUntil, startCronApp, startsSince } from '../helpers/cron-app.js';
import { recordPath } from '../../src/schedules/store.js';
import type { ScheduleStatus } from '../../src/schedules/view.js';

const T = { timeout: 90_000 };
let sb: Sandbox;
let env: NodeJS.ProcessEnv;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('schedules');
  env = sandboxCliEnv(sb);
});
after(async () => {
  ledger.killAll();
  await sb?.teardown();
});

const iso = (t: number): string => new Date(t).toISOString();

/** `run` for one app with a 2 s window; resolves once it follows the app's schedule. */
async function startRun(app: string, expression = EVERY_5S): Promise<{ run: RunningCli; config: string; stateDir: string }> {
  const stateDir = freshDir(sb.home, 'state');
  // The test kills and resurrects the daemon itself: run's daemon watchdog only reports.
  const config = configIn(sb.home, { state_dir: stateDir, log: { level: 'debug' }, supervisor: { resurrect: 'never' }, apps: [{ name: app, schedule: { window: '2s' } }] });
  const run = startCli(['run', '--config', config], env, ledger);
  const esc = expression.replace(/[*/]/g, (c) => `\\${c}`);
  await run.waitForLine(new RegExp(`\\[${app}\\] schedule: following PM2's cron_restart "${esc}"`), 30_000);
  return { run, config, stateDir };
}

async function scheduleOf(config: string, app: string): Promise<ScheduleStatus | undefined> {
  const r = await runCli(['status', app, '--config', config, '--json'], env);
  const doc = JSON.parse(r.stdout) as { apps: { name: string; schedule?: ScheduleStatus }[] };
  assertMatchesSchema('status', doc);
  return doc.apps.find((a) => a.name === app)?.schedule;
}

const firedLines = (run: RunningCli, app: string): string[] => run.stderrLines.filter((l) => l.includes(`[${app}] schedule:`) && / fired /.test(l));

test('a tick PM2 lost (stop in progress at the tick) is fired once by the monitor; then PM2 fires again and is not doubled', T, async () => {
  const file = await startCronApp(sb, 'lost', 'slow');
  await waitFor('lost started', () => startsSince(file, 0).length >= 1, 10_000);
  const { run, config, stateDir } = await startRun('lost');
  try {
    // Stop 0.5 s before a tick: the stop takes kill_timeout (3 s), the tick lands mid-stop and PM2 drops the cron.
    const tick = nextTick(Date.now() + 1500);
    await sleepUntil(tick, -500);
    await sb.pm2.act('stop', (await sb.info('lost'))!.pmId);
    const fired = await run.waitForLine(new RegExp(`\\[lost\\] schedule: the monitor fired \\(restart of pm_id \\d+\\) the tick at ${iso(tick)}`), 15_000);
    assert.match(fired.line, /PM2 did not start the stopped app within 2 s of the tick/);
    // Who owns it now, in status --json (before PM2's next firing is decided, ~3 s into the next tick).
    const asked = Date.now();
    const owned = await scheduleOf(config, 'lost');
    assert.equal(owned?.owner, 'monitor', JSON.stringify(owned));
    assert.equal(owned?.last_fired?.by, 'monitor');
    assert.equal(owned?.last_fired?.tick, iso(tick));
    assert.equal(owned?.expression, EVERY_5S);
    assert.equal(owned?.followed, true);
    assert.ok(owned?.next_tick && Date.parse(owned.next_tick) > asked, 'the next tick is ahead');
    // The monitor's restart re-armed PM2's cron: PM2 fires the next tick (a 3 s restart of the
    // slow app, seen mid-stop at the window's end), and the monitor leaves it.
    await run.waitForLine(new RegExp(`\\[lost\\] schedule: PM2 fired the tick at ${iso(tick + PERIOD_MS)}`), 20_000);
    const seen = (): string => `tick ${iso(tick)}; starts ${startsSince(file, tick - 600).map(iso).join(', ')}\n${run.stderrLines.filter((l) => l.includes('[lost]')).join('\n')}`;
    // PM2 says online before the app's first line runs: wait for its own record of the start.
    const inPeriod = (from: number): number[] => startsSince(file, from).filter((t) => t < from + PERIOD_MS);
    await waitFor(seen, () => inPeriod(tick + PERIOD_MS).length >= 1, 5000);
    assert.equal(inPeriod(tick - 600).length, 1, `the lost tick fired exactly once: ${seen()}`);
    assert.equal(inPeriod(tick + PERIOD_MS).length, 1, `PM2's next firing not doubled: ${seen()}`);
    assert.equal(firedLines(run, 'lost').filter((l) => l.includes('the monitor fired')).length, 1, firedLines(run, 'lost').join('\n'));
    // The record: 0600 in a 0700 folder.
    assert.equal(statSync(recordPath(stateDir, 'lost')).mode & 0o777, 0o600);
    assert.equal(statSync(join(stateDir, 'schedules')).mode & 0o777, 0o700);
  } finally {
    await stopRun(run);
    await sb.pm2.act('delete', (await sb.info('lost'))!.pmId).catch(() => undefined);
  }
});

test('acceptance: a stopped app with cron_restart, daemon SIGKILLed and resurrected, fires at the next tick exactly once', T, async () => {
  const period = 10_000;
  const file = await startCronApp(sb, 'nightly', 'serve', { cron_restart: EVERY_10S });
  await waitFor('nightly started', () => startsSince(file, 0).length >= 1, 10_000);
  const { run, config } = await startRun('nightly', EVERY_10S);
  try {
    // 1 s after a tick (PM2's restart at the tick is over), stop it; then save, SIGKILL the daemon
    // and resurrect, all before the next tick.
    const t1 = await justAfterTick(1000, period);
    await sb.pm2.act('stop', (await sb.info('nightly'))!.pmId);
    assert.equal((await sb.info('nightly'))?.status, 'stopped');
    const mark = Date.now();
    sb.pm2Cli(['save']);
    const god = Number(readFileSync(join(sb.home, 'pm2.pid'), 'utf8'));
    process.kill(god, 'SIGKILL');
    // Not sb.pm2Cli: PM2's in-process client never reconnects when the daemon dies and comes back
    // while its event loop is blocked (it never sees the close).
    await promisify(execFile)(process.execPath, [PM2_BIN, 'resurrect'], { env: sb.env, timeout: 30_000 });
    const next = t1 + period;
    assert.ok(Date.now() < next - 500, `resurrected before the next tick (${next - Date.now()} ms left)`);
    const dump = JSON.parse(readFileSync(join(sb.home, 'dump.pm2'), 'utf8')) as { name: string; status: string }[];
    assert.equal(dump.find((a) => a.name === 'nightly')?.status, 'stopped', 'saved (and so resurrected) as stopped');
    await run.waitForLine(new RegExp(`\\[nightly\\] schedule: PM2 fired the tick at ${iso(next)}`), 15_000);
    await waitFor('its own record of the start', () => startsSince(file, mark).length >= 1, 5000);
    await sleepUntil(next + period, -300);
    assert.equal(startsSince(file, mark).length, 1, 'fired at the next tick exactly once');
    assert.ok(startsSince(file, mark)[0]! >= next - 50, 'at the tick, not before');
    assert.equal(firedLines(run, 'nightly').filter((l) => l.includes('the monitor fired')).length, 0, 'the monitor did not fire what PM2 fired');
    const s = await scheduleOf(config, 'nightly');
    assert.equal(s?.owner, 'pm2', JSON.stringify(s));
    assert.ok(s?.last_fired && s.last_fired.by === 'pm2' && Date.parse(s.last_fired.tick) >= next, JSON.stringify(s));
  } finally {
    await stopRun(run);
    // The test's own PM2 client reconnects by itself; closing it mid-reconnect would keep this process alive.
    await waitFor('the test\'s PM2 client answers again', () => sb.list().then(() => true, () => false), 60_000).catch(() => undefined);
  }
});
