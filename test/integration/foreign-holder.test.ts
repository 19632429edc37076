// A port held by a process outside the app's kill scope: the monitor must not kill it. It refuses,
// says so in the log (pid, command, owner, reason), reports the remedy failed and leaves the app
// unhealthy rather than feeding PM2's EADDRINUSE loop. As root the holder runs as `nobody` (another
// user's process); otherwise it is a stranger process of our own user (cwd '/', own session),
// which is outside kill_scope app just the same.
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { PM2_BIN, createSandbox, healthUrl, exampleApp, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startTestMonitor, type TestMonitor } from '../helpers/monitor.js';
import { PidLedger, holdersOf, isAlive, killIdentified, nobodyIds, spawnForeignHolder, type ForeignHolder } from '../helpers/holders.js';

const execFileAsync = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const PORT = 47220;
let sb: Sandbox;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('foreign');
});
after(async () => {
  ledger.killAll();
  await sb.teardown();
});

/**
 * Under a monitor for `name`, as an operator would: stop it through PM2, let a foreign process
 * take its port, then restart it so it crashes on EADDRINUSE.
 */
async function squatByForeigner(t: TestContext, name: string, port: number, killScope?: string): Promise<{ monitor: TestMonitor; holder: ForeignHolder; pmId: number }> {
  await sb.start(exampleApp(name, port));
  const first = await waitFor(`${name} healthy`, async () => ((await httpStatus(healthUrl(port))) === 200 ? sb.info(name) : undefined));
  const monitor = startTestMonitor(sb, {
    apps: [{
      name, ports: [port], startup_grace: 0, verify_timeout: '5s', kill_grace: '500ms',
      health: { url: healthUrl(port), interval: '1s', timeout: '500ms', failure_threshold: 2 },
      ...(killScope ? { kill_scope: killScope } : {}),
    }],
  });
  t.after(() => monitor.stop());
  await waitFor('monitor sees healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy');
  await sb.pm2.act('stop', first.pmId);
  await waitFor('monitor sees the operator stop', () => monitor.engine.views()[0]?.state.phase === 'stopped', 10_000);
  assert.deepEqual(monitor.remedies, [], 'the operator stop was not remedied');
  const holder = await spawnForeignHolder(port, ledger);
  t.after(() => {
    killIdentified(holder);
    return waitFor('the foreign holder gone', () => !isAlive(holder), 5000);
  });
  await sb.pm2.act('restart', first.pmId);
  return { monitor, holder, pmId: first.pmId };
}

test('kill_scope app: a foreign holder is refused and left alive, the remedy fails, the app is unhealthy', async (t) => {
  const { monitor, holder } = await squatByForeigner(t, 'fenced', PORT);
  try {
    t.diagnostic(`foreign holder pid ${holder.pid} uid ${holder.uid} (${holder.otherUser ? 'user nobody' : 'same user, cwd /'})`);
    const report = await waitFor('the remedy report', () => monitor.remedies[0], 20_000);
    t.diagnostic(`remedy: ok=${report.ok} failure=${report.failure ?? ''}`);
    assert.equal(report.ok, false, 'the remedy failed');
    assert.match(report.reason, new RegExp(`port ${PORT} held by pid ${holder.pid}`), 'the foreign holder was the reason');
    assert.match(report.failure ?? '', /still held/);
    assert.match(report.failure ?? '', new RegExp(`refused pid ${holder.pid} `), 'the failure names the refused pid');
    assert.deepEqual(report.ports?.killed, [], 'nothing was killed');
    const refusal = report.ports?.refused.find((r) => r.pid === holder.pid);
    assert.ok(refusal, `the report lists the refusal: ${JSON.stringify(report.ports)}`);
    assert.match(refusal.why, /kill_scope app/);
    assert.equal(refusal.uid, holder.uid);
    assert.ok(report.steps.some((s) => /^free/.test(s.step) && !s.ok), `the free-ports step failed: ${JSON.stringify(report.steps)}`);
    assert.ok(!report.steps.some((s) => /^start/.test(s.step)), 'no start into a port that is still held');

    // The engine judged the app unhealthy after the failed remedy. (That it stays unhealthy rather
    // than turning "stopped" at the next check is the "retried" test below.)
    assert.ok(monitor.lines.some((l) => l.startsWith('error [fenced] remedying -> unhealthy')), `the engine calls the app unhealthy:\n${monitor.lines.join('\n')}`);
    assert.equal(monitor.engine.views()[0]?.lastRemedy?.ok, false, 'the view records the failed remedy');
    assert.ok(isAlive(holder), 'the foreign process is still alive');
    process.kill(holder.pid, 0); // and signalable: it really exists
    assert.deepEqual(holdersOf(PORT).map((h) => h.pid), [holder.pid], 'it still holds the port');

    const line = monitor.lines.find((l) => l.includes(`refused pid ${holder.pid} `));
    assert.ok(line, `a log line says the pid was refused:\n${monitor.lines.join('\n')}`);
    assert.match(line, /kill_scope app/, 'and why');
    assert.match(line, new RegExp(`uid ${holder.uid}`), 'and whose process it is');

    // Over the next intervals (and any retry after the backoff): never killed.
    await sleep(4000);
    assert.ok(isAlive(holder), 'the foreign process is still alive after more checks');
    assert.ok(monitor.remedies.every((r) => !r.ok && r.ports?.killed.length === 0), 'no later remedy killed anything');
  } finally {
    await monitor.stop();
  }
});

