// catch_up against a real PM2 7 daemon and a real `run`: the daemon is SIGKILLed across a tick of
// two stopped apps and resurrected later (PM2 itself never catches that tick up, see
// pm2-cron.test.ts). When the bus is back, `catch_up: once` fires the missed tick once,
// `catch_up: skip` (the default) waits for the next tick; PM2 then fires the next tick itself.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { PM2_BIN, createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startCli } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';
import { configIn, freshDir, sandboxCliEnv, stopRun } from '../helpers/operator.js';
import { EVERY_10S, justAfterTick, sleepUntil, startCronApp, startsSince } from '../helpers/cron-app.js';

const PERIOD = 10_000;
let sb: Sandbox;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('sched-catch-up');
});
after(async () => {
  ledger.killAll();
  await sb?.teardown();
});

const iso = (t: number): string => new Date(t).toISOString();

test('a tick missed while the daemon was down: catch_up once fires it once when PM2 is back, skip waits for the next tick', { timeout: 90_000 }, async () => {
  const once = await startCronApp(sb, 'cu-once', 'serve', { cron_restart: EVERY_10S });
  const skip = await startCronApp(sb, 'cu-skip', 'serve', { cron_restart: EVERY_10S });
  await waitFor('both started', () => startsSince(once, 0).length >= 1 && startsSince(skip, 0).length >= 1, 10_000);
  const stateDir = freshDir(sb.home, 'state');
  const config = configIn(sb.home, {
    state_dir: stateDir,
    // The daemon must stay down across a tick: run's daemon watchdog only reports.
    supervisor: { resurrect: 'never' },
    apps: [{ name: 'cu-once', schedule: { window: '1s', catch_up: 'once' } }, { name: 'cu-skip', schedule: { window: '1s' } }],
  });
  const run = startCli(['run', '--config', config], sandboxCliEnv(sb), ledger);
  try {
    await run.waitForLine(/\[cu-skip\] schedule: following/, 30_000);
    // After a tick (both fired by PM2 and recorded), stop both, save, SIGKILL the daemon.
    const t1 = await justAfterTick(1500, PERIOD);
    await run.waitForLine(new RegExp(`\\[cu-skip\\] schedule: PM2 fired the tick at ${iso(t1)}`), 5000);
    for (const name of ['cu-once', 'cu-skip']) await sb.pm2.act('stop', (await sb.info(name))!.pmId);
    const mark = Date.now();
    await promisify(execFile)(process.execPath, [PM2_BIN, 'save'], { env: sb.env, timeout: 30_000 });
    process.kill(Number(readFileSync(join(sb.home, 'pm2.pid'), 'utf8')), 'SIGKILL');
    // The tick at t2 falls while the daemon is down; resurrect 5 s later (past the monitor's 4 s of asking).
    const t2 = t1 + PERIOD;
    await sleepUntil(t2, 5000);
    // Not sb.pm2Cli: a blocked event loop would keep the test's own PM2 client from reconnecting.
    await promisify(execFile)(process.execPath, [PM2_BIN, 'resurrect'], { env: sb.env, timeout: 30_000 });
    const caught = await run.waitForLine(new RegExp(`\\[cu-once\\] schedule: the monitor fired \\(restart of pm_id \\d+\\) the tick at ${iso(t2)}: catch-up: missed the tick`), 15_000);
    assert.match(caught.line, /catch_up: once/);
    await run.waitForLine(new RegExp(`\\[cu-skip\\] schedule: catch-up skipped: missed the tick at ${iso(t2)}; catch_up: skip`), 15_000);
    const t3 = t2 + PERIOD;
    assert.ok(Date.now() < t3 - 500, 'decided before the next tick');
    await waitFor('cu-once\'s own record of the catch-up start', () => startsSince(once, mark).length >= 1, 5000);
    await sleepUntil(t3, -300);
    assert.equal(startsSince(once, mark).length, 1, 'once: one catch-up start before the next tick');
    assert.ok(startsSince(once, mark)[0]! > t2 + 4000, 'after PM2 was back, not at the missed tick');
    assert.equal(startsSince(skip, mark).length, 0, 'skip: nothing before the next tick');
    // The next tick: PM2 fires both (resurrect re-armed them), the monitor fires neither.
    await run.waitForLine(new RegExp(`\\[cu-skip\\] schedule: PM2 fired the tick at ${iso(t3)}`), 15_000);
    await run.waitForLine(new RegExp(`\\[cu-once\\] schedule: PM2 fired the tick at ${iso(t3)}`), 15_000);
    await waitFor('both started at t3', () => startsSince(skip, t3 - 50).length >= 1 && startsSince(once, t3 - 50).length >= 1, 5000);
    assert.equal(startsSince(skip, mark).length, 1, 'skip: fired by PM2 at the next tick');
    assert.equal(run.stderrLines.filter((l) => /the monitor fired/.test(l)).length, 1, run.stderrLines.filter((l) => /schedule:/.test(l)).join('\n'));
  } finally {
    await stopRun(run);
    await waitFor('the test\'s PM2 client answers again', () => sb.list().then(() => true, () => false), 60_000).catch(() => undefined);
  }
});