test('kill_scope user: another user\'s holder is refused with its uid', { skip: nobodyIds() ? false : 'needs root to run a holder as another user' }, async (t) => {
  const { monitor, holder } = await squatByForeigner(t, 'fenced-user', PORT + 1, 'user');
  assert.ok(holder.otherUser && holder.uid !== process.getuid?.());
  const report = await waitFor('the remedy report', () => monitor.remedies[0], 20_000);
  assert.equal(report.ok, false, 'the remedy failed');
  const refusal = report.ports?.refused.find((r) => r.pid === holder.pid);
  assert.ok(refusal, `the report lists the refusal: ${JSON.stringify(report.ports)}`);
  assert.match(refusal.why, new RegExp(`owned by uid ${holder.uid}, the app runs as uid \\d+ \\(rule uid under kill_scope user`));
  assert.ok(monitor.lines.some((l) => l.startsWith('error [fenced-user] remedying -> unhealthy')), 'judged unhealthy');
  assert.ok(isAlive(holder), 'the other user\'s process is still alive');
  assert.ok(monitor.lines.some((l) => l.includes(`refused pid ${holder.pid} `) && l.includes("rule uid under kill_scope user")), 'the log says why');
});

test('kill_scope any (explicit opt-in): the same holder is killed and the app comes back', async (t) => {
  const { monitor, holder } = await squatByForeigner(t, 'open', PORT + 2, 'any');
  const report = await waitFor('the remedy report', () => monitor.remedies[0], 20_000);
  assert.ok(report.ok, `the remedy succeeded: ${report.failure ?? ''}`);
  assert.ok(report.ports?.killed.some((k) => k.pid === holder.pid && /kill_scope any/.test(k.why)), JSON.stringify(report.ports));
  await waitFor('the holder dead', () => !isAlive(holder), 5000);
  const info = await sb.info('open');
  assert.equal(info?.status, 'online');
  assert.equal(await httpStatus(healthUrl(PORT + 2)), 200);
  assert.deepEqual(holdersOf(PORT + 2).map((h) => h.pid), [info?.pid]);
});

test(
  'after a refused remedy the app stays unhealthy and is retried: once the holder leaves, the app comes back',
  async (t) => {
    const { monitor, holder } = await squatByForeigner(t, 'retried', PORT + 3);
    const report = await waitFor('the remedy report', () => monitor.remedies[0], 20_000);
    assert.equal(report.ok, false);
    await sleep(2500); // a few intervals after the failed remedy
    assert.equal(monitor.engine.views()[0]?.state.phase, 'unhealthy', 'still unhealthy, not "stopped" by an operator');
    killIdentified(holder);
    await waitFor('the holder gone', () => !isAlive(holder), 5000);
    await waitFor('the app back (a retry after the backoff)', async () => (await httpStatus(healthUrl(PORT + 3))) === 200, 20_000);
    assert.equal((await sb.info('retried'))?.status, 'online');
  },
);

test(
  'an operator\'s `pm2 stop` under a running monitor is respected: no remedy, the app stays stopped',
  // Regression: PM2's exit events never carry manually=true, so a stop once counted as two crashes.
  async (t) => {
    const port = PORT + 4;
    await sb.start(exampleApp('parked', port));
    let seen = '';
    await waitFor(() => `parked healthy (last seen: ${seen})`, async () => {
      const info = await sb.info('parked');
      const status = await httpStatus(healthUrl(port), 2000);
      seen = `PM2 ${info?.status ?? 'no app'} pid ${info?.pid ?? '-'} restarts ${info?.restarts ?? '-'}, /health ${status}, holders of ${port}: ${JSON.stringify(holdersOf(port))}`;
      return status === 200;
    }, 30_000);
    const monitor = startTestMonitor(sb, {
      // threshold 1: a single exit miscounted as a crash would restart the app
      apps: [{ name: 'parked', ports: [port], startup_grace: 0, health: { url: healthUrl(port), interval: '1s', timeout: '500ms', failure_threshold: 1 } }],
    });
    t.after(() => monitor.stop());
    await waitFor('monitor sees healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy');
    // From another process, as an operator would (pm2Cli would block this event loop meanwhile).
    await execFileAsync(process.execPath, [PM2_BIN, 'stop', 'parked'], { env: sb.env });
    await sleep(4000); // long enough for several checks: nothing may happen
    assert.deepEqual(monitor.remedies.map((r) => r.reason), [], 'no remedy');
    assert.deepEqual(monitor.lines.filter((l) => /exited unexpectedly|failing/.test(l)), [], 'a stop is not logged as a crash');
    assert.equal((await sb.info('parked'))?.status, 'stopped', 'the app is still stopped');
    assert.equal(monitor.engine.views()[0]?.state.phase, 'stopped');
  },
);
